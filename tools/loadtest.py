"""Bounded load test: simulated members in several rooms rate films and ask for group picks at once.

    python -m tools.loadtest                    # 50 members in 10 rooms, the app's default model
    python -m tools.loadtest --model baseline --members 20 --rooms 4 --json

Each simulated member is a thread doing what a person does in the app, through the same code
paths: join a room (``app.store``), answer films (star ratings taken from a real MovieLens user,
plus some "haven't seen it"), change one answer, and now and then ask for the room's picks (read
the room from the store, fold every member in, seen films included, blend with
``engine.group.recommend``). The first member of each room is its host: it marks the top pick as
watched and opens Tonight's vote on the next ones; then every member answers each film at once,
seen-its (some with stars) included (``tools.loadtest_evening``). Afterwards every room is read
back and compared with what the members wrote: no error, no lost answer and a tally that counts
every vote is the pass mark.

Bounded: a fixed number of actions, a wall-clock limit after which members stop by themselves,
and only local databases (a fresh SQLite file in a temporary folder unless ``--db-url`` names a
localhost server). Figures go to ``data/loadtest.json`` and ``data/loadtest.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.services.room_input import room_input
from app.store import Store, StoreError
from tools.loadtest_evening import Evening, open_for_room, verify_votes, vote_in_room
from tools.loadtest_report import to_markdown

LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}

PickFn = Callable[[Store, str], pd.DataFrame]
"""The "ask for picks" step: (store, room code) -> the room's picks, best first."""


@dataclass
class LoadConfig:
    rooms: int = 10
    members: int = 50  # in all, spread evenly over the rooms
    ratings: int = 12  # star ratings per member
    unseen: int = 3  # "haven't seen it" answers per member
    picks: int = 4  # group-pick requests per member, spread over their answers
    model: str = "hybrid"  # the app's default (app.services.PREFERRED_MODEL)
    strategy: str | None = None  # None: the group engine's default
    k: int = 10
    threads: int | None = None  # None: one per member, all at once
    time_limit: float = 300.0  # seconds; members stop by themselves after this
    seed: int = 0
    vote: bool = True  # the host opens Tonight's vote and every member answers it
    db_url: str | None = None  # None: a fresh SQLite file in a temporary folder


# --------------------------------------------------------------------------- measuring


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


# --------------------------------------------------------------------------- the picks step


class RoomPicker:
    """Group picks for a room, as the app computes them: ``room_input`` -> engine.group.recommend.

    Answers are stored by MovieLens movieId; the engine wants item indices of ``catalogue``.
    Films no longer in the catalogue are skipped (a retrain on other data must not crash picks).
    """

    def __init__(
        self,
        model: Any,
        catalogue: Any,
        strategy: str | None = None,
        k: int = 10,
        timings: Timings | None = None,
    ) -> None:
        from engine import group

        self.group = group
        self.model = model
        self.catalogue = catalogue
        self.strategy = strategy or group.DEFAULT_STRATEGY
        self.k = k
        self.timings = timings
        self.index = pd.Index(catalogue.item_ids)

    def members(self, store: Store, room_code: str) -> tuple[list[Any], list[int]]:
        """The room as the app gives it to the engine (``app.services.room_input``): members
        (star ratings, and films seen without stars) and the items out of its lists (watched,
        or ruled out by tonight's votes)."""
        room = room_input(store, room_code, self.index)
        return room.members, room.exclude

    def __call__(self, store: Store, room_code: str) -> pd.DataFrame:
        members, exclude = self.members(store, room_code)
        started = time.perf_counter()
        picks = self.group.recommend(
            self.model, self.catalogue, members, self.strategy, self.k, exclude=exclude
        )
        if self.timings is not None:
            self.timings.add("recommend_only", time.perf_counter() - started)
        return picks


# --------------------------------------------------------------------------- the simulation


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


def _plan_member(catalogue: Any, user: int, cfg: LoadConfig, rng: random.Random):
    """Answers for one member: a real MovieLens user's stars, plus films they never rated."""
    items, values = catalogue.user_items(user)
    order = rng.sample(range(len(items)), min(cfg.ratings, len(items)))
    ids = catalogue.item_ids
    plan: list[tuple[int, float | None]] = [(int(ids[items[i]]), float(values[i])) for i in order]
    own = set(int(ids[i]) for i in items)
    while len(plan) < len(order) + cfg.unseen:
        movie = int(ids[rng.randrange(catalogue.n_items)])
        if movie not in own and all(m != movie for m, _ in plan):
            plan.append((movie, None))
    rng.shuffle(plan)
    return plan


