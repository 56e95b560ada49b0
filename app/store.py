"""Rooms, members, answers and watched films, persisted with SQLAlchemy.

SQLite at ``data/movienight.db`` by default (WAL, so readers never wait for a writer, and a busy
timeout with ``BEGIN IMMEDIATE`` writes, so concurrent writers queue instead of failing); any
SQLAlchemy URL through ``MOVIENIGHT_DB_URL`` (e.g. ``postgresql+psycopg://...``).

The store keeps MovieLens **movieId**s (stable across retrains), never model item indices. A
member's token is the only authority over that member's answers: every write takes the token,
never a member id. All SQL is built with SQLAlchemy Core, so every value is a bound parameter.
"""

from __future__ import annotations

import math
import numbers
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

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
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    import pandas as pd

DB_URL_ENV = "MOVIENIGHT_DB_URL"
DB_FILENAME = "movienight.db"
NAME_MAX = 40
ROOM_NAME_MAX = 60
RATING_VALUES: tuple[float, ...] = tuple(v / 2 for v in range(1, 11))  # 0.5, 1.0, ..., 5.0
CODE_BYTES = 18  # 144 bits -> 24 URL-safe characters
TOKEN_BYTES = 24  # 192 bits -> 32 URL-safe characters
_MAX_KEY_LEN = 200  # longer "codes"/"tokens" are refused before any query


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Something a person can act on; the message says what happened and what to do."""


class RoomNotFound(StoreError):
    """No room has this code (mistyped, truncated link, or a room from another database)."""


class MemberNotFound(StoreError):
    """No member has this token, or the token belongs to another room."""


class InvalidName(StoreError):
    """A room or member name that is empty, too long or contains control characters."""


class NameTaken(StoreError):
    """Another member of the room already uses this name (case-insensitive)."""


class InvalidRating(StoreError):
    """A rating that is not 0.5-5 stars in half steps (or None for "haven't seen it")."""


class UnknownMovie(StoreError):
    """A movieId that is not a positive integer, or not in the catalogue the store checks."""


class DatabaseReadOnly(StoreError):
    """The database file (or its folder) cannot be written."""


class DatabaseLocked(StoreError):
    """Another program held the database longer than the busy timeout."""


class DatabaseDamaged(StoreError):
    """The database file is not a database or is corrupted."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened or reached (bad URL, server down, missing driver)."""


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


# --------------------------------------------------------------------------- schema


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


# --------------------------------------------------------------------------- validation


