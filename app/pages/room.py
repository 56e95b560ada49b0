"""Room page: start or join a room, add yourself, and rate films so the group gets picks.

Phone first: a member sees where they stand ("3 rated · picks ready") and the way to the picks
(and to Tonight's vote, when the host opens one) at the top, then the films to rate. A tap on a
rating reruns only its card (``st.fragment``), where the next film takes its place; typing a
title reruns only the search.
"""

from __future__ import annotations

import streamlit as st

from app import session_keys as keys
from app import state
from app.pages._deck import deck_section
from app.pages._flash import flash, show_flash
from app.services.store import get_store
from app.store import AnswerCount, StoreError, parse_room_code
from app.widgets.qr import show_qr
from app.widgets.text import h, md

MAX_MEMBERS = 12
LIVE_EVERY = "3s"
PICKS_PAGE = "app/pages/picks.py"


# --------------------------------------------------------------------------- no room yet


def start_or_join(problem: str | None) -> None:
    st.title("Movie Night")
    st.write(
        "Everyone rates a few films on their own phone; the app finds films the whole group "
        "will enjoy. Start a room, or join one with the link or code a friend sent you."
    )
    if problem:  # the message already says what to check; only the way out is added
        st.error(f"{problem} Or start a new room below.")
    store = get_store()
    new, join = st.columns(2, gap="large")
    with new, st.form("create_room", border=True):
        st.subheader("Start a room")
        name = st.text_input("Room name", placeholder="Friday film club", key=keys.NEW_ROOM_NAME)
        if st.form_submit_button("Create room", type="primary"):
            try:
                hosted = store.tonight.create_hosted_room(name)
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
        text = st.text_input("Room link or code", key=keys.JOIN_CODE)
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
        counts = get_store().answer_counts(code)
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
    store = get_store()
    if n_members >= MAX_MEMBERS:
        st.warning(
            f"This room is full ({MAX_MEMBERS} members). Start another room for more people."
        )
        return
    with st.form("add_member", border=True):
        st.subheader("Add yourself")
        name = st.text_input("Your name", placeholder="Sam", key=keys.MEMBER_NAME)
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


def status_line(name: str) -> str:
    """Whose phone this is. The member's own count lives in the rating deck, where it moves
    with each tap; this bar carries the room's news (a vote opening) and the way to the picks."""
    return f'<p class="mn-status"><b>{h(name)}</b></p>'


@st.fragment(run_every=LIVE_EVERY)
def status_bar(code: str, name: str) -> None:
    """Who is rating and the way to the picks, at the top; live, so a vote the host opens shows
    up here within seconds."""
    store = get_store()
    try:
        vote = store.tonight.latest_vote(code)
    except StoreError as exc:
        st.error(str(exc))
        return
    with st.container(key=keys.STATUS_BAR, horizontal=True, gap="small"):
        st.html(status_line(name), width="stretch")
        if vote is not None and vote.is_open:
            st.page_link(
                PICKS_PAGE, label="Tonight's vote is open: vote now", icon=":material/how_to_vote:"
            )
        st.page_link(PICKS_PAGE, label="See the group's picks", icon=":material/movie:")


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
    store = get_store()
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
        if member is None:
            if current.is_host:
                invite(room.code, True, n_members)
            join_form(room.code, n_members)
        else:  # the card to rate first (whole on a phone's first screen), then the invite
            deck_section(member.token, member.name)
            if current.is_host:
                invite(room.code, True, n_members)
    with side:
        members_panel(room.code)
        if not current.is_host:
            invite(room.code, False, n_members)
        your_links(room.code, member.token if member else None, current.host)
        if member is not None and st.button("Not me: switch member", key=keys.FORGET_MEMBER):
            state.forget_member()
            st.rerun()
        if st.button("Leave this room", key=keys.LEAVE_ROOM):
            state.leave_room()
            st.rerun()


room_page()