def _simulate_member(
    store: Store,
    pick: PickFn,
    room_code: str,
    name: str,
    plan: list[tuple[int, float | None]],
    first_in_room: bool,
    cfg: LoadConfig,
    deadline: float,
    timings: Timings,
    out: Outcome,
    start: threading.Barrier,
    evening: Evening | None = None,
    seed: int = 0,
) -> None:
    def timed(kind: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = fn()
        timings.add(kind, time.perf_counter() - t0)
        return result

    def fail(action: str, exc: BaseException) -> None:
        with out.lock:
            out.errors.append(f"{name} {action}: {type(exc).__name__}: {exc}")

    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=cfg.time_limit)
    try:
        member = timed("join", lambda: store.add_member(room_code, name))
    except Exception as exc:
        fail("join", exc)
        return
    every = max(1, len(plan) // max(1, cfg.picks))
    asked, attempts, mine = 0, 0, {}
    # The first answer is given again at the end with another value: an upsert under load.
    plan = [*plan, (plan[0][0], 2.5 if plan[0][1] != 2.5 else 3.0)] if plan else plan
    last_picks: pd.DataFrame | None = None
    for i, (movie, rating) in enumerate(plan, start=1):
        if time.monotonic() > deadline:
            with out.lock:
                out.stopped_early += 1
            break
        try:
            timed("set_rating", lambda m=movie, r=rating: store.set_rating(member.token, m, r))
            mine[(name, movie)] = rating
        except Exception as exc:
            fail(f"set_rating({movie}, {rating})", exc)
            continue
        if attempts < cfg.picks and (i % every == 0 or i == len(plan)):
            attempts += 1
            try:
                picks: pd.DataFrame = timed("group_picks", lambda: pick(store, room_code))
                last_picks = picks
                asked += 1
                if len(picks) < cfg.k:
                    with out.lock:
                        out.short_picks += 1
            except Exception as exc:
                fail("picks", exc)
    if first_in_room and last_picks is not None and len(last_picks):
        movie = int(last_picks["movieId"].iloc[0])
        try:
            timed("mark_watched", lambda: store.mark_watched(room_code, movie))
            with out.lock:
                out.watched.setdefault(room_code, set()).add(movie)
        except Exception as exc:
            fail("mark_watched", exc)
    cast = 0
    if evening is not None:
        if first_in_room:
            try:
                open_for_room(store, evening, room_code, last_picks, timed)
            except Exception as exc:
                fail("open_vote", exc)
        try:
            wait = max(0.0, deadline - time.monotonic()) + 30.0
            cast = vote_in_room(
                store, evening, room_code, member.token, seed, wait, timed, mine, name
            )
        except Exception as exc:
            fail("vote", exc)
    with out.lock:
        out.expected.setdefault(room_code, {}).update(mine)
        out.answers_written += len(mine)
        out.picks_asked += asked
        out.votes_cast += cast


def verify(store: Store, out: Outcome) -> dict[str, int]:
    """Compare every room with what its members wrote: lost, wrong and unexpected answers."""
    lost = wrong = extra = watched_mismatch = 0
    for room_code, expected in out.expected.items():
        frame = store.room_answers(room_code)
        got = {
            (m, int(mv)): (None if r != r else float(r))
            for m, mv, r in zip(frame["member"], frame["movie_id"], frame["rating"], strict=True)
        }
        lost += sum(1 for key in expected if key not in got)
        wrong += sum(1 for key, v in expected.items() if key in got and got[key] != v)
        extra += sum(1 for key in got if key not in expected)
        if store.watched(room_code) != out.watched.get(room_code, set()):
            watched_mismatch += 1
    return {"lost": lost, "wrong": wrong, "extra": extra, "watched_mismatch": watched_mismatch}


def _check_local(url: str | None) -> None:
    if url is None:
        return
    from sqlalchemy.engine import make_url

    host = make_url(url).host
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"the load test only runs against a local database, not host {host!r}")


def load_model(name: str, catalogue: Any) -> tuple[Any, str]:
    """The model for the picks, as the app gets it: saved under data/models/, else trained and
    saved (``engine.train.load_or_train``)."""
    from engine.train import load_or_train

    return load_or_train(name, catalogue)


