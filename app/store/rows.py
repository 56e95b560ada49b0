"""The lookups every part of the store shares: a room by its code, a member by their member
token, a film by its movieId, and a new room's row.

Each part of the store (``Store``'s rooms and answers, ``Tonight``'s vote) opens its own
transactions and calls these inside them, so a room or member is found, and refused with the
same message, the same way everywhere. They are functions over a ``Connection`` (one statement
each), never transactions of their own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, CursorResult

from app.store.errors import MemberNotFound, RoomNotFound, StoreError, UnknownMovie
from app.store.schema import CODE_BYTES, Member, Room, members, rooms
from app.store.validate import LINK_VALUE_MAX, check_movie_id, parse_room_code, short


def new_id(result: CursorResult[Any], what: str = "row") -> int:
    """The primary key a single-row INSERT created."""
    key = result.inserted_primary_key
    if key is None:  # only for multi-row or executemany inserts, which the store never does
        raise StoreError(f"The database did not report the new {what}; please try again.")
    return int(key[0])


def insert_room(conn: Connection, name: str, dataset: str, now: datetime) -> Room:
    """A new room row with an unguessable code (``secrets``, 144 bits).

    A code collision raises ``IntegrityError``; the caller retries its whole transaction.
    """
    code = secrets.token_urlsafe(CODE_BYTES)
    values = {"code": code, "name": name, "dataset": dataset, "created_at": now}
    room_id = new_id(conn.execute(insert(rooms).values(**values)), "room")
    return Room(room_id, code, name, now, dataset)


def room_from(row: Any) -> Room:
    return Room(row.id, row.code, row.name, row.created_at, row.dataset)


def room_row(conn: Connection, code: object) -> Any:
    """The room with this code (or a pasted room link); RoomNotFound otherwise."""
    key = parse_room_code(code)
    row = None
    if 0 < len(key) <= LINK_VALUE_MAX:
        row = conn.execute(select(rooms).where(rooms.c.code == key)).first()
    if row is None:
        shown = f" '{short(key)}'" if key else ""
        raise RoomNotFound(
            f"There is no room with the code{shown}. Check the link or code for typos, "
            "or ask the host to share the room link again."
        )
    return row


def member_from(row: Any) -> Member:
    return Member(row.id, row.room_id, row.name, row.token, row.room_code)


def member_row(conn: Connection, member_token: object) -> Any:
    """The member whose member token this is, with ``room_code``; MemberNotFound otherwise."""
    row = None
    if isinstance(member_token, str) and 0 < len(member_token.strip()) <= LINK_VALUE_MAX:
        row = conn.execute(
            select(members, rooms.c.code.label("room_code"))
            .join(rooms, rooms.c.id == members.c.room_id)
            .where(members.c.token == member_token.strip())
        ).first()
    if row is None:
        raise MemberNotFound(
            "This member link is not valid (it may be incomplete or from a deleted room). "
            "Open the room link and add yourself again, or ask for your own link."
        )
    return row


class KnownFilms:
    """The catalogue's movieIds, so that answers and votes for films that do not exist are
    refused with UnknownMovie. Built from a collection, a predicate, or ``None`` (only the id's
    form is checked: a store used without a catalogue, as in tools and tests)."""

    def __init__(self, movie_ids: Collection[int] | Callable[[int], bool] | None) -> None:
        self._known: Callable[[int], bool] | None
        if movie_ids is None or callable(movie_ids):
            self._known = movie_ids
        else:
            self._known = frozenset(int(m) for m in movie_ids).__contains__

    def check(self, movie_id: object) -> int:
        """The movieId as an int; UnknownMovie when malformed or not in the catalogue."""
        mid = check_movie_id(movie_id)
        if self._known is not None and not self._known(mid):
            raise UnknownMovie(
                f"There is no film with movieId {mid} in this catalogue; pick a film from the list "
                "or the search box."
            )
        return mid
