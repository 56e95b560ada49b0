"""The store's part for the evening's decision: the host token, seen films and Tonight's vote.

``Tonight`` is composed into ``Store`` as ``store.tonight``, the way the job queue is
``store.jobs``: it owns its transactions on the shared ``Database`` and finds rooms and members
with the same lookups (``app.store.rows``). Authority is the same as for answers: a member's
member token is the only way to write that member's answers and seen films, and the room's host
token (made with the room, compared in constant time) the only way to open or close a vote. Vote
answers are only ever read back as counts (``Tally``), never per member, except a member reading
their own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.store.database import Database
from app.store.errors import InvalidChoice, NotHost, StoreError, VoteUnavailable
from app.store.rows import KnownFilms, insert_room, member_row, new_id, room_row
from app.store.schema import TOKEN_BYTES, answers, members
from app.store.tonight_schema import (
    CHOICES,
    RULES,
    SEEN_CHOICES,
    SHORTLIST_MAX,
    SHORTLIST_MIN,
    HostedRoom,
    Tally,
    Vote,
    room_hosts,
    seen,
    vote_answers,
    vote_films,
    votes,
)
from app.store.validate import LINK_VALUE_MAX, ROOM_NAME_MAX, clean_name


class Tonight:
    """Host tokens, seen films and votes of one database (``Store.tonight``). Thread-safe."""

    def __init__(self, db: Database, films: KnownFilms) -> None:
        self._conn = db.connect
        self._films = films

    # ---------------------------------------------------------------- the host

    def create_hosted_room(self, name: str, dataset: str = "embedded") -> HostedRoom:
        """A new room (unguessable code) and its host token, made in one transaction.

        The host token is returned only here: keep it in the host's link. Host actions ask for
        it.
        """
        name = clean_name(name, max_len=ROOM_NAME_MAX, what="room name")
        now = datetime.now(UTC)
        for _ in range(3):  # a collision at 144/192 bits is practically impossible; still safe
            host_token = secrets.token_urlsafe(TOKEN_BYTES)
            try:
                with self._conn(write=True) as conn:
                    room = insert_room(conn, name, dataset, now)
                    conn.execute(
                        insert(room_hosts).values(room_id=room.id, token=host_token, created_at=now)
                    )
                return HostedRoom(room.code, name, host_token)
            except IntegrityError:
                continue
        raise StoreError("Could not create a room; please try again.")

    def _is_host(self, conn: Connection, room_id: int, host_token: object) -> bool:
        if not isinstance(host_token, str) or not 0 < len(host_token.strip()) <= LINK_VALUE_MAX:
            return False
        stored = conn.execute(
            select(room_hosts.c.token).where(room_hosts.c.room_id == room_id)
        ).scalar()
        if stored is None:
            return False
        # constant-time: how much of a guessed token matches must not show in the timing
        return secrets.compare_digest(stored.encode(), host_token.strip().encode())

    def is_host(self, room_code: str, host_token: object) -> bool:
        """Whether ``host_token`` is this room's host token (False for any other value)."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
            return self._is_host(conn, room.id, host_token)

    def _require_host(self, conn: Connection, room_id: int, host_token: object) -> None:
        if not self._is_host(conn, room_id, host_token):
            raise NotHost(
                "Only the room's host can do this: open the host link you got when you "
                "created the room."
            )

    # ---------------------------------------------------------------- seen films

    def set_seen(self, member_token: str, movie_id: int, has_seen: bool = True) -> None:
        """Record (or withdraw) that this member has seen a film, without stars.

        Seeing it contradicts an earlier "haven't seen it" answer, which is removed.
        """
        mid = self._films.check(movie_id)
        with self._conn(write=True) as conn:
            member = member_row(conn, member_token)
            self._write_seen(conn, member.id, mid, has_seen, datetime.now(UTC))

    @staticmethod
    def _write_seen(
        conn: Connection, member_id: int, movie_id: int, has_seen: bool, now: datetime
    ) -> None:
        where = and_(seen.c.member_id == member_id, seen.c.movie_id == movie_id)
        if not has_seen:
            conn.execute(delete(seen).where(where))
            return
        conn.execute(
            delete(answers).where(
                answers.c.member_id == member_id,
                answers.c.movie_id == movie_id,
                answers.c.rating.is_(None),
            )
        )
        if conn.execute(update(seen).where(where).values(updated_at=now)).rowcount == 0:
            conn.execute(
                insert(seen).values(member_id=member_id, movie_id=movie_id, updated_at=now)
            )

    def seen_films(self, member_token: str) -> set[int]:
        """movieIds this member said they have seen."""
        with self._conn() as conn:
            member = member_row(conn, member_token)
            rows = conn.execute(select(seen.c.movie_id).where(seen.c.member_id == member.id))
            return {int(r.movie_id) for r in rows}

    def room_seen(self, room_code: str) -> dict[str, set[int]]:
        """Member name -> movieIds they have seen (members with none are left out)."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
            rows = conn.execute(
                select(members.c.name, seen.c.movie_id)
                .join(seen, seen.c.member_id == members.c.id)
                .where(members.c.room_id == room.id)
            ).all()
        out: dict[str, set[int]] = {}
        for r in rows:
            out.setdefault(r.name, set()).add(int(r.movie_id))
        return out

    # ---------------------------------------------------------------- votes

    @staticmethod
    def _vote_from(conn: Connection, row: Any) -> Vote:
        films = conn.execute(
            select(vote_films.c.movie_id)
            .where(vote_films.c.vote_id == row.id)
            .order_by(vote_films.c.position)
        ).all()
        return Vote(
            int(row.id),
            int(row.room_id),
            tuple(int(f.movie_id) for f in films),
            str(row.rule),
            row.opened_at,
            row.closed_at,
        )

    def open_vote(
        self, room_code: str, host_token: str, movie_ids: Iterable[int], rule: str = "all"
    ) -> Vote:
        """The host opens a vote on a shortlist of films (in the order shown)."""
        films = list(dict.fromkeys(self._films.check(m) for m in movie_ids))
        if not SHORTLIST_MIN <= len(films) <= SHORTLIST_MAX:
            raise InvalidChoice(
                f"A vote needs {SHORTLIST_MIN} to {SHORTLIST_MAX} different films, not "
                f"{len(films)}."
            )
        if rule not in RULES:
            raise InvalidChoice(f"The match rule must be one of {', '.join(RULES)}, not {rule!r}.")
        now = datetime.now(UTC)
        try:
            with self._conn(write=True) as conn:
                room = room_row(conn, room_code)
                self._require_host(conn, room.id, host_token)
                if self._open_row(conn, room.id) is not None:
                    raise VoteUnavailable(
                        "A vote is already open in this room; close it before starting another."
                    )
                vote_id = new_id(
                    conn.execute(insert(votes).values(room_id=room.id, rule=rule, opened_at=now)),
                    "vote",
                )
                for position, movie_id in enumerate(films):
                    conn.execute(
                        insert(vote_films).values(
                            vote_id=vote_id, movie_id=movie_id, position=position
                        )
                    )
        except IntegrityError:  # another tab of the host opened one at the same moment
            raise VoteUnavailable(
                "A vote was just opened in this room; close it before starting another."
            ) from None
        return Vote(vote_id, int(room.id), tuple(films), rule, now, None)

    @staticmethod
    def _open_row(conn: Connection, room_id: int) -> Any:
        return conn.execute(
            select(votes).where(votes.c.room_id == room_id, votes.c.closed_at.is_(None))
        ).first()

    def close_vote(self, room_code: str, host_token: str) -> Vote:
        """The host closes the room's open vote; answers are kept for the result."""
        now = datetime.now(UTC)
        with self._conn(write=True) as conn:
            room = room_row(conn, room_code)
            self._require_host(conn, room.id, host_token)
            row = self._open_row(conn, room.id)
            if row is None:
                raise VoteUnavailable("There is no open vote in this room to close.")
            conn.execute(update(votes).where(votes.c.id == row.id).values(closed_at=now))
            closed = self._vote_from(conn, row)
        return Vote(closed.id, closed.room_id, closed.films, closed.rule, closed.opened_at, now)

    def latest_vote(self, room_code: str) -> Vote | None:
        """The room's open vote, else its most recent closed one, else None."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
            row = conn.execute(
                select(votes).where(votes.c.room_id == room.id).order_by(votes.c.id.desc())
            ).first()
            return None if row is None else self._vote_from(conn, row)

    def votes_since(self, room_code: str, since: datetime) -> list[Vote]:
        """The room's votes opened at or after ``since``, oldest first."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
            rows = conn.execute(
                select(votes)
                .where(votes.c.room_id == room.id, votes.c.opened_at >= since)
                .order_by(votes.c.id)
            ).all()
            return [self._vote_from(conn, r) for r in rows]

    def cast_vote(self, member_token: str, vote_id: int, movie_id: int, choice: str) -> None:
        """A member answers one film of their room's open vote (again: replaces the answer).

        "Seen it" answers also record the film as seen (``set_seen``); Yes and Not tonight
        withdraw a seen mark made earlier.
        """
        if choice not in CHOICES:
            raise InvalidChoice(f"A vote answer is one of {', '.join(CHOICES)}, not {choice!r}.")
        mid = self._films.check(movie_id)
        now = datetime.now(UTC)
        for attempt in range(3):
            try:
                with self._conn(write=True) as conn:
                    member = member_row(conn, member_token)
                    vote = conn.execute(select(votes).where(votes.c.id == int(vote_id))).first()
                    if vote is None or vote.room_id != member.room_id:
                        raise VoteUnavailable("This vote is not in your room.")
                    if vote.closed_at is not None:
                        raise VoteUnavailable("This vote is closed; the host can start a new one.")
                    listed = conn.execute(
                        select(vote_films.c.id).where(
                            vote_films.c.vote_id == vote.id, vote_films.c.movie_id == mid
                        )
                    ).first()
                    if listed is None:
                        raise InvalidChoice(f"Film {mid} is not on this vote's shortlist.")
                    where = and_(
                        vote_answers.c.vote_id == vote.id,
                        vote_answers.c.member_id == member.id,
                        vote_answers.c.movie_id == mid,
                    )
                    done = conn.execute(
                        update(vote_answers).where(where).values(choice=choice, updated_at=now)
                    )
                    if done.rowcount == 0:
                        conn.execute(
                            insert(vote_answers).values(
                                vote_id=vote.id,
                                member_id=member.id,
                                movie_id=mid,
                                choice=choice,
                                updated_at=now,
                            )
                        )
                    self._write_seen(conn, member.id, mid, choice in SEEN_CHOICES, now)
                return
            except IntegrityError:  # the same member's two tabs inserted at once: retry
                if attempt == 2:
                    raise StoreError("Could not save your vote; please try again.") from None

    def my_votes(self, member_token: str, vote_id: int) -> dict[int, str]:
        """This member's own answers in a vote: movieId -> choice."""
        with self._conn() as conn:
            member = member_row(conn, member_token)
            rows = conn.execute(
                select(vote_answers.c.movie_id, vote_answers.c.choice).where(
                    vote_answers.c.vote_id == int(vote_id),
                    vote_answers.c.member_id == member.id,
                )
            ).all()
        return {int(r.movie_id): str(r.choice) for r in rows}

    def tally(self, room_code: str, vote: Vote) -> Tally:
        """The vote's answers as counts per film and choice, and how many members have voted
        (answered every film). Never who voted what."""
        with self._conn() as conn:
            room = room_row(conn, room_code)
            if vote.room_id != room.id:
                raise VoteUnavailable("This vote is not in this room.")
            rows = conn.execute(
                select(vote_answers.c.movie_id, vote_answers.c.choice, func.count().label("n"))
                .where(vote_answers.c.vote_id == vote.id)
                .group_by(vote_answers.c.movie_id, vote_answers.c.choice)
            ).all()
            per_member = (
                select(vote_answers.c.member_id)
                .where(vote_answers.c.vote_id == vote.id)
                .group_by(vote_answers.c.member_id)
                .having(func.count() >= len(vote.films))
                .subquery()
            )
            voted = conn.execute(select(func.count()).select_from(per_member)).scalar() or 0
            n_members = (
                conn.execute(
                    select(func.count()).select_from(members).where(members.c.room_id == room.id)
                ).scalar()
                or 0
            )
        counts: dict[int, dict[str, int]] = {m: dict.fromkeys(CHOICES, 0) for m in vote.films}
        for r in rows:
            if int(r.movie_id) in counts:
                counts[int(r.movie_id)][str(r.choice)] = int(r.n)
        return Tally(vote, counts, int(voted), int(n_members))
