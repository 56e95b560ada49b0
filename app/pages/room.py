"""Room page: start or join a room, add yourself, and rate films so the group gets picks.

Phone first: a member sees where they stand ("3 rated · picks ready") and the way to the picks
(and to Tonight's vote, when the host opens one) at the top, then the films to rate. A tap on a
rating reruns only its card (``st.fragment``), where the next film takes its place; typing a
title reruns only the search.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app import services, state
from app.store import AnswerCount, StoreError, parse_room_code
from app.widgets.film_card import film_card
from app.widgets.film_search import film_search
from app.widgets.qr import show_qr
from app.widgets.rating_row import rating_row
from app.widgets.text import h, md

MAX_MEMBERS = 12
BATCH = 5  # rating cards on screen; each answer brings a new film chosen with it in mind
READY_AT = 3  # star ratings after which a member's own taste shapes the picks well
LIVE_EVERY = "3s"
FLASH = "mn_flash"
PICKS_PAGE = "app/pages/picks.py"
_MISSING = object()


def flash(kind: str, message: str) -> None:
    """A message to show at the top of the next run (callbacks run before the page draws)."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop(FLASH, (None, None))
    if message:
        getattr(st, kind)(message)


# --------------------------------------------------------------------------- no room yet


def start_or_join(problem: str | None) -> None:
    st.title("Movie Night")
    st.write(
        "Everyone rates a few films on their own phone; the app finds films the whole group "
        "will enjoy. Start a room, or join one with the link or code a friend sent you."
    )
    if problem:  # the message already says what to check; only the way out is added
        st.error(f"{problem} Or start a new room below.")
    store = services.get_store()
    new, join = st.columns(2, gap="large")
    with new, st.form("create_room", border=True):
        st.subheader("Start a room")
        name = st.text_input("Room name", placeholder="Friday film club", key="new_room_name")
        if st.form_submit_button("Create room", type="primary"):
            try:
                hosted = store.create_hosted_room(name)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.set_host(hosted.code, hosted.host_token)
                flash(
                    "success",
                    "Your room is ready. You are its host: keep this page's link to run "
                    "Tonight's vote. Add yourself below, then invite your friends.",
                )
                st.rerun()
    with join, st.form("join_room", border=True):
        st.subheader("Join a room")
        text = st.text_input("Room link or code", key="join_code")
        if st.form_submit_button("Join room"):
            code = parse_room_code(text)
            if not code:
                st.error("Paste the room link or type the room code your friend sent you.")
            else:
                try:
                    room = store.room(code)
                except StoreError as exc:
                    st.error(str(exc))
                else:
                    state.set_room(room.code)
                    st.rerun()


# --------------------------------------------------------------------------- members


def members_html(counts: dict[str, AnswerCount]) -> str:
    """Who is in the room and how far they got, as a list that wraps long names instead of
    clipping the numbers (a table's fixed columns cut "not seen" off on a phone)."""
    rows = "".join(
        f'<li><span class="mn-who">{h(name)}</span> '
        f'<span class="mn-counts">{c.rated} rated · {c.unseen} not seen</span></li>'
        for name, c in counts.items()
    )
    return f'<ul class="mn-members" aria-label="room members">{rows}</ul>'


@st.fragment(run_every=LIVE_EVERY)
def members_panel(code: str) -> None:
    """Who is in the room and how far they got; reruns on its own so the host sees it live."""
    try:
        counts = services.get_store().answer_counts(code)
    except StoreError as exc:
        st.error(str(exc))
        return
    st.subheader(f"Members ({len(counts)})")
    if not counts:
        st.info("Nobody has joined yet. Add yourself, then send the room link to your friends.")
        return
    st.html(members_html(counts))
    st.caption("Updates live as people rate.")


