"""A room's change stamp: one cheap value that changes whenever anything that shapes the room's
picks changes (members, answers, seen films, watched films, votes and vote answers).

Live pages ask for it every second or two (``Store.room_stamp``) and compare it with the last
one to know whether to draw (and blend) again; ``app.services.rooms`` caches picks per stamp.
It is a count and a latest time per table, read in one statement over indexed columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from app.store.schema import answers, members, watched
from app.store.tonight_schema import seen, vote_answers, votes

RoomStamp = tuple[Any, ...]


def _count_and_max(table: Any, column: Any, where: Any) -> list[Any]:
    return [
        select(func.count()).select_from(table).where(where).scalar_subquery(),
        select(func.max(column)).where(where).scalar_subquery(),
    ]


def room_stamp(conn: Connection, room_id: int) -> RoomStamp:
    """The stamp of room ``room_id`` (see the module docstring)."""
    mine = select(members.c.id).where(members.c.room_id == room_id).scalar_subquery()
    columns = [
        *_count_and_max(members, members.c.id, members.c.room_id == room_id),
        *_count_and_max(answers, answers.c.updated_at, answers.c.member_id.in_(mine)),
        *_count_and_max(seen, seen.c.updated_at, seen.c.member_id.in_(mine)),
        *_count_and_max(watched, watched.c.watched_at, watched.c.room_id == room_id),
        *_count_and_max(votes, votes.c.closed_at, votes.c.room_id == room_id),
        *_count_and_max(
            vote_answers, vote_answers.c.updated_at, vote_answers.c.member_id.in_(mine)
        ),
    ]
    return tuple(conn.execute(select(*columns)).one())
