"""The store's tables (SQLAlchemy Core) and the records it hands out.

Four tables: rooms, members (unique name key per room, a secret token each), answers (one per
member and film; a NULL rating is "haven't seen it") and watched films per room. Films are
MovieLens movieIds, never model item indices, so answers survive a retrain. Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)

from app.store.validate import NAME_MAX, ROOM_NAME_MAX

CODE_BYTES = 18  # room codes: 144 bits -> 24 URL-safe characters (secrets.token_urlsafe)
TOKEN_BYTES = 24  # member and host tokens: 192 bits -> 32 URL-safe characters

# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Room:
    id: int
    code: str
    name: str
    created_at: datetime
    dataset: str


@dataclass(frozen=True)
class Member:
    id: int
    room_id: int
    name: str
    token: str
    room_code: str = ""


@dataclass(frozen=True)
class AnswerCount:
    """How many films a member rated, and how many they said they haven't seen."""

    rated: int
    unseen: int


# --------------------------------------------------------------------------- tables


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

rooms = Table(
    "rooms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(4 * ROOM_NAME_MAX), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(4 * NAME_MAX), nullable=False),
    Column("name_key", String(4 * NAME_MAX), nullable=False),
    Column("token", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("room_id", "name_key", name="uq_member_name"),
)

answers = Table(
    "answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("movie_id", Integer, nullable=False),
    Column("rating", Float, nullable=True),  # NULL = "haven't seen it"
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("member_id", "movie_id", name="uq_answer"),
)

watched = Table(
    "watched",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("movie_id", Integer, nullable=False),
    Column("watched_at", UTCDateTime, nullable=False),
    UniqueConstraint("room_id", "movie_id", name="uq_watched"),
)

Index("ix_members_room", members.c.room_id)