def join_form(code: str, n_members: int) -> None:
    store = services.get_store()
    if n_members >= MAX_MEMBERS:
        st.warning(
            f"This room is full ({MAX_MEMBERS} members). Start another room for more people."
        )
        return
    with st.form("add_member", border=True):
        st.subheader("Add yourself")
        name = st.text_input("Your name", placeholder="Sam", key="member_name")
        if st.form_submit_button("Join as member", type="primary"):
            try:
                member = store.add_member(code, name)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.set_member(code, member.token)
                flash(
                    "success",
                    f"Welcome, {md(member.name)}! Keep your own link (under “Your links”): it "
                    "is how you come back to change your answers.",
                )
                st.rerun()
    st.caption("Already joined on another device? Open your own member link there instead.")


def invite(code: str, is_host: bool, n_members: int) -> None:
    """The room link to share; on the host's screen also as a QR code for phones in the room."""
    link = state.room_link(code)
    if is_host:
        with st.expander("Invite friends: QR code and link", expanded=n_members < 2):
            show_qr(link)
            st.code(link, language=None, wrap_lines=True)
    else:
        st.caption("Share the room link so friends can add themselves:")
        st.code(link, language=None, wrap_lines=True)


# --------------------------------------------------------------------------- where I stand


def status_line(name: str, counts: AnswerCount | None) -> str:
    """ "Ann · 3 rated · picks ready" (or how many more ratings make the picks personal)."""
    rated = counts.rated if counts else 0
    if rated >= READY_AT:
        ready = "picks ready"
    elif rated == 0:
        ready = f"rate {READY_AT} films for picks that fit you"
    else:
        ready = f"rate {READY_AT - rated} more for picks that fit you"
    return f'<p class="mn-status"><b>{h(name)}</b> · {rated} rated · {ready}</p>'


@st.fragment(run_every=LIVE_EVERY)
def status_bar(code: str, name: str) -> None:
    """The member's progress and the way to the picks, at the top; live, so a vote the host
    opens shows up here within seconds."""
    store = services.get_store()
    try:
        counts = store.answer_counts(code).get(name)
        vote = store.latest_vote(code)
    except StoreError as exc:
        st.error(str(exc))
        return
    with st.container(key="mn_status_bar", horizontal=True, gap="small"):
        st.html(status_line(name, counts), width="stretch")
        if vote is not None and vote.is_open:
            st.page_link(
                PICKS_PAGE, label="Tonight's vote is open: vote now", icon=":material/how_to_vote:"
            )
        st.page_link(PICKS_PAGE, label="See the group's picks", icon=":material/movie:")


# --------------------------------------------------------------------------- rating


def _saver(token: str, movie_id: int, title: str, then: Callable[[], None] | None = None):
    def save(answered: bool, stars: float | None) -> None:
        store = services.get_store()
        try:
            if answered:
                store.set_rating(token, movie_id, stars)
            else:
                store.clear_rating(token, movie_id)
        except StoreError as exc:
            flash("error", f"Could not save your answer for {md(title)}: {exc}")
            return
        if then is not None:
            then()

    return save


def rate_card(
    token: str,
    movie_id: int,
    key: str,
    current: object = _MISSING,
    then: Callable[[], None] | None = None,
) -> None:
    info = services.film_by_movie_id(movie_id)
    if info is None:
        return
    with st.container(border=True):
        film_card(info)
        rating_row(key, current, _saver(token, movie_id, info["title"], then))


def _queue_key(token: str) -> str:
    return f"mn_queue:{token}"


def _replace_in_queue(token: str, slot: int) -> None:
    """After an answer: the slot's film gives way to the next one the elicitation engine picks
    with every answer so far in mind (run in the answer's callback, before the slot redraws)."""
    queue: list[int] = st.session_state.get(_queue_key(token), [])
    more = services.next_films(token, n=BATCH + len(queue))
    fresh = [m for m in more if m not in queue]
    if slot < len(queue):
        if fresh:
            queue[slot] = fresh[0]
        else:
            queue.pop(slot)
    st.session_state[_queue_key(token)] = queue


