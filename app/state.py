"""Who is looking: the current room code, member token and host token, kept in the URL and the
session.

The URL (``?room=<code>&member=<token>&host=<token>``) is the source of truth, so a link can be
shared and a reload loses nothing. Switching pages may drop query parameters, so the session
keeps a copy and puts them back. Member and host tokens are only restored for the room they were
issued in. A member token this session gave up ("Not me: switch member") stays given up: the
browser's Back button brings the old URL back, and with it the token, which is then dropped
again instead of acting as that member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import streamlit as st

from app import session_keys as keys
from app.store import StoreError

if TYPE_CHECKING:
    from app.store import Member, Room, Store

ROOM = "room"
MEMBER = "member"
HOST = "host"


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    value = value.strip() if isinstance(value, str) else None
    return value or None


def sync() -> None:
    """Copy room/member/host between the URL and the session (call once per run, before the
    page)."""
    ss = st.session_state
    room = _param(ROOM)
    if room:
        ss[keys.ROOM] = room
    elif ss.get(keys.ROOM):
        st.query_params[ROOM] = room = ss[keys.ROOM]
    member = _param(MEMBER)
    if member and member in ss.get(keys.FORGOTTEN_MEMBERS, ()):
        st.query_params.pop(MEMBER, None)  # Back after "Not me": stay signed out
        member = None
    elif member and room:
        ss[keys.MEMBER], ss[keys.MEMBER_ROOM] = member, room
    elif room and ss.get(keys.MEMBER) and ss.get(keys.MEMBER_ROOM) == room:
        st.query_params[MEMBER] = ss[keys.MEMBER]
    host = _param(HOST)
    if host and room:
        ss[keys.HOST], ss[keys.HOST_ROOM] = host, room
    elif room and ss.get(keys.HOST) and ss.get(keys.HOST_ROOM) == room:
        st.query_params[HOST] = ss[keys.HOST]


# Settings a person expects to find as they left them after visiting another page. Streamlit
# deletes a widget's value when a run does not draw it (docs: "Working with widgets in multipage
# apps", option 3), so each run writes these back before any page draws; buttons and table
# selections are not settings and stay out (buttons cannot be assigned at all). The Picks page's
# settings live in the URL instead (``bind="query-params"``) and Explore's persist on their own
# (``persist_state="session"``): writing a widget's value from here as well makes Streamlit warn
# that it "was created with a default value but also had its value set via the Session State API".
SETTINGS = (keys.LAB_MODEL,)


def keep_settings() -> None:
    """Carry the page settings over page switches (call once per run, before the page)."""
    ss = st.session_state
    for key in SETTINGS:
        if key in ss:
            ss[key] = ss[key]


def room_code() -> str | None:
    return _param(ROOM)


def member_token() -> str | None:
    return _param(MEMBER)


def host_token() -> str | None:
    """The host token in the URL (checked against the room by ``current``, never trusted)."""
    return _param(HOST)


def set_room(code: str) -> None:
    """Enter a room (as a visitor: member and host tokens from another room are dropped)."""
    st.query_params.clear()
    st.query_params[ROOM] = code
    st.session_state[keys.ROOM] = code
    if st.session_state.get(keys.MEMBER_ROOM) != code:
        st.session_state.pop(keys.MEMBER, None)
    if st.session_state.get(keys.HOST_ROOM) != code:
        st.session_state.pop(keys.HOST, None)


def set_host(room: str, token: str) -> None:
    """This session runs the room: its host token goes into the URL and the session."""
    set_room(room)
    st.query_params[HOST] = token
    st.session_state[keys.HOST], st.session_state[keys.HOST_ROOM] = token, room


def set_member(room: str, token: str) -> None:
    st.query_params[ROOM] = room
    st.query_params[MEMBER] = token
    st.session_state[keys.ROOM] = room
    st.session_state[keys.MEMBER], st.session_state[keys.MEMBER_ROOM] = token, room


def forget_member() -> None:
    """Stop acting as a member on this device (the member and their answers stay in the room).

    The token is remembered as given up for this session, so the browser's Back button, which
    brings the URL with the token back, does not undo it (``sync``).
    """
    ss = st.session_state
    token = _param(MEMBER) or ss.get(keys.MEMBER)
    if token:
        ss[keys.FORGOTTEN_MEMBERS] = {*ss.get(keys.FORGOTTEN_MEMBERS, ()), token}
    st.query_params.pop(MEMBER, None)
    for key in (keys.MEMBER, keys.MEMBER_ROOM):
        ss.pop(key, None)


def leave_room() -> None:
    st.query_params.clear()
    for key in (keys.ROOM, keys.MEMBER, keys.MEMBER_ROOM, keys.HOST, keys.HOST_ROOM):
        st.session_state.pop(key, None)


@dataclass(frozen=True)
class Current:
    """The room and member this session acts for, and what is wrong with the link, if anything."""

    room: Room | None = None
    member: Member | None = None
    room_problem: str | None = None
    member_problem: str | None = None
    host: str | None = None  # the room's host token, only when this session holds the right one

    @property
    def is_host(self) -> bool:
        return self.host is not None


def current(store: Store) -> Current:
    """Resolve the URL against the store; bad codes/tokens become messages, never exceptions."""
    code = room_code()
    if not code:
        return Current()
    try:
        room = store.room(code)
    except StoreError as exc:
        return Current(room_problem=str(exc))
    host = host_token()
    host = host if host and store.tonight.is_host(room.code, host) else None
    token = member_token()
    if not token:
        return Current(room=room, host=host)
    try:
        member = store.member_in_room(room.code, token)
    except StoreError as exc:
        return Current(room=room, member_problem=str(exc), host=host)
    return Current(room=room, member=member, host=host)


def base_url() -> str:
    """This app's address as the browser sees it (without page path or query), for links."""
    url = getattr(st.context, "url", None) or ""
    url = url.split("?", 1)[0].split("#", 1)[0]
    if not url:
        return ""
    # Keep scheme://host[:port]/ plus any base path the server is mounted under.

    parts = urlsplit(url)
    base = st.get_option("server.baseUrlPath") or ""
    path = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def room_link(code: str) -> str:
    return f"{base_url()}?{ROOM}={code}"


def member_link(code: str, token: str) -> str:
    return f"{base_url()}?{ROOM}={code}&{MEMBER}={token}"


def host_link(code: str, token: str) -> str:
    return f"{base_url()}?{ROOM}={code}&{HOST}={token}"
