"""Rooms, members, answers and watched films, persisted with SQLAlchemy.

``Store`` is the repository the pages use (``app.store.store``); the rest of the package is what
it stands on: ``errors`` (what a person can be told), ``schema`` (tables and records),
``validate`` (checks on input) and ``_sqlite`` (engine, transactions, SQLite's needs); ``jobs``
(training jobs shared by app replicas) and ``room_models`` (each room's model) keep their own
tables. Import
from here: ``from app.store import Store, StoreError``.
"""

from app.store._sqlite import DB_FILENAME, DB_URL_ENV, default_url
from app.store.errors import (
    DatabaseDamaged,
    DatabaseLocked,
    DatabaseReadOnly,
    DatabaseUnavailable,
    InvalidName,
    InvalidRating,
    MemberNotFound,
    NameTaken,
    RoomNotFound,
    StoreError,
    UnknownMovie,
)
from app.store.jobs import Beat, Job, JobNotFound, JobQueue, JobState
from app.store.schema import AnswerCount, Member, Room
from app.store.store import Store
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
    "DB_FILENAME",
    "DB_URL_ENV",
    "NAME_MAX",
    "RATING_VALUES",
    "ROOM_NAME_MAX",
    "AnswerCount",
    "Beat",
    "DatabaseDamaged",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "InvalidName",
    "InvalidRating",
    "Job",
    "JobNotFound",
    "JobQueue",
    "JobState",
    "Member",
    "MemberNotFound",
    "NameTaken",
    "Room",
    "RoomNotFound",
    "Store",
    "StoreError",
    "UnknownMovie",
    "check_movie_id",
    "check_rating",
    "clean_name",
    "default_url",
    "parse_room_code",
]