@st.fragment
def rating_slot(token: str, slot: int) -> None:
    """One of the cards to rate. A tap saves the answer and reruns only this slot, where the
    next film takes the answered one's place: one card is redrawn per tap, not the page."""
    queue: list[int] = st.session_state.get(_queue_key(token), [])
    if slot >= len(queue):
        return
    movie_id = queue[slot]
    rate_card(token, movie_id, key=f"rate:{movie_id}", then=lambda: _replace_in_queue(token, slot))


def rating_cards(token: str) -> None:
    """Five films to rate, chosen by the elicitation engine; each card is its own fragment."""
    answers = services.get_store().answers(token)
    st.subheader("Rate some films")
    st.caption("Half stars welcome. “Haven't seen it” is fine too: it helps just as much.")
    key = _queue_key(token)
    queue = [m for m in st.session_state.get(key, []) if m not in answers]
    if len(queue) < BATCH:  # top up; the new films adapt to the answers given so far
        more = services.next_films(token, n=BATCH + len(queue))  # never waits for training
        queue += [m for m in more if m not in queue][: BATCH - len(queue)]
    st.session_state[key] = queue
    if not queue:
        st.info("You have answered every film we could ask about. Thank you!")
    for slot in range(len(queue)):
        rating_slot(token, slot)
    your_answers(answers)


def your_answers(answers: dict[int, float | None]) -> None:
    """What the member answered so far (as of the last full page run: taps redraw only their
    card; the status line at the top keeps the live count)."""
    # No counts in the label: taps redraw only their own card, so a count drawn with the page
    # went stale ("0 rated" under a status line saying "3 rated"); the status line counts live.
    with st.expander("Your answers"):
        if not answers:
            st.write("Nothing yet.")
            return
        rows = []
        for movie_id, stars in answers.items():
            info = services.film_by_movie_id(movie_id)
            label = info["label"] if info else f"movieId {movie_id}"
            rows.append(
                f"<li>{h(label)}: {'haven’t seen it' if stars is None else f'{stars:.1f} ★'}</li>"
            )
        st.html(f'<ul class="mn-answers">{"".join(rows)}</ul>')
        st.caption("To change an answer, find the film with the search box.")


@st.fragment
def search_section(token: str) -> None:
    """Find any film by typing part of its title, and rate it; only this part reruns."""
    st.subheader("Rate any film")
    chosen = film_search("search_film")
    if chosen is not None:
        answers = services.get_store().answers(token)
        rate_card(token, chosen, key=f"search:{chosen}", current=answers.get(chosen, _MISSING))


# --------------------------------------------------------------------------- the page


def your_links(code: str, token: str | None, host: str | None) -> None:
    with st.expander("Your links"):
        if token:
            st.caption("Your own link (keep it private: whoever has it can change your answers):")
            st.code(state.member_link(code, token), language=None, wrap_lines=True)
        if host:
            st.caption("Your host link (keep it private: it runs Tonight's vote):")
            st.code(state.host_link(code, host), language=None, wrap_lines=True)
        if not token and not host:
            st.write("Add yourself to the room to get your own link.")


def room_page() -> None:
    store = services.get_store()
    current = state.current(store)
    show_flash()
    if current.room is None:
        start_or_join(current.room_problem)
        return
    room = current.room
    st.title(md(room.name))
    if current.member_problem:
        st.error(current.member_problem)
    member = current.member
    n_members = len(store.members(room.code))
    if member is not None:
        status_bar(room.code, member.name)
    elif current.is_host:
        st.caption("You are the host of this room.")
    main, side = st.columns([3, 2], gap="large")
    with main:
        if current.is_host:
            invite(room.code, True, n_members)
        if member is None:
            join_form(room.code, n_members)
        else:  # rating never waits for a model: the cards come from the catalogue first
            rating_cards(member.token)
            search_section(member.token)
    with side:
        members_panel(room.code)
        if not current.is_host:
            invite(room.code, False, n_members)
        your_links(room.code, member.token if member else None, current.host)
        if member is not None and st.button("Not me: switch member", key="forget_member"):
            state.forget_member()
            st.rerun()
        if st.button("Leave this room", key="leave_room"):
            state.leave_room()
            st.rerun()


room_page()