def clean_name(text: object, *, max_len: int = NAME_MAX, what: str = "name") -> str:
    """The name as stored: trimmed, NFC, 1..max_len characters, no control characters.

    HTML or script in a name is kept as the text it is; escaping is the UI's job.
    """
    if not isinstance(text, str):
        raise InvalidName(f"The {what} must be text, not {type(text).__name__}.")
    name = unicodedata.normalize("NFC", text).strip()
    if not name:
        raise InvalidName(f"Please type a {what}: it cannot be empty or only spaces.")
    if len(name) > max_len:
        raise InvalidName(
            f"That {what} is {len(name):,} characters long; please use at most {max_len}."
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidName(
            f"The {what} contains control characters (such as a line break or tab); "
            "please use plain letters, digits, spaces or punctuation."
        )
    return name


def name_key(name: str) -> str:
    """Key for per-room uniqueness: 'Ann', 'ANN' and full-width 'Ａｎｎ' are the same person."""
    return unicodedata.normalize("NFKC", name).casefold()


def check_rating(rating: object) -> float | None:
    """``None`` ("haven't seen it") or a float in 0.5..5 in half steps; else InvalidRating."""
    if rating is None:
        return None
    allowed = ", ".join(f"{v:g}" for v in RATING_VALUES)
    if isinstance(rating, bool) or not isinstance(rating, numbers.Real):
        raise InvalidRating(
            f"A rating must be a number of stars ({allowed}) or None for "
            f'"haven\'t seen it", not {type(rating).__name__}.'
        )
    value = float(rating)
    if not (math.isfinite(value) and 0.5 <= value <= 5.0) or value * 2 != round(value * 2):
        raise InvalidRating(f"{rating!r} is not a valid rating; choose one of {allowed} stars.")
    return value


def check_movie_id(movie_id: object) -> int:
    """A positive integer MovieLens movieId (numpy integers accepted)."""
    if isinstance(movie_id, bool) or not isinstance(movie_id, numbers.Integral):
        raise UnknownMovie(
            f"A film is identified by its MovieLens movieId (an integer), not {movie_id!r}."
        )
    value = int(movie_id)
    if value <= 0 or value > 2**31 - 1:
        raise UnknownMovie(f"{value} is not a MovieLens movieId (they are positive integers).")
    return value


def parse_room_code(text: object) -> str:
    """The room code from what a person typed or pasted: the code itself or a whole room link."""
    if not isinstance(text, str):
        return ""
    text = text.strip()
    if "room=" in text:
        query = urlsplit(text).query or text.split("?", 1)[-1]
        found = parse_qs(query).get("room")
        if found:
            return found[0].strip()
    return text


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --------------------------------------------------------------------------- the store


def default_url() -> str:
    """``MOVIENIGHT_DB_URL`` if set, else SQLite at ``<data dir>/movienight.db``."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if url:
        return url
    from engine.data.paths import data_dir

    return f"sqlite:///{data_dir() / DB_FILENAME}"


class Store:
    """The app's persistence. Thread-safe; create one per process and share it.

    ``movie_ids``: the catalogue's movieIds (a collection, or a predicate) so that answers for
    films that do not exist are refused with UnknownMovie; ``None`` only checks the id's form.
    ``busy_timeout``: seconds a SQLite writer waits for another before DatabaseLocked.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        movie_ids: Collection[int] | Callable[[int], bool] | None = None,
        busy_timeout: float = 30.0,
    ) -> None:
        self.url = url or default_url()
        self.busy_timeout = float(busy_timeout)
        self._known: Callable[[int], bool] | None
        if movie_ids is None or callable(movie_ids):
            self._known = movie_ids  # type: ignore[assignment]
        else:
            ids = frozenset(int(m) for m in movie_ids)
            self._known = ids.__contains__
        try:
            self._url = make_url(self.url)
        except ArgumentError as exc:
            raise DatabaseUnavailable(
                f"{DB_URL_ENV} is not a database URL ({exc}); use e.g. "
                "sqlite:///path/to/movienight.db or postgresql+psycopg://user@host/db."
            ) from None
        if self._url.drivername in ("postgresql", "postgres"):
            # Plain postgresql:// (or Heroku-style postgres://) means the pinned psycopg 3 driver,
            # not SQLAlchemy's default psycopg2, which is not installed.
            self._url = self._url.set(drivername="postgresql+psycopg")
        self._where = self._url.render_as_string(hide_password=True)
        self._sqlite = self._url.get_backend_name() == "sqlite"
        database = self._url.database or ""
        self._memory = (self._sqlite and database in ("", ":memory:")) or "mode=memory" in self.url
        self._file: Path | None = (
            Path(database).expanduser().resolve()
            if self._sqlite and not self._memory and not database.startswith("file:")
            else None
        )
        # One shared connection for an in-memory database, so serialise its users.
        self._lock = threading.RLock() if self._memory else nullcontext()
        # SQLite has one writer at a time. Threads of this process queue on a lock that wakes the
        # next one at once, instead of polling in SQLite's busy handler (which sleeps up to
        # 100 ms between tries); the busy timeout still covers writers in other processes.
        self._write_lock = threading.Lock() if self._sqlite and not self._memory else None
        self._schema_lock = threading.Lock()
        self._file_id: tuple[int, int] | None = None
        # token -> member id for set_rating: tokens never change owner and members are never
        # deleted; a stale entry (file recreated) is caught by the foreign key and dropped.
        self._member_ids: dict[str, int] = {}
        self._engine = self._make_engine()
        self._ensure_schema()

    # ---------------------------------------------------------------- engine and schema

    def _make_engine(self) -> Engine:
        kwargs: dict[str, Any] = {}
        if self._sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": self.busy_timeout}
            if self._memory:
                kwargs["poolclass"] = StaticPool
            else:
                kwargs.update(pool_size=10, max_overflow=40, pool_timeout=60)
        else:
            kwargs.update(pool_size=10, max_overflow=40, pool_timeout=60, pool_pre_ping=True)
        try:
            engine = create_engine(self._url, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise DatabaseUnavailable(
                f"No database driver for {self._where} ({exc}). Install the driver named in the "
                "URL (for PostgreSQL: pip install 'psycopg[binary]') or unset "
                f"{DB_URL_ENV} to use the built-in SQLite file."
            ) from None
        if self._sqlite:
            self._configure_sqlite(engine)
        return engine

    def _configure_sqlite(self, engine: Engine) -> None:
        busy_ms = int(self.busy_timeout * 1000)
        memory = self._memory

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control from pysqlite so writes can BEGIN IMMEDIATE (see _begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {busy_ms}")  # an int we computed, not input
                cur.execute("PRAGMA foreign_keys = ON")
                if not memory:
                    cur.execute("PRAGMA journal_mode = WAL")
                    cur.execute("PRAGMA synchronous = NORMAL")
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A write takes the write lock up front: a deferred transaction that reads and then
            # writes cannot wait for a concurrent writer (SQLITE_BUSY at once), IMMEDIATE can.
            write = conn.get_execution_options().get("movienight_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def _ensure_schema(self) -> None:
        """Create the tables if missing; several processes may race here, so retry."""
        with self._schema_lock:
            if self._file is not None:
                self._file.parent.mkdir(parents=True, exist_ok=True)
            last: Exception | None = None
            for _ in range(5):
                try:
                    with self._lock:
                        metadata.create_all(self._engine, checkfirst=True)
                    self._file_id = self._identity()
                    return
                except DBAPIError as exc:
                    last = exc
                    if not isinstance(exc, IntegrityError) and "already exists" not in str(exc):
                        raise self._translate(exc) from None
            assert last is not None
            raise self._translate(last) from None

    def _identity(self) -> tuple[int, int] | None:
        """Which file is at the SQLite path now (device, inode); None when it is missing."""
        if self._file is None:
            return None
        try:
            st = self._file.stat()
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def _recover_deleted_file(self) -> None:
        """The SQLite file (or all of data/) was deleted or replaced while we ran: follow it.

        Pooled connections still point at the old, unlinked file and would write into the void,
        so they are dropped and the file at the path is used (created, with its schema, when
        missing). Comparing the file's identity, not just its existence, also catches another
        process having already recreated it. Answers in a deleted file are gone.
        """
        if self._file is None:
            return
        now = self._identity()
        if now is not None and now == self._file_id:
            return
        with self._schema_lock:
            now = self._identity()
            if now is not None and now == self._file_id:
                return
            self._engine.dispose()
            self._member_ids.clear()
            if now is None:
                # A -wal/-shm left from the old file must not be replayed into the new one.
                for suffix in ("-wal", "-shm", "-journal"):
                    self._file.with_name(self._file.name + suffix).unlink(missing_ok=True)
        self._ensure_schema()

    @contextmanager
    def _conn(self, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction (committed on success), DB errors made human."""
        self._recover_deleted_file()
        try:
            with self._lock, self._engine.connect() as conn:
                if write:
                    conn.execution_options(movienight_write=True)
                # The write queue spans BEGIN..COMMIT only: pool checkout and reset stay outside.
                with self._serialised() if write else nullcontext(), conn.begin():
                    yield conn
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise self._translate(exc) from None

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        """Hold this process's SQLite write lock, waiting at most the busy timeout."""
        if self._write_lock is None:
            yield
            return
        if not self._write_lock.acquire(timeout=self.busy_timeout):
            raise self._locked()
        try:
            yield
        finally:
            self._write_lock.release()

    def _locked(self) -> DatabaseLocked:
        where = str(self._file) if self._file is not None else self._where
        return DatabaseLocked(
            f"The database {where} stayed locked by another program for more than "
            f"{self.busy_timeout:g} s. Try again in a moment; if it keeps happening, close "
            "other programs that have the file open."
        )

    def _translate(self, exc: DBAPIError) -> StoreError:
        text = str(exc.orig if exc.orig is not None else exc).lower()
        where = str(self._file) if self._file is not None else self._where
        if "readonly" in text or "read-only" in text or "read only" in text:
            return DatabaseReadOnly(
                f"The database {where} is read-only, so answers cannot be saved. Make the file "
                "and its folder writable (or point MOVIENIGHT_DB_URL / MOVIENIGHT_DATA_DIR at a "
                "writable place) and try again."
            )
        if "locked" in text or "busy" in text or "lock timeout" in text:
            return self._locked()
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return DatabaseDamaged(
                f"The database {where} is damaged ({_short(text, 120)}). Restore it from a "
                "backup, or move it aside to start with an empty one (rooms in it are lost)."
            )
        if "unable to open" in text or "disk i/o" in text:
            return DatabaseUnavailable(
                f"The database {where} cannot be opened ({_short(text, 120)}). Check that its "
                "folder exists, is writable and has free space."
            )
        return DatabaseUnavailable(
            f"The database {where} failed: {_short(text, 200)}. Check that it is running and "
            f"that {DB_URL_ENV} is right."
        )

    def dispose(self) -> None:
        """Close pooled connections (e.g. before deleting the file in tests)."""
        self._engine.dispose()

    # ---------------------------------------------------------------- lookups

    @staticmethod
    def _room_from(row: Any) -> Room:
        return Room(row.id, row.code, row.name, row.created_at, row.dataset)

    def _room_row(self, conn: Connection, code: object) -> Any:
        key = parse_room_code(code)
        row = None
        if 0 < len(key) <= _MAX_KEY_LEN:
            row = conn.execute(select(rooms).where(rooms.c.code == key)).first()
        if row is None:
            shown = f" '{_short(key)}'" if key else ""
            raise RoomNotFound(
                f"There is no room with the code{shown}. Check the link or code for typos, "
                "or ask the host to share the room link again."
            )
        return row

    def _member_row(self, conn: Connection, token: object) -> Any:
        row = None
        if isinstance(token, str) and 0 < len(token.strip()) <= _MAX_KEY_LEN:
            row = conn.execute(
                select(members, rooms.c.code.label("room_code"))
                .join(rooms, rooms.c.id == members.c.room_id)
                .where(members.c.token == token.strip())
            ).first()
        if row is None:
            raise MemberNotFound(
                "This member link is not valid (it may be incomplete or from a deleted room). "
                "Open the room link and add yourself again, or ask for your own link."
            )
        return row

    @staticmethod
    def _member_from(row: Any) -> Member:
        return Member(row.id, row.room_id, row.name, row.token, row.room_code)

    # ---------------------------------------------------------------- rooms

    def create_room(self, name: str, dataset: str = "embedded") -> Room:
        """A new room with an unguessable code (secrets, 144 bits)."""
        name = clean_name(name, max_len=ROOM_NAME_MAX, what="room name")
        now = datetime.now(UTC)
        for _ in range(3):  # a code collision at 144 bits is practically impossible; still safe
            code = secrets.token_urlsafe(CODE_BYTES)
            try:
                with self._conn(write=True) as conn:
                    rid = conn.execute(
                        insert(rooms).values(code=code, name=name, dataset=dataset, created_at=now)
                    ).inserted_primary_key[0]
                return Room(rid, code, name, now, dataset)
            except IntegrityError:
                continue
        raise StoreError("Could not create a room; please try again.")

    def room(self, code: str) -> Room:
        """The room with this code (or a pasted room link); RoomNotFound otherwise."""
        with self._conn() as conn:
            return self._room_from(self._room_row(conn, code))

    # ---------------------------------------------------------------- members

    def add_member(self, room_code: str, name: str) -> Member:
        """A new member with a secret token; names are unique per room, ignoring case."""
        name = clean_name(name)
        key = name_key(name)
        now = datetime.now(UTC)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        try:
            with self._conn(write=True) as conn:
                room = self._room_row(conn, room_code)
                taken = conn.execute(
                    select(members.c.name).where(
                        members.c.room_id == room.id, members.c.name_key == key
                    )
                ).first()
                if taken is not None:
                    raise NameTaken(
                        f"Someone in this room is already called '{taken.name}'. If that is "
                        "you, open your own member link; otherwise pick another name."
                    )
                mid = conn.execute(
                    insert(members).values(
                        room_id=room.id, name=name, name_key=key, token=token, created_at=now
                    )
                ).inserted_primary_key[0]
        except IntegrityError:  # lost a race with another join under the same name
            raise NameTaken(
                f"Someone in this room just took the name '{name}'; please pick another."
            ) from None
        return Member(mid, room.id, name, token, room.code)

    def member(self, token: str) -> Member:
        """The member this token belongs to (with its room code); MemberNotFound otherwise."""
        with self._conn() as conn:
            return self._member_from(self._member_row(conn, token))

    def member_in_room(self, room_code: str, token: str) -> Member:
        """The member for this token, only if it belongs to this room.

        A link that mixes one room's code with another room's member token is refused, so a
        token cannot be used to act in a room it was not issued for.
        """
        with self._conn() as conn:
            room = self._room_row(conn, room_code)
            row = self._member_row(conn, token)
        if row.room_id != room.id:
            raise MemberNotFound(
                "This member link belongs to a different room. Open your own link for this "
                "room, or add yourself to it."
            )
        return self._member_from(row)

    def members(self, room_code: str) -> list[Member]:
        """The room's members in the order they joined."""
        with self._conn() as conn:
            room = self._room_row(conn, room_code)
            rows = conn.execute(
                select(members, rooms.c.code.label("room_code"))
                .join(rooms, rooms.c.id == members.c.room_id)
                .where(members.c.room_id == room.id)
                .order_by(members.c.id)
            ).all()
        return [self._member_from(r) for r in rows]

    # ---------------------------------------------------------------- answers

    def _check_movie(self, movie_id: object) -> int:
        mid = check_movie_id(movie_id)
        if self._known is not None and not self._known(mid):
            raise UnknownMovie(
                f"There is no film with movieId {mid} in this catalogue; pick a film from the list "
                "or the search box."
            )
        return mid

    def set_rating(self, token: str, movie_id: int, rating: float | None) -> None:
        """Save (or replace) one answer; ``None`` means "haven't seen it"."""
        value = check_rating(rating)
        mid = self._check_movie(movie_id)
        now = datetime.now(UTC)
        for attempt in range(3):
            try:
                with self._conn(write=True) as conn:
                    # Read the cache only inside _conn: it has just dropped it if the file changed.
                    member_id = self._member_ids.get(token) if isinstance(token, str) else None
                    if member_id is None:
                        member_id = self._member_row(conn, token).id
                    self._upsert_answer(conn, member_id, mid, value, now)
                if len(self._member_ids) < 100_000:
                    self._member_ids[token] = member_id
                return
            except IntegrityError:
                # A cached member that no longer exists (foreign key), or the generic
                # update-then-insert path lost a race: look the token up again and retry.
                self._member_ids.pop(token, None)
                if attempt == 2:
                    raise StoreError("Could not save the answer; please try again.") from None

    @staticmethod
    def _upsert_answer(
        conn: Connection, member_id: int, movie_id: int, rating: float | None, now: datetime
    ) -> None:
        values = {"member_id": member_id, "movie_id": movie_id, "rating": rating, "updated_at": now}
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            stmt = dialect_insert(answers).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[answers.c.member_id, answers.c.movie_id],
                set_={"rating": stmt.excluded.rating, "updated_at": stmt.excluded.updated_at},
            )
            conn.execute(stmt)
            return
        done = conn.execute(
            update(answers)
            .where(answers.c.member_id == member_id, answers.c.movie_id == movie_id)
            .values(rating=rating, updated_at=now)
        )
        if done.rowcount == 0:
            conn.execute(insert(answers).values(**values))

    def clear_rating(self, token: str, movie_id: int) -> None:
        """Forget one answer (neither rated nor "haven't seen" any more)."""
        mid = check_movie_id(movie_id)
        with self._conn(write=True) as conn:
            member = self._member_row(conn, token)
            conn.execute(
                delete(answers).where(answers.c.member_id == member.id, answers.c.movie_id == mid)
            )

    def answers(self, token: str) -> dict[int, float | None]:
        """One member's answers: movieId -> stars, or None for "haven't seen it"."""
        with self._conn() as conn:
            member = self._member_row(conn, token)
            rows = conn.execute(
                select(answers.c.movie_id, answers.c.rating)
                .where(answers.c.member_id == member.id)
                .order_by(answers.c.movie_id)
            ).all()
        return {int(r.movie_id): (None if r.rating is None else float(r.rating)) for r in rows}

    def room_answers(self, room_code: str) -> pd.DataFrame:
        """Every answer in the room: member_id, member, movie_id, rating (NaN = unseen), updated_at."""
        import pandas as pd

        with self._conn() as conn:
            room = self._room_row(conn, room_code)
            rows = conn.execute(
                select(
                    members.c.id.label("member_id"),
                    members.c.name.label("member"),
                    answers.c.movie_id,
                    answers.c.rating,
                    answers.c.updated_at,
                )
                .join(answers, answers.c.member_id == members.c.id)
                .where(members.c.room_id == room.id)
                .order_by(members.c.id, answers.c.movie_id)
            ).all()
        frame = pd.DataFrame(
            {
                "member_id": pd.Series([r.member_id for r in rows], dtype="int64"),
                "member": pd.Series([r.member for r in rows], dtype="object"),
                "movie_id": pd.Series([r.movie_id for r in rows], dtype="int64"),
                "rating": pd.Series(
                    [math.nan if r.rating is None else r.rating for r in rows], dtype="float64"
                ),
                "updated_at": pd.to_datetime(pd.Series([r.updated_at for r in rows]), utc=True),
            }
        )
        return frame

    def answer_counts(self, room_code: str) -> dict[str, AnswerCount]:
        """Member name -> (star ratings, "haven't seen" answers); members with none included."""
        with self._conn() as conn:
            room = self._room_row(conn, room_code)
            rows = conn.execute(
                select(
                    members.c.name,
                    func.count(answers.c.rating).label("rated"),  # COUNT(col) skips NULLs
                    func.count(answers.c.id).label("answered"),
                )
                .select_from(members.outerjoin(answers, answers.c.member_id == members.c.id))
                .where(members.c.room_id == room.id)
                .group_by(members.c.id, members.c.name)
                .order_by(members.c.id)
            ).all()
        return {r.name: AnswerCount(int(r.rated), int(r.answered - r.rated)) for r in rows}

    def rating_counts(self, room_code: str) -> dict[str, int]:
        """Member name -> number of star ratings ("haven't seen" answers not counted)."""
        return {name: c.rated for name, c in self.answer_counts(room_code).items()}

    def last_change(self, room_code: str) -> datetime | None:
        """When any answer in the room last changed (cheap poll for a live host view)."""
        with self._conn() as conn:
            room = self._room_row(conn, room_code)
            value = conn.execute(
                select(func.max(answers.c.updated_at))
                .select_from(answers.join(members, answers.c.member_id == members.c.id))
                .where(members.c.room_id == room.id)
            ).scalar()
        return UTCDateTime().process_result_value(value, None)

    # ---------------------------------------------------------------- watched

    def mark_watched(self, room_code: str, movie_id: int) -> None:
        """Record that the room watched a film (idempotent); it leaves future picks."""
        mid = self._check_movie(movie_id)
        now = datetime.now(UTC)
        try:
            with self._conn(write=True) as conn:
                room = self._room_row(conn, room_code)
                exists = conn.execute(
                    select(watched.c.id).where(
                        watched.c.room_id == room.id, watched.c.movie_id == mid
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        insert(watched).values(room_id=room.id, movie_id=mid, watched_at=now)
                    )
        except IntegrityError:  # marked at the same moment by someone else: already done
            return

    def unmark_watched(self, room_code: str, movie_id: int) -> None:
        mid = check_movie_id(movie_id)
        with self._conn(write=True) as conn:
            room = self._room_row(conn, room_code)
            conn.execute(
                delete(watched).where(watched.c.room_id == room.id, watched.c.movie_id == mid)
            )

    def watched(self, room_code: str) -> set[int]:
        with self._conn() as conn:
            room = self._room_row(conn, room_code)
            rows = conn.execute(
                select(watched.c.movie_id).where(watched.c.room_id == room.id)
            ).all()
        return {int(r.movie_id) for r in rows}


__all__ = [
    "RATING_VALUES",
    "AnswerCount",
    "DatabaseDamaged",
    "DatabaseLocked",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "InvalidName",
    "InvalidRating",
    "Member",
    "MemberNotFound",
    "NameTaken",
    "Room",
    "RoomNotFound",
    "Store",
    "StoreError",
    "UnknownMovie",
    "check_rating",
    "clean_name",
    "default_url",
    "parse_room_code",
]
