"""Rooms, members, answers and watched films, and the evening's vote, persisted with SQLAlchemy.

``Store`` (``app.store.store``) is the repository the pages use, composed of parts over one
``Database`` (``database``: engine, transactions, SQLite's and PostgreSQL's needs), each owning
its transactions: its own rooms, members, answers and watched films; ``store.tonight``
(``tonight``: host token, seen films, Tonight's vote) and ``store.jobs`` (``jobs``: training
jobs shared by app replicas). Under them, functions over a connection do one statement's work
inside a part's transaction: ``rows`` (finding a room, a member, a film; making a room),
``stamp`` (a room's change stamp) and ``room_models`` (each room's model). Tables and records
are in ``schema``, ``tonight_schema``, ``jobs`` and ``room_models``; checks on input in
``validate``; every exception in ``errors``. Import from here:
``from app.store import Store, StoreError``.

Words, each with one meaning in the store:

* **room code**: names a room in its link (``Room.code``); shared with everyone invited,
  unguessable (144 bits) so rooms cannot be found by trying codes. Never called a token.
* **member token**: the secret in one member's link (``Member.token``, the ``member_token``
  arguments); the only authority to write that member's answers, seen films and vote answers.
* **host token**: the secret in the host's link (``HostedRoom.host_token``, table
  ``room_hosts``); the only authority to open and close the room's vote.
* **operator token**: the app's operator credential (``app.operator``); never stored or checked
  here: the caller checks it before operator settings such as ``set_room_model``.
* **name key**: a member's name folded for per-room uniqueness (``validate.name_key``);
  **job key**: what a training job makes (``Job.key``), so asking twice finds one job.
* **room stamp**: the value that changes whenever anything shaping a room's picks changes
  (``stamp``, ``Store.room_stamp``); it is not a time. Times are the ``*_at`` fields, in UTC.
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
