"""Tables and records for the evening's decision: the room's host, films members have seen, and
Tonight's vote.

Kept apart from ``schema`` (rooms, members, answers, watched) so that each part of the store
owns its own tables; all share ``schema.metadata``, so ``create_all`` makes them in one go, also
in a database made before these tables existed (they are new tables, never new columns).

* ``room_hosts``: one secret token per room, made with the room; it is the credential for host
  actions (opening and closing a vote). Rooms made before it existed have none.
* ``seen``: a member has seen a film (said so in a vote), with or without a star rating; the
  engine folds it in as watched (``engine.group.Member.seen``).
* ``votes`` / ``vote_films`` / ``vote_answers``: a vote on a shortlist, and each member's answer
  per film. Answers are read back only as counts, so the page can never show who voted what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from app.store.schema import UTCDateTime, metadata

# --------------------------------------------------------------------------- vote choices

YES = "yes"
REWATCH = "rewatch"  # seen it, happy to watch it again
SKIP = "skip"  # seen it, not again tonight
NO = "no"  # not tonight
CHOICES: tuple[str, ...] = (YES, REWATCH, SKIP, NO)
ACCEPTING = frozenset({YES, REWATCH})  # answers that accept the film for tonight
SEEN_CHOICES = frozenset({REWATCH, SKIP})  # answers that say the member has seen it

RULE_ALL = "all"  # a match is a film every voter accepts
RULE_MAJORITY = "majority"  # ... or one more than half of the voters accept
RULES: tuple[str, ...] = (RULE_ALL, RULE_MAJORITY)
SHORTLIST_MIN = 2
SHORTLIST_MAX = 10


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class HostedRoom:
    """A room just made, with its host token: the only time the token is handed out."""

    code: str
    name: str
    host_token: str


@dataclass(frozen=True)
class Vote:
    """A vote on a shortlist (movieIds in the order shown); open while ``closed_at`` is None."""

    id: int
    room_id: int
    films: tuple[int, ...]
    rule: str
    opened_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class Tally:
    """A vote's answers as counts only: ``counts[movie_id][choice]``, how many members answered
    every film (``voted``) and how many are in the room (``members``). No member appears here:
    a tally cannot tell who voted what."""

    vote: Vote
    counts: dict[int, dict[str, int]]
    voted: int
    members: int


# --------------------------------------------------------------------------- tables

room_hosts = Table(
    "room_hosts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "room_id",
        Integer,
        ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("token", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

seen = Table(
    "seen",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("movie_id", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("member_id", "movie_id", name="uq_seen"),
)

votes = Table(
    "votes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(16), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
)

vote_films = Table(
    "vote_films",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vote_id", Integer, ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
    Column("movie_id", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("vote_id", "movie_id", name="uq_vote_film"),
)

vote_answers = Table(
    "vote_answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vote_id", Integer, ForeignKey("votes.id", ondelete="CASCADE"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("movie_id", Integer, nullable=False),
    Column("choice", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("vote_id", "member_id", "movie_id", name="uq_vote_answer"),
)

# One open vote per room, enforced by the database too (two hosts' tabs clicking at once).
Index(
    "uq_open_vote",
    votes.c.room_id,
    unique=True,
    sqlite_where=votes.c.closed_at.is_(None),
    postgresql_where=votes.c.closed_at.is_(None),
)
Index("ix_votes_room", votes.c.room_id)
Index("ix_seen_member", seen.c.member_id)
