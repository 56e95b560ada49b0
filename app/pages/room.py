"""Room page: start or join a room, add yourself, and rate films so the group gets picks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state
from app.store import StoreError, parse_room_code
from app.widgets.film_card import film_card
from app.widgets.rating_row import rating_row
from app.widgets.text import md

MAX_MEMBERS = 12
BATCH = 5  # rating cards on screen; each answer brings a new film chosen with it in mind
LIVE_EVERY = "4s"
FLASH = "mn_flash"
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
    if problem:
        st.error(f"{problem} Check the link or code, or start a new room.")
    store = services.get_store()
    new, join = st.columns(2, gap="large")
    with new, st.form("create_room", border=True):
        st.subheader("Start a room")
        name = st.text_input("Room name", placeholder="Friday film club", key="new_room_name")
        if st.form_submit_button("Create room", type="primary"):
            try:
                room = store.create_room(name)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.set_room(room.code)
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
    table = pd.DataFrame(
        {
            "Member": list(counts),
            "Films rated": [c.rated for c in counts.values()],
            "Haven't seen": [c.unseen for c in counts.values()],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", key="members_table")
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
                    f"Welcome, {md(member.name)}! Keep your own link below: it is how you come "
                    "back to change your answers.",
                )
                st.rerun()
    st.caption("Already joined on another device? Open your own member link there instead.")


# --------------------------------------------------------------------------- rating


def _saver(token: str, movie_id: int, title: str):
    def save(answered: bool, stars: float | None) -> None:
        store = services.get_store()
        try:
            if answered:
                store.set_rating(token, movie_id, stars)
            else:
                store.clear_rating(token, movie_id)
        except StoreError as exc:
            flash("error", f"Could not save your answer for {md(title)}: {exc}")

    return save


def rate_card(token: str, movie_id: int, key: str, current: object = _MISSING) -> None:
    info = services.film_by_movie_id(movie_id)
    if info is None:
        return
    with st.container(border=True):
        film_card(info)
        rating_row(key, current, _saver(token, movie_id, info["title"]))


def rating_section(token: str) -> None:
    store = services.get_store()
    answers = store.answers(token)

    st.subheader("Rate some films")
    st.caption("Half stars welcome. “Haven't seen it” is fine too: it helps just as much.")
    queue_key = f"mn_queue:{token}"
    queue = [m for m in st.session_state.get(queue_key, []) if m not in answers]
    if len(queue) < BATCH:  # top up; the new films adapt to the answers given so far
        more = services.next_films(token, n=BATCH + len(queue))  # never waits for training
        queue += [m for m in more if m not in queue][: BATCH - len(queue)]
    st.session_state[queue_key] = queue
    if not queue:
        st.info("You have answered every film we could ask about. Thank you!")
    for movie_id in queue:
        rate_card(token, movie_id, key=f"rate:{movie_id}")

    st.subheader("Rate any film")
    ids, labels = services.search_options()
    chosen = st.selectbox(
        "Search for a film",
        ids,
        index=None,
        format_func=lambda m: labels.get(m, str(m)),
        placeholder="Type a title…",
        key="search_film",
    )
    if chosen is not None:
        rate_card(token, int(chosen), key=f"search:{chosen}", current=answers.get(chosen, _MISSING))

    rated = {m: r for m, r in answers.items() if r is not None}
    unseen = [m for m, r in answers.items() if r is None]
    with st.expander(f"Your answers: {len(rated)} rated, {len(unseen)} not seen"):
        if not answers:
            st.write("Nothing yet.")
        else:
            rows = [
                (labels.get(m, str(m)), "haven't seen it" if r is None else f"{r:.1f} ★")
                for m, r in answers.items()
            ]
            st.dataframe(
                pd.DataFrame(rows, columns=["Film", "Your answer"]),
                hide_index=True,
                width="stretch",
                key="answers_table",
            )
            st.caption("To change an answer, find the film with the search box above.")


# --------------------------------------------------------------------------- the page


def room_page() -> None:
    store = services.get_store()
    current = state.current(store)
    show_flash()
    if current.room is None:
        start_or_join(current.room_problem)
        return
    room = current.room
    st.title(md(room.name))
    st.caption("Share the room link so friends can add themselves:")
    st.code(state.room_link(room.code), language=None, wrap_lines=True)

    main, side = st.columns([3, 2], gap="large")
    with side:
        members_panel(room.code)
        st.page_link("app/pages/picks.py", label="See the group's picks", icon=":material/movie:")
        if st.button("Leave this room", key="leave_room"):
            state.leave_room()
            st.rerun()
    with main:
        if current.member_problem:
            st.error(current.member_problem)
        member = current.member
        if member is None:
            join_form(room.code, len(store.members(room.code)))
            return
        st.markdown(f"Rating as **{md(member.name)}**.")
        st.caption("Your own link (keep it private: whoever has it can change your answers):")
        st.code(state.member_link(room.code, member.token), language=None, wrap_lines=True)
        if st.button("Not me: switch member", key="forget_member"):
            state.forget_member()
            st.rerun()
        rating_section(member.token)


room_page()
