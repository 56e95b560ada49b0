"""Training jobs in the database: one row per job, claimed atomically, kept alive by a heartbeat.

Several app replicas (Streamlit processes) share one database. A job is *requested* by whoever
needs a model (a page, the Lab, ``./scripts/start``); its ``key`` names what it makes (model,
dataset, settings, purpose), so asking again for the same thing finds the same row instead of
training twice. A replica *claims* a job with one conditional ``UPDATE`` (queued → running, or a
running job whose heartbeat is older than ``stale_after``), so exactly one replica wins, on SQLite
and PostgreSQL alike. The owner writes progress and a heartbeat every few seconds; if it dies,
the heartbeat goes stale and another replica claims the job and resumes it from its checkpoint.
Every write by the owner checks ``owner`` in its ``WHERE``: a replica that lost its claim (it was
presumed dead) finds out at its next heartbeat and stops.

Times are the replicas' UTC clocks: keep them in sync (NTP) to within a fraction of
``stale_after``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import Update

from app.store.database import Database
from app.store.errors import JobNotFound, StoreError
from app.store.schema import UTCDateTime, metadata

JobState = Literal["queued", "running", "review", "done", "failed", "cancelled"]
ACTIVE: tuple[JobState, ...] = ("queued", "running")
FINISHED: tuple[JobState, ...] = ("review", "done", "failed", "cancelled")
Purpose = Literal["serve", "candidate"]
MAX_ATTEMPTS = 3  # claims of one job (each after its owner died) before it is marked failed

training_jobs = Table(
    "training_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("model", String(64), nullable=False),
    Column("dataset", String(64), nullable=False),  # the dataset's fingerprint
    Column("dataset_path", Text, nullable=True),  # a MovieLens folder; NULL = embedded sample
    Column("params", Text, nullable=False),  # JSON: the full, validated hyperparameters
    Column("purpose", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("done", Float, nullable=False, default=0.0),
    Column("total", Float, nullable=False, default=1.0),
    Column("message", Text, nullable=False, default=""),
    Column("owner", String(128), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("result", Text, nullable=True),  # JSON: scores, swap decision, fit seconds
    Column("error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
)


@dataclass(frozen=True)
class Job:
    """One training job as stored. ``done``/``total`` is its progress; ``message`` the engine's
    own words (for the operator; guests are shown only the percentage)."""

    id: int
    key: str
    model: str
    dataset: str
    dataset_path: str | None
    params: dict[str, Any]
    purpose: Purpose
    state: JobState
    done: float
    total: float
    message: str
    owner: str | None
    attempts: int
    cancel_requested: bool
    result: dict[str, Any]
    error: str | None
    created_at: datetime
    heartbeat_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def fraction(self) -> float:
        """Progress in 0..1."""
        return min(max(self.done / self.total, 0.0), 1.0) if self.total > 0 else 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


@dataclass(frozen=True)
class Beat:
    """What a heartbeat learned: whether the job is still ours, and whether it should stop."""

    owned: bool
    cancel: bool


def _job_from(row: Any) -> Job:
    return Job(
        id=int(row.id),
        key=row.key,
        model=row.model,
        dataset=row.dataset,
        dataset_path=row.dataset_path,
        params=json.loads(row.params),
        purpose=row.purpose,
        state=row.state,
        done=float(row.done),
        total=float(row.total),
        message=row.message or "",
        owner=row.owner,
        attempts=int(row.attempts),
        cancel_requested=bool(row.cancel_requested),
        result=json.loads(row.result) if row.result else {},
        error=row.error,
        created_at=row.created_at,
        heartbeat_at=row.heartbeat_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _owners_run(job_id: int, owner: str) -> Update:
    """An UPDATE of job ``job_id`` only while ``owner`` runs it: every write by the owner goes
    through it, so a replica that lost its claim changes nothing (and learns so from rowcount)."""
    return update(training_jobs).where(
        training_jobs.c.id == job_id,
        training_jobs.c.owner == owner,
        training_jobs.c.state == "running",
    )


class JobQueue:
    """The training jobs of one database (``Store.jobs``). Thread- and process-safe."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ---------------------------------------------------------------- asking

    def request(
        self,
        *,
        key: str,
        model: str,
        dataset: str,
        params: dict[str, Any],
        purpose: Purpose,
        dataset_path: str | None = None,
        again: bool = False,
    ) -> Job:
        """The job for ``key``: the existing one while it is queued or running, else a new run.

        A finished job (done, failed, cancelled, in review) is returned as it is, unless
        ``again``: then it is queued again (its row reused, so the key stays unique).
        """
        now = datetime.now(UTC)
        fresh = {
            "state": "queued",
            "done": 0.0,
            "total": 1.0,
            "message": "",
            "owner": None,
            "attempts": 0,
            "cancel_requested": False,
            "result": None,
            "error": None,
            "created_at": now,
            "heartbeat_at": None,
            "started_at": None,
            "finished_at": None,
        }
        try:
            with self._db.connect(write=True) as conn:
                row = conn.execute(select(training_jobs).where(training_jobs.c.key == key)).first()
                if row is None:
                    values = {
                        "key": key,
                        "model": model,
                        "dataset": dataset,
                        "dataset_path": dataset_path,
                        "params": json.dumps(params, sort_keys=True),
                        "purpose": purpose,
                        **fresh,
                    }
                    conn.execute(insert(training_jobs).values(**values))
                elif again and row.state in FINISHED:
                    conn.execute(
                        update(training_jobs)
                        .where(training_jobs.c.id == row.id, training_jobs.c.state == row.state)
                        .values(**fresh, dataset_path=dataset_path)
                    )
        except IntegrityError:  # another replica inserted the same key a moment ago: use theirs
            pass
        found = self.find(key)
        if found is None:
            raise StoreError("Could not record the training job; please try again.")
        return found

    def find(self, key: str) -> Job | None:
        with self._db.connect() as conn:
            row = conn.execute(select(training_jobs).where(training_jobs.c.key == key)).first()
        return None if row is None else _job_from(row)

    def get(self, job_id: int) -> Job:
        with self._db.connect() as conn:
            row = conn.execute(select(training_jobs).where(training_jobs.c.id == job_id)).first()
        if row is None:
            raise JobNotFound(f"There is no training job {job_id}.")
        return _job_from(row)

    def jobs(self, states: tuple[JobState, ...] | None = None, limit: int = 50) -> list[Job]:
        """Jobs, newest first (only those in ``states`` when given)."""
        query = select(training_jobs).order_by(training_jobs.c.created_at.desc()).limit(limit)
        if states:
            query = query.where(training_jobs.c.state.in_(states))
        with self._db.connect() as conn:
            return [_job_from(r) for r in conn.execute(query).all()]

    def cancel(self, job_id: int) -> Job:
        """Stop a job: a queued one at once, a running one at its owner's next heartbeat."""
        now = datetime.now(UTC)
        with self._db.connect(write=True) as conn:
            conn.execute(
                update(training_jobs)
                .where(training_jobs.c.id == job_id, training_jobs.c.state == "queued")
                .values(state="cancelled", finished_at=now, message="cancelled")
            )
            conn.execute(
                update(training_jobs)
                .where(training_jobs.c.id == job_id, training_jobs.c.state == "running")
                .values(cancel_requested=True)
            )
        return self.get(job_id)

    def settle(self, job_id: int, state: JobState, result: dict[str, Any]) -> bool:
        """Close a job waiting for the operator's review (``state`` "done" or "cancelled");
        False when it was not in review (someone else settled it first)."""
        now = datetime.now(UTC)
        with self._db.connect(write=True) as conn:
            done = conn.execute(
                update(training_jobs)
                .where(training_jobs.c.id == job_id, training_jobs.c.state == "review")
                .values(state=state, result=json.dumps(result), finished_at=now)
            )
        return done.rowcount == 1

    # ---------------------------------------------------------------- working

    def claim(self, owner: str, stale_after: float, job_id: int | None = None) -> Job | None:
        """Take the oldest claimable job (or job ``job_id``) for ``owner``; None if there is none.

        Claimable: queued, or running with a heartbeat older than ``stale_after`` seconds (its
        owner died). One conditional UPDATE per try, so two replicas never both win a job. A job
        whose owners died ``MAX_ATTEMPTS`` times is marked failed instead of claimed again.
        """
        now = datetime.now(UTC)
        cutoff = now - timedelta(seconds=stale_after)
        stale = (training_jobs.c.state == "running") & (training_jobs.c.heartbeat_at < cutoff)
        claimable = or_(training_jobs.c.state == "queued", stale)
        with self._db.connect(write=True) as conn:
            conn.execute(
                update(training_jobs)
                .where(stale, training_jobs.c.attempts >= MAX_ATTEMPTS)
                .values(
                    state="failed",
                    finished_at=now,
                    error=f"stopped {MAX_ATTEMPTS} times without finishing",
                )
            )
        query = select(training_jobs.c.id).where(claimable).order_by(training_jobs.c.id)
        if job_id is not None:
            query = query.where(training_jobs.c.id == job_id)
        with self._db.connect() as conn:
            candidates = [int(r.id) for r in conn.execute(query.limit(10)).all()]
        for candidate in candidates:
            with self._db.connect(write=True) as conn:
                won = conn.execute(
                    update(training_jobs)
                    .where(training_jobs.c.id == candidate, claimable)
                    .values(
                        state="running",
                        owner=owner,
                        heartbeat_at=now,
                        started_at=now,
                        attempts=training_jobs.c.attempts + 1,
                    )
                )
            if won.rowcount == 1:
                return self.get(candidate)
        return None

    def beat(
        self,
        job_id: int,
        owner: str,
        done: float | None = None,
        total: float | None = None,
        message: str | None = None,
    ) -> Beat:
        """Record progress and that ``owner`` is alive; says whether the job is still ours and
        whether the operator asked to cancel it."""
        values: dict[str, Any] = {"heartbeat_at": datetime.now(UTC)}
        if done is not None:
            values["done"] = float(done)
        if total is not None:
            values["total"] = float(total)
        if message is not None:
            values["message"] = message[:500]
        with self._db.connect(write=True) as conn:
            updated = conn.execute(_owners_run(job_id, owner).values(**values))
            cancel = conn.execute(
                select(training_jobs.c.cancel_requested).where(training_jobs.c.id == job_id)
            ).scalar()
        return Beat(owned=updated.rowcount == 1, cancel=bool(cancel))

    def finish(
        self,
        job_id: int,
        owner: str,
        state: JobState,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> bool:
        """End ``owner``'s run of a job (done, review, failed or cancelled); False if it was no
        longer ours."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "state": state,
            "finished_at": now,
            "heartbeat_at": now,
            "result": json.dumps(result or {}),
            "error": error,
        }
        if state == "done":
            values["done"] = values["total"] = 1.0
        if message is not None:
            values["message"] = message[:500]
        with self._db.connect(write=True) as conn:
            updated = conn.execute(_owners_run(job_id, owner).values(**values))
        return updated.rowcount == 1

    def release(self, job_id: int, owner: str, message: str = "") -> bool:
        """Give a running job back to the queue (its owner is shutting down): the next replica
        to claim it resumes from its checkpoint."""
        with self._db.connect(write=True) as conn:
            updated = conn.execute(
                _owners_run(job_id, owner).values(
                    state="queued", owner=None, heartbeat_at=None, message=message[:500]
                )
            )
        return updated.rowcount == 1
