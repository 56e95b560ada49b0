"""The store: rooms, members, answers and watched films (the repository the pages use).

The store keeps MovieLens **movieId**s (stable across retrains), never model item indices. A
member's member token is the only authority over that member's answers: every write takes the
member token, never a member id. All SQL is built with SQLAlchemy Core, so every value is a bound
parameter; connections, transactions and each database's needs live in ``app.store.database``.

``Store`` is composed of parts over one ``Database``, each owning its transactions: its own
methods (rooms, members, answers, watched films, the room's model and change stamp), ``tonight``
(host token, seen films, the vote; ``app.store.tonight``) and ``jobs`` (training jobs;
``app.store.jobs``). They find rooms and members with the same lookups (``app.store.rows``).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.store import room_models
from app.store.database import Database, default_url
from app.store.errors import MemberNotFound, NameTaken, StoreError
from app.store.jobs import JobQueue
from app.store.rows import (
    KnownFilms,
    insert_room,
    member_from,
    member_row,
    new_id,
    room_from,
    room_row,
)
from app.store.schema import (
    TOKEN_BYTES,
    AnswerCount,
    Member,
    Room,
    answers,
    members,
    rooms,
    watched,
)
from app.store.stamp import RoomStamp, room_stamp
from app.store.tonight import Tonight
from app.store.validate import (
    ROOM_NAME_MAX,
    check_movie_id,
    check_rating,
    clean_name,
    name_key,
    short,
)

if TYPE_CHECKING:
    import pandas as pd


class Store:
    """The app's persistence. Thread-safe; create one per process and share it.

    Rooms, members, answers and watched films are here; the host token, seen films and Tonight's
    vote are ``store.tonight`` (``app.store.tonight``), training jobs ``store.jobs``.

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
        self._films = KnownFilms(movie_ids)
        # member token -> member id for set_rating: member tokens never change owner and members
        # are never deleted; a stale entry (file recreated) is caught by the foreign key, dropped.
        self._member_ids: dict[str, int] = {}
        self._db = Database(self.url, busy_timeout, on_recreate=self._member_ids.clear)
        self._conn = self._db.connect
        self.jobs = JobQueue(self._db)
        self.tonight = Tonight(self._db, self._films)

    @property
    def backend(self) -> str:
        """The database's kind: "sqlite", "postgresql", ..."""
        return self._db.backend

    @property
    def busy_timeout(self) -> float:
        return self._db.busy_timeout

    def dispose(self) -> None:
        """Close pooled connections (e.g. before deleting the file in tests)."""
        self._db.dispose()

    # ---------------------------------------------------------------- rooms

    def create_room(self, name: str, dataset: str = "embedded") -> Room:
        """A new room with an unguessable code (secrets, 144 bits)."""
        name = clean_name(name, max_len=ROOM_NAME_MAX, what="room name")
        now = datetime.now(UTC)
        for _ in range(3):  # a code collision at 144 bits is practically impossible; still safe
            try:
                with self._conn(write=True) as conn:
                    return insert_room(conn, name, dataset, now)
            except IntegrityError:
                continue
        raise StoreError("Could not create a room; please try again.")

    def room(self, code: str) -> Room:
        """The room with this code (or a pasted room link); RoomNotFound otherwise."""
        with self._conn() as conn:
            return room_from(room_row(conn, code))

    # ---------------------------------------------------------------- members

    def add_member(self, room_code: str, name: str) -> Member:
        """A new member with a secret member token; names are unique per room, ignoring case."""
        name = clean_name(name)
        key = name_key(name)
        now = datetime.now(UTC)
        member_token = secrets.token_urlsafe(TOKEN_BYTES)
        try:
            with self._conn(write=True) as conn:
                room = room_row(conn, room_code)
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
                values = {"room_id": room.id, "name": name, "name_key": key, "created_at": now}
                mid = new_id(conn.execute(insert(members).values(token=member_token, **values)))
        except IntegrityError:  # lost a race with another join under the same name
            raise NameTaken(
                f"Someone in this room just took the name '{name}'; please pick another."
            ) from None
        return Member(mid, room.id, name, member_token, room.code)

    def member(self, member_token: str) -> Member:
        """The member with this member token (and their room code); MemberNotFound otherwise."""
        with self._conn() as conn:
            return member_from(member_row(conn, member_token))

    def member_in_room(self, room_code: str, member_token: str) -> Member:
        """The member for this member token, only if it belongs to this room.

        A link that mixes one room's code with another room's member token is refused, so a
        member token cannot be used to act in a room it was not issued for.
        """
        with self._conn() as conn:
            room = room_row(conn, room_code)
            row = member_row(conn, member_token)
        if row.room_id != room.id:
            raise MemberNotFound(
                "This member link belongs to a different room. Open your own link for this "
                "room, or add yourself to it."
            )
        return member_from(row)

    def members(self, room_code: str) -> list[Member]:
        """The room's members in the order they joined."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
            rows = conn.execute(
                select(members, rooms.c.code.label("room_code"))
                .join(rooms, rooms.c.id == members.c.room_id)
                .where(members.c.room_id == room.id)
                .order_by(members.c.id)
            ).all()
        return [member_from(r) for r in rows]

    # ---------------------------------------------------------------- answers

    def set_rating(self, token: str, movie_id: int, rating: float | None) -> None:
        """Save (or replace) one answer; ``None`` means "haven't seen it".

        ``token`` is the member token; the name matches ``app.services.answer_queue``'s
        ``AnswerWriter``, which ``Store`` implements.
        """
        member_token = token
        value = check_rating(rating)
        mid = self._films.check(movie_id)
        now = datetime.now(UTC)
        for attempt in range(3):
            try:
                with self._conn(write=True) as conn:
                    # Read the cache only inside _conn: it has just dropped it if the file changed.
                    member_id = (
                        self._member_ids.get(member_token)
                        if isinstance(member_token, str)
                        else None
                    )
                    if member_id is None:
                        member_id = member_row(conn, member_token).id
                    self._upsert_answer(conn, member_id, mid, value, now)
                if len(self._member_ids) < 100_000:
                    self._member_ids[member_token] = member_id
                return
            except IntegrityError:
                # A cached member that no longer exists (foreign key), or the generic
                # update-then-insert path lost a race: look the member token up again, retry.
                self._member_ids.pop(member_token, None)
                if attempt == 2:
                    raise StoreError("Could not save the answer; please try again.") from None

    @staticmethod
    def _upsert_answer(
        conn: Connection, member_id: int, movie_id: int, rating: float | None, now: datetime
    ) -> None:
        values = {"member_id": member_id, "movie_id": movie_id, "rating": rating, "updated_at": now}
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            dialect_insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
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

    def clear_rating(self, member_token: str, movie_id: int) -> None:
        """Forget one answer (neither rated nor "haven't seen" any more)."""
        mid = check_movie_id(movie_id)
        with self._conn(write=True) as conn:
            member = member_row(conn, member_token)
            conn.execute(
                delete(answers).where(answers.c.member_id == member.id, answers.c.movie_id == mid)
            )

    def answers(self, member_token: str) -> dict[int, float | None]:
        """One member's answers: movieId -> stars, or None for "haven't seen it"."""
        with self._conn() as conn:
            member = member_row(conn, member_token)
            rows = conn.execute(
                select(answers.c.movie_id, answers.c.rating)
                .where(answers.c.member_id == member.id)
                .order_by(answers.c.movie_id)
            ).all()
        return {int(r.movie_id): (None if r.rating is None else float(r.rating)) for r in rows}

    def room_answers(self, room_code: str) -> pd.DataFrame:
        """Every answer in the room: member_id, member, movie_id, rating (NaN = unseen), updated_at."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
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
            room = room_row(conn, room_code)
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

    def room_stamp(self, room_code: str) -> RoomStamp:
        """A value that changes whenever anything that shapes the room's picks changes
        (``app.store.stamp``): a page compares it with the last one to know whether to draw
        again."""
        with self._conn() as conn:
            return room_stamp(conn, room_row(conn, room_code).id)

    # ---------------------------------------------------------------- watched

    def mark_watched(self, room_code: str, movie_id: int) -> None:
        """Record that the room watched a film (idempotent); it leaves future picks."""
        mid = self._films.check(movie_id)
        now = datetime.now(UTC)
        try:
            with self._conn(write=True) as conn:
                room = room_row(conn, room_code)
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
            room = room_row(conn, room_code)
            conn.execute(
                delete(watched).where(watched.c.room_id == room.id, watched.c.movie_id == mid)
            )

    def watched(self, room_code: str) -> set[int]:
        with self._conn() as conn:
            room = room_row(conn, room_code)
            rows = conn.execute(
                select(watched.c.movie_id).where(watched.c.room_id == room.id)
            ).all()
        return {int(r.movie_id) for r in rows}

    # ---------------------------------------------------------------- the room's model

    def room_model(self, room_code: str) -> str | None:
        """The model this room's pages use, or None for the app's default (operator setting)."""
        with self._conn() as conn:
            return room_models.read(conn, room_row(conn, room_code).id)

    def set_room_model(self, room_code: str, model: str | None) -> None:
        """Set the room's model (None: the app's default). The caller checks the operator's
        credential and that the model exists; the store only keeps the name."""
        if model is not None and not (
            isinstance(model, str) and 0 < len(model) <= room_models.MODEL_NAME_MAX
        ):
            raise StoreError(f"{short(str(model))!r} is not a model name.")
        for attempt in range(2):
            try:
                with self._conn(write=True) as conn:
                    room_models.write(conn, room_row(conn, room_code).id, model)
                return
            except IntegrityError:  # set at the same moment elsewhere: the update path wins now
                if attempt:
                    raise StoreError("Could not save the room's model; please try again.") from None
