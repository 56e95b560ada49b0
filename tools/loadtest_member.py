"""One simulated member of the load test, as a thread: join, answer films, ask for picks, (the
host) mark the top pick watched, then take part in Tonight's vote; every step timed, every
failure written down instead of raised.

Used by ``tools.loadtest``, which plans the members and starts them all at once; kept apart so
that the run (rooms, threads, figures) and one person's evening are each one module's job.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from app.store import Member, Store
from tools.loadtest_evening import Evening, open_for_room, vote_in_room

PickFn = Callable[[Store, str], pd.DataFrame]
"""The "ask for picks" step: (store, room code) -> the room's picks, best first."""

Plan = list[tuple[int, float | None]]
"""A member's answers in order: (movieId, stars, or None for "haven't seen it")."""


class Timings:
    """Thread-safe named lists of durations (seconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.samples.setdefault(name, []).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: latency_summary(xs) for name, xs in sorted(self.samples.items())}


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99, max in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds) * 1000.0
    return {
        "n": len(ms),
        "mean_ms": round(float(ms.mean()), 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


@dataclass
class Outcome:
    """What the simulated members wrote, and what went wrong."""

    expected: dict[str, dict[tuple[str, int], float | None]] = field(default_factory=dict)
    watched: dict[str, set[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stopped_early: int = 0
    answers_written: int = 0
    picks_asked: int = 0
    short_picks: int = 0  # pick lists with fewer than k films (should not happen here)
    votes_cast: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Crowd:
    """What every member thread shares: the store, the picks step, the limits, where to write."""

    store: Store
    pick: PickFn
    picks: int  # group-pick requests per member
    k: int  # films a pick list should have
    time_limit: float  # seconds to wait at the start line
    deadline: float  # time.monotonic() after which members stop answering
    timings: Timings
    out: Outcome
    start: threading.Barrier
    evening: Evening | None = None


@dataclass(frozen=True)
class Seat:
    """One member's part: their room, name, planned answers, whether they host, their seed."""

    room_code: str
    name: str
    plan: Plan
    host: bool
    seed: int = 0


def plan_member(catalogue: Any, user: int, ratings: int, unseen: int, rng: random.Random) -> Plan:
    """Answers for one member: a real MovieLens user's stars, plus films they never rated."""
    items, values = catalogue.user_items(user)
    order = rng.sample(range(len(items)), min(ratings, len(items)))
    ids = catalogue.item_ids
    plan: Plan = [(int(ids[items[i]]), float(values[i])) for i in order]
    own = set(int(ids[i]) for i in items)
    while len(plan) < len(order) + unseen:
        movie = int(ids[rng.randrange(catalogue.n_items)])
        if movie not in own and all(m != movie for m, _ in plan):
            plan.append((movie, None))
    rng.shuffle(plan)
    return plan


def simulate_member(crowd: Crowd, seat: Seat) -> None:
    """One member's evening from the start line to the vote (see the module docstring)."""
    _MemberThread(crowd, seat).run()


class _MemberThread:
    """One member's steps, sharing the timer, the failure log and what they wrote."""

    def __init__(self, crowd: Crowd, seat: Seat) -> None:
        self.crowd = crowd
        self.seat = seat
        self.mine: dict[tuple[str, int], float | None] = {}
        self.asked = 0
        self.cast = 0

    def timed(self, kind: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = fn()
        self.crowd.timings.add(kind, time.perf_counter() - t0)
        return result

    def fail(self, action: str, exc: BaseException) -> None:
        with self.crowd.out.lock:
            self.crowd.out.errors.append(f"{self.seat.name} {action}: {type(exc).__name__}: {exc}")

    def run(self) -> None:
        crowd, seat = self.crowd, self.seat
        with contextlib.suppress(threading.BrokenBarrierError):
            crowd.start.wait(timeout=crowd.time_limit)
        try:
            member = self.timed("join", lambda: crowd.store.add_member(seat.room_code, seat.name))
        except Exception as exc:
            self.fail("join", exc)
            return
        last_picks = self.answer(member)
        if seat.host and last_picks is not None and len(last_picks):
            self.mark_watched(int(last_picks["movieId"].iloc[0]))
        if crowd.evening is not None:
            self.vote(crowd.evening, member, last_picks)
        self.record()

    def answer(self, member: Member) -> pd.DataFrame | None:
        """Give every planned answer, the first one again at the end with another value (an
        upsert under load), asking for picks now and then; the last picks seen."""
        crowd, plan = self.crowd, self.seat.plan
        every = max(1, len(plan) // max(1, crowd.picks))
        plan = [*plan, (plan[0][0], 2.5 if plan[0][1] != 2.5 else 3.0)] if plan else plan
        attempts, last_picks = 0, None
        for i, (movie, rating) in enumerate(plan, start=1):
            if time.monotonic() > crowd.deadline:
                with crowd.out.lock:
                    crowd.out.stopped_early += 1
                break
            try:
                self.timed(
                    "set_rating",
                    lambda m=movie, r=rating: crowd.store.set_rating(member.token, m, r),
                )
                self.mine[(self.seat.name, movie)] = rating
            except Exception as exc:
                self.fail(f"set_rating({movie}, {rating})", exc)
                continue
            if attempts < crowd.picks and (i % every == 0 or i == len(plan)):
                attempts += 1
                picks = self.ask_for_picks()
                last_picks = last_picks if picks is None else picks
        return last_picks

    def ask_for_picks(self) -> pd.DataFrame | None:
        crowd = self.crowd
        try:
            picks: pd.DataFrame = self.timed(
                "group_picks", lambda: crowd.pick(crowd.store, self.seat.room_code)
            )
        except Exception as exc:
            self.fail("picks", exc)
            return None
        self.asked += 1
        if len(picks) < crowd.k:
            with crowd.out.lock:
                crowd.out.short_picks += 1
        return picks

    def mark_watched(self, movie: int) -> None:
        """The host marks the room's top pick as watched."""
        room_code = self.seat.room_code
        try:
            self.timed("mark_watched", lambda: self.crowd.store.mark_watched(room_code, movie))
            with self.crowd.out.lock:
                self.crowd.out.watched.setdefault(room_code, set()).add(movie)
        except Exception as exc:
            self.fail("mark_watched", exc)

    def vote(self, evening: Evening, member: Member, last_picks: pd.DataFrame | None) -> None:
        """The host opens the vote on the last picks; everyone (the host too) answers it."""
        store, seat = self.crowd.store, self.seat
        if seat.host:
            try:
                open_for_room(store, evening, seat.room_code, last_picks, self.timed)
            except Exception as exc:
                self.fail("open_vote", exc)
        try:
            wait = max(0.0, self.crowd.deadline - time.monotonic()) + 30.0
            self.cast = vote_in_room(
                store,
                evening,
                seat.room_code,
                member.token,
                seat.seed,
                wait,
                self.timed,
                self.mine,
                seat.name,
            )
        except Exception as exc:
            self.fail("vote", exc)

    def record(self) -> None:
        out = self.crowd.out
        with out.lock:
            out.expected.setdefault(self.seat.room_code, {}).update(self.mine)
            out.answers_written += len(self.mine)
            out.picks_asked += self.asked
            out.votes_cast += self.cast