def run(
    cfg: LoadConfig,
    catalogue: Any = None,
    model: Any = None,
    pick: PickFn | None = None,
) -> dict[str, Any]:
    """Run the load test; returns the figures (see ``to_markdown``)."""
    _check_local(cfg.db_url)
    if cfg.rooms < 1 or cfg.members < cfg.rooms:
        raise ValueError("need at least one room and at least one member per room")
    if catalogue is None:
        from engine.data import load_embedded

        catalogue = load_embedded()
    timings = Timings()
    model_note = "given"
    if pick is None:
        if model is None:
            t0 = time.perf_counter()
            model, model_note = load_model(cfg.model, catalogue)
            timings.add("model_ready", time.perf_counter() - t0)
        pick = RoomPicker(model, catalogue, cfg.strategy, cfg.k, timings)

    with tempfile.TemporaryDirectory(prefix="movienight-load-") as tmp:
        url = cfg.db_url or f"sqlite:///{Path(tmp) / 'load.db'}"
        store = Store(url, movie_ids=catalogue.item_ids.tolist())
        rng = random.Random(cfg.seed)
        evening = Evening() if cfg.vote else None
        rooms = []
        for r in range(cfg.rooms):
            hosted = store.tonight.create_hosted_room(f"Load room {r + 1}")
            rooms.append(hosted.code)
            if evening is not None:
                evening.add_room(hosted.code, hosted.host_token)
        users = rng.sample(range(catalogue.n_users), cfg.members)
        jobs = []
        for i, user in enumerate(users):
            room = rooms[i % cfg.rooms]
            plan = _plan_member(catalogue, user, cfg, random.Random(cfg.seed * 1000 + i))
            jobs.append((room, f"member {i + 1} <{user}>", plan, i < cfg.rooms))
        out = Outcome()
        threads = cfg.threads or len(jobs)
        start = threading.Barrier(min(threads, len(jobs)))
        started = time.perf_counter()
        deadline = time.monotonic() + cfg.time_limit
        with ThreadPoolExecutor(threads, thread_name_prefix="member") as pool:
            futures = [
                pool.submit(
                    _simulate_member,
                    store,
                    pick,
                    room,
                    name,
                    plan,
                    first,
                    cfg,
                    deadline,
                    timings,
                    out,
                    start,
                    evening,
                    cfg.seed * 1000 + i,
                )
                for i, (room, name, plan, first) in enumerate(jobs)
            ]
            for f in futures:
                f.result(timeout=cfg.time_limit + 120)
        wall = time.perf_counter() - started
        checks = verify(store, out)
        if evening is not None:
            checks |= verify_votes(store, evening)
        backend = store.backend
        store.dispose()

    summary = timings.summary()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": None,  # set by main()
        "config": asdict(cfg) | {"db_url": None if cfg.db_url is None else "(given)"},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": _torch_version(),
            "database": backend,
        },
        "model": {"name": cfg.model, "note": model_note},
        "wall_s": round(wall, 2),
        "answers_written": out.answers_written,
        "answers_per_s": round(out.answers_written / wall, 1) if wall > 0 else None,
        "picks_asked": out.picks_asked,
        "votes_cast": out.votes_cast,
        "short_picks": out.short_picks,
        "stopped_early": out.stopped_early,
        "errors": len(out.errors),
        "error_samples": out.errors[:20],
        **checks,
        "latency": summary,
        "ok": not out.errors and not any(checks.values()) and out.stopped_early == 0,
    }


def _torch_version() -> str | None:
    try:
        import torch

        return f"{torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        return None


def _hide_password(arg: str) -> str:
    """A database URL as it may be written into the figures: without its password."""
    if "://" not in arg:
        return arg
    from sqlalchemy.engine import make_url

    try:
        return make_url(arg).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def main(argv: list[str] | None = None) -> int:
    defaults = LoadConfig()
    doc = __doc__ or ""
    p = argparse.ArgumentParser(prog="python -m tools.loadtest", description=doc.split("\n")[0])
    p.add_argument("--rooms", type=int, default=defaults.rooms)
    p.add_argument("--members", type=int, default=defaults.members)
    p.add_argument("--ratings", type=int, default=defaults.ratings)
    p.add_argument("--unseen", type=int, default=defaults.unseen)
    p.add_argument("--picks", type=int, default=defaults.picks)
    p.add_argument("--model", default=defaults.model)
    p.add_argument("--strategy", default=None)
    p.add_argument("--k", type=int, default=defaults.k)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--time-limit", type=float, default=defaults.time_limit)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--db-url", default=None, help="a localhost database; default: temp SQLite")
    p.add_argument("--out", type=Path, default=None, help="folder for loadtest.json/.md")
    p.add_argument("--json", action="store_true", help="print the JSON figures instead")
    p.add_argument("--no-vote", action="store_true", help="skip Tonight's vote")
    a = p.parse_args(argv)
    cfg = LoadConfig(
        rooms=a.rooms, members=a.members, ratings=a.ratings, unseen=a.unseen, picks=a.picks,
        model=a.model, strategy=a.strategy, k=a.k, threads=a.threads, time_limit=a.time_limit,
        seed=a.seed, db_url=a.db_url, vote=not a.no_vote,
    )  # fmt: skip
    try:
        result = run(cfg)
    except (StoreError, ValueError) as exc:
        print(f"load test could not run: {exc}", file=sys.stderr)
        return 2
    result["command"] = "python -m tools.loadtest " + " ".join(
        _hide_password(arg) for arg in (argv if argv is not None else sys.argv[1:])
    )
    if a.out is None:
        from engine.data.paths import data_dir

        a.out = data_dir()
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "loadtest.json").write_text(json.dumps(result, indent=2))
    md = to_markdown(result) + f"\nCommand: `{result['command'].strip()}`\n"
    (a.out / "loadtest.md").write_text(md)
    print(json.dumps(result, indent=2) if a.json else md)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
