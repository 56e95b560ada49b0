"""Database plumbing under the store: the SQLAlchemy engine, transactions, and what each
database needs (SQLite by default, PostgreSQL or any SQLAlchemy URL on request).

SQLite at ``data/movienight.db`` by default (WAL, so readers never wait for a writer, and a busy
timeout with ``BEGIN IMMEDIATE`` writes, so concurrent writers queue instead of failing); any
SQLAlchemy URL through ``MOVIENIGHT_DB_URL`` (e.g. ``postgresql+psycopg://...``), for which this
module only builds the engine and translates errors. Driver errors become ``StoreError``s that
say what to do; the repository (``app.store.store``) never sees a ``DBAPIError`` other than an
``IntegrityError``, which it handles itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from app.store.errors import (
    RECONNECTING_SIGNS,
    DatabaseDamaged,
    DatabaseLocked,
    DatabaseReadOnly,
    DatabaseReconnecting,
    DatabaseUnavailable,
    StoreError,
)
from app.store.schema import metadata
from app.store.validate import short
from engine.data.paths import data_dir

DB_URL_ENV = "MOVIENIGHT_DB_URL"
DB_FILENAME = "movienight.db"


def default_url() -> str:
    """``MOVIENIGHT_DB_URL`` if set, else SQLite at ``<data dir>/movienight.db``."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if url:
        return url

    return f"sqlite:///{data_dir() / DB_FILENAME}"


class Database:
    """One database: its engine, its tables, and transactions with human error messages.

    Thread-safe; ``on_recreate`` runs when the SQLite file was deleted or replaced under us, so
    the repository can drop what it remembered about the old file.
    """

    def __init__(
        self, url: str, busy_timeout: float, on_recreate: Callable[[], None] = lambda: None
    ) -> None:
        self.busy_timeout = float(busy_timeout)
        self._on_recreate = on_recreate
        try:
            self.url = make_url(url)
        except ArgumentError as exc:
            raise DatabaseUnavailable(
                f"{DB_URL_ENV} is not a database URL ({exc}); use e.g. "
                "sqlite:///path/to/movienight.db or postgresql+psycopg://user@host/db."
            ) from None
        if self.url.drivername in ("postgresql", "postgres"):
            # Plain postgresql:// (or Heroku-style postgres://) means the pinned psycopg 3 driver,
            # not SQLAlchemy's default psycopg2, which is not installed.
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.where = self.url.render_as_string(hide_password=True)
        self.backend = self.url.get_backend_name()
        self._sqlite = self.backend == "sqlite"
        database = self.url.database or ""
        self._memory = (self._sqlite and database in ("", ":memory:")) or "mode=memory" in url
        self.file: Path | None = (
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
        self.engine = self._make_engine()
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
            engine = create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise DatabaseUnavailable(
                f"No database driver for {self.where} ({exc}). Install the driver named in the "
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
            if self.file is not None:
                self.file.parent.mkdir(parents=True, exist_ok=True)
            last: Exception | None = None
            for _ in range(5):
                try:
                    with self._lock:
                        metadata.create_all(self.engine, checkfirst=True)
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
        if self.file is None:
            return None
        try:
            st = self.file.stat()
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
        if self.file is None:
            return
        now = self._identity()
        if now is not None and now == self._file_id:
            return
        with self._schema_lock:
            now = self._identity()
            if now is not None and now == self._file_id:
                return
            self.engine.dispose()
            self._on_recreate()
            if now is None:
                # A -wal/-shm left from the old file must not be replayed into the new one.
                for suffix in ("-wal", "-shm", "-journal"):
                    self.file.with_name(self.file.name + suffix).unlink(missing_ok=True)
        self._ensure_schema()

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction (committed on success), DB errors made human.

        ``IntegrityError`` passes through: the repository decides what a conflict means.
        """
        self._recover_deleted_file()
        try:
            with self._lock, self.engine.connect() as conn:
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
        where = str(self.file) if self.file is not None else self.where
        return DatabaseLocked(
            f"The database {where} stayed locked by another program for more than "
            f"{self.busy_timeout:g} s. Try again in a moment; if it keeps happening, close "
            "other programs that have the file open."
        )

    def _translate(self, exc: DBAPIError) -> StoreError:
        text = str(exc.orig if exc.orig is not None else exc).lower()
        where = str(self.file) if self.file is not None else self.where
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
                f"The database {where} is damaged ({short(text, 120)}). Restore it from a "
                "backup, or move it aside to start with an empty one (rooms in it are lost)."
            )
        if "unable to open" in text or "disk i/o" in text:
            return DatabaseUnavailable(
                f"The database {where} cannot be opened ({short(text, 120)}). Check that its "
                "folder exists, is writable and has free space."
            )
        if not self._sqlite and any(sign in text for sign in RECONNECTING_SIGNS):
            return DatabaseReconnecting(
                f"The database {where} went away ({short(text, 200)}); reconnecting on the "
                f"next request. If this goes on, check that it is running and that "
                f"{DB_URL_ENV} is right."
            )
        return DatabaseUnavailable(
            f"The database {where} failed: {short(text, 200)}. Check that it is running and "
            f"that {DB_URL_ENV} is right."
        )

    def dispose(self) -> None:
        """Close pooled connections (e.g. before deleting the file in tests)."""
        self.engine.dispose()
