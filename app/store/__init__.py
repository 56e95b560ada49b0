"""Rooms, members, answers and watched films, and the evening's vote, persisted with SQLAlchemy.

``Store`` is the repository the pages use (``app.store.store``); the rest of the package is what
it stands on: ``errors`` (what a person can be told), ``schema`` (tables and records),
``validate`` (checks on input) and ``database`` (engine, transactions, SQLite's and
PostgreSQL's needs), ``stamp`` (a room's change stamp); ``jobs``
(training jobs shared by app replicas) and ``room_models`` (each room's model) keep their own
tables; ``tonight`` and ``tonight_schema`` hold the host's credential, seen films and Tonight's
vote. Every exception is in ``errors``. Import
from here: ``from app.store import Store, StoreError``.
"""

from app.store.database import DB_FILENAME, DB_URL_ENV, default_url
from app.store.errors import (
    DatabaseDamaged,
    DatabaseLocked,
    DatabaseProblem,
    DatabaseReadOnly,
    DatabaseReconnecting,
    DatabaseUnavailable,
    InvalidChoice,
    InvalidName,
    InvalidRating,
    JobNotFound,
    MemberNotFound,
    NameTaken,
    NotHost,
    RoomNotFound,
    StoreError,
    UnknownMovie,
    VoteUnavailable,
)
from app.store.jobs import Beat, Job, JobQueue, JobState
from app.store.schema import AnswerCount, Member, Room
from app.store.stamp import RoomStamp
from app.store.store import Store
from app.store.tonight_schema import (
    ACCEPTING,
    CHOICES,
    NO,
    REWATCH,
    RULE_ALL,
    RULE_MAJORITY,
    RULES,
    SEEN_CHOICES,
    SHORTLIST_MAX,
    SHORTLIST_MIN,
    SKIP,
    YES,
    HostedRoom,
    Tally,
    Vote,
)
from app.store.validate import (
    NAME_MAX,
    RATING_VALUES,
    ROOM_NAME_MAX,
    check_movie_id,
    check_rating,
    clean_name,
    parse_room_code,
)

__all__ = [
    "ACCEPTING",
    "CHOICES",
    "DB_FILENAME",
    "DB_URL_ENV",
    "NAME_MAX",
    "NO",
    "RATING_VALUES",
    "REWATCH",
    "ROOM_NAME_MAX",
    "RULES",
    "RULE_ALL",
    "RULE_MAJORITY",
    "SEEN_CHOICES",
    "SHORTLIST_MAX",
    "SHORTLIST_MIN",
    "SKIP",
    "YES",
    "AnswerCount",
    "Beat",
    "DatabaseDamaged",
    "DatabaseLocked",
    "DatabaseProblem",
    "DatabaseReadOnly",
    "DatabaseReconnecting",
    "DatabaseUnavailable",
    "HostedRoom",
    "InvalidChoice",
    "InvalidName",
    "InvalidRating",
    "Job",
    "JobNotFound",
    "JobQueue",
    "JobState",
    "Member",
    "MemberNotFound",
    "NameTaken",
    "NotHost",
    "Room",
    "RoomNotFound",
    "RoomStamp",
    "Store",
    "StoreError",
    "Tally",
    "UnknownMovie",
    "Vote",
    "VoteUnavailable",
    "check_movie_id",
    "check_rating",
    "clean_name",
    "default_url",
    "parse_room_code",
]
