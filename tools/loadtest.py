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
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from sqlalchemy.engine import make_url

from app.services.room_input import room_input
from app.store import Store, StoreError
from engine import group
from engine.data import load_embedded
from engine.data.paths import data_dir
from engine.train import load_or_train
from tools.loadtest_evening import Evening, verify_votes
from tools.loadtest_member import (
    Crowd,
    Outcome,
    PickFn,
    Seat,
    Timings,
    plan_member,
    simulate_member,
)
from tools.loadtest_report import to_markdown

LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


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


# --------------------------------------------------------------------------- the run


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

    host = make_url(url).host
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"the load test only runs against a local database, not host {host!r}")


def load_model(name: str, catalogue: Any) -> tuple[Any, str]:
    """The model for the picks, as the app gets it: saved under data/models/, else trained and
    saved (``engine.train.load_or_train``)."""
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
        store = Store(
            cfg.db_url or f"sqlite:///{Path(tmp) / 'load.db'}",
            movie_ids=catalogue.item_ids.tolist(),
        )
        evening = Evening() if cfg.vote else None
        seats = _seat_members(catalogue, cfg, _open_rooms(store, cfg.rooms, evening))
        out = Outcome()
        wall = _run_members(store, pick, cfg, seats, timings, out, evening)
        checks = verify(store, out)
        if evening is not None:
            checks |= verify_votes(store, evening)
        backend = store.backend
        store.dispose()
    return _figures(cfg, out, checks, timings, wall, backend, model_note)


def _open_rooms(store: Store, n: int, evening: Evening | None) -> list[str]:
    """``n`` hosted rooms' codes; the vote's ``evening`` learns each room's host token."""
    codes = []
    for r in range(n):
        hosted = store.tonight.create_hosted_room(f"Load room {r + 1}")
        codes.append(hosted.code)
        if evening is not None:
            evening.add_room(hosted.code, hosted.host_token)
    return codes


def _seat_members(catalogue: Any, cfg: LoadConfig, rooms: list[str]) -> list[Seat]:
    """The members, spread evenly over the rooms, each answering as a real MovieLens user
    did; the first member of each room is its host."""
    users = random.Random(cfg.seed).sample(range(catalogue.n_users), cfg.members)
    seats = []
    for i, user in enumerate(users):
        rng = random.Random(cfg.seed * 1000 + i)
        plan = plan_member(catalogue, user, cfg.ratings, cfg.unseen, rng)
        name = f"member {i + 1} <{user}>"
        seats.append(Seat(rooms[i % cfg.rooms], name, plan, i < cfg.rooms, cfg.seed * 1000 + i))
    return seats


def _run_members(
    store: Store,
    pick: PickFn,
    cfg: LoadConfig,
    seats: list[Seat],
    timings: Timings,
    out: Outcome,
    evening: Evening | None,
) -> float:
    """Every member in a thread of their own, let go at once; the wall-clock seconds it took."""
    threads = cfg.threads or len(seats)
    start = threading.Barrier(min(threads, len(seats)))
    started = time.perf_counter()
    deadline = time.monotonic() + cfg.time_limit
    crowd = Crowd(
        store, pick, cfg.picks, cfg.k, cfg.time_limit, deadline, timings, out, start, evening
    )
    with ThreadPoolExecutor(threads, thread_name_prefix="member") as pool:
        futures = [pool.submit(simulate_member, crowd, seat) for seat in seats]
        for f in futures:
            f.result(timeout=cfg.time_limit + 120)
    return time.perf_counter() - started


def _figures(
    cfg: LoadConfig,
    out: Outcome,
    checks: dict[str, int],
    timings: Timings,
    wall: float,
    backend: str,
    model_note: str,
) -> dict[str, Any]:
    """The run's figures as ``loadtest.json`` keeps them; ``ok`` is the pass mark."""
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
        "latency": timings.summary(),
        "ok": not out.errors and not any(checks.values()) and out.stopped_early == 0,
    }


def _torch_version() -> str:
    return f"{torch.__version__}, {torch.get_num_threads()} threads"


def _hide_password(arg: str) -> str:
    """A database URL as it may be written into the figures: without its password."""
    if "://" not in arg:
        return arg

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
        a.out = data_dir()
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "loadtest.json").write_text(json.dumps(result, indent=2))
    md = to_markdown(result) + f"\nCommand: `{result['command'].strip()}`\n"
    (a.out / "loadtest.md").write_text(md)
    print(json.dumps(result, indent=2) if a.json else md)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
