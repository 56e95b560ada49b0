"""Members rating in the same room at the same moment lose nothing (SQLite with WAL).

Threads share one Store (like Streamlit sessions in one server process); processes each open
their own (like several app servers on one database file). A barrier releases them together.
The helpers here are reused by tests/app/test_store_postgres.py with a PostgreSQL URL.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.store import RATING_VALUES, DatabaseLocked, NameTaken, Store

N_FILMS = 20


def rate_films(
    store: Store, room_code: str, name: str, barrier, seed: int, n_films: int = N_FILMS
) -> tuple[str, dict[int, float | None]]:
    """Join the room as ``name`` and answer ``n_films`` films twice each (the second wins)."""
    barrier.wait(timeout=120)
    member = store.add_member(room_code, name)
    rng = random.Random(seed)
    expected: dict[int, float | None] = {}
    for movie in rng.sample(range(1, 1000), n_films):
        store.set_rating(member.token, movie, rng.choice(RATING_VALUES))
        final = rng.choice((*RATING_VALUES, None))
        store.set_rating(member.token, movie, final)
        expected[movie] = final
    return name, expected


def _process_worker(url: str, room_code: str, name: str, barrier, seed: int, results) -> None:
    """Runs in a spawned process: its own Store, its own connections."""
    try:
        store = Store(url)
        results.put(("ok", *rate_films(store, room_code, name, barrier, seed)))
        store.dispose()
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        results.put(("error", name, f"{type(exc).__name__}: {exc}"))


def run_threads(store: Store, room_code: str, n: int, prefix: str = "t") -> dict[str, dict]:
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(n) as pool:
        futures = [
            pool.submit(rate_films, store, room_code, f"{prefix}{i}", barrier, seed=i)
            for i in range(n)
        ]
        return dict(f.result(timeout=120) for f in futures)


def run_processes(url: str, room_code: str, n: int, prefix: str = "p") -> dict[str, dict]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_process_worker,
            args=(url, room_code, f"{prefix}{i}", barrier, 100 + i, results),
        )
        for i in range(n)
    ]
    for p in procs:
        p.start()
    out, errors = {}, []
    try:
        for _ in procs:
            status, name, payload = results.get(
                timeout=600
            )  # a hang guard: spawn is slow on a loaded machine
            if status == "ok":
                out[name] = payload
            else:
                errors.append(f"{name}: {payload}")
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert not errors, errors
    return out


def assert_converged(store: Store, room_code: str, expected: dict[str, dict]) -> None:
    """The host's view holds every member's final answers, nothing more, nothing less."""
    frame = store.room_answers(room_code)
    assert len(frame) == sum(len(e) for e in expected.values())
    for name, answers in expected.items():
        rows = frame[frame["member"] == name]
        got = {
            int(m): (None if r != r else float(r))
            for m, r in zip(rows["movie_id"], rows["rating"], strict=True)
        }
        assert got == answers, name
    counts = {name: c.rated for name, c in store.answer_counts(room_code).items()}
    assert counts == {
        name: sum(v is not None for v in answers.values()) for name, answers in expected.items()
    }


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'movienight.db'}"


def test_threads_rating_at_once_lose_nothing(url):
    store = Store(url)
    room = store.create_room("threads")
    expected = run_threads(store, room.code, n=8)
    assert len(expected) == 8
    assert_converged(store, room.code, expected)
    store.dispose()


def test_processes_and_threads_rating_at_once_lose_nothing(url):
    store = Store(url)
    room = store.create_room("processes")
    result: dict[str, dict] = {}
    worker = threading.Thread(target=lambda: result.update(run_threads(store, room.code, n=4)))
    worker.start()
    result_p = run_processes(url, room.code, n=3)
    worker.join(timeout=180)
    assert not worker.is_alive()
    assert len(result) == 4 and len(result_p) == 3
    assert_converged(store, room.code, {**result, **result_p})
    store.dispose()


def test_host_view_only_grows_while_members_write(url):
    store = Store(url)
    room = store.create_room("live")
    seen: list[int] = []
    stop = threading.Event()

    def host() -> None:
        while not stop.is_set():
            seen.append(len(store.room_answers(room.code)))
            time.sleep(0.005)

    poller = threading.Thread(target=host)
    poller.start()
    try:
        expected = run_threads(store, room.code, n=4)
    finally:
        stop.set()
        poller.join(timeout=30)
    assert seen == sorted(seen)  # no half-written or vanished answers seen by the host
    assert len(seen) > 1
    assert_converged(store, room.code, expected)


def test_same_name_joining_at_once_gets_exactly_one_member(url):
    store = Store(url)
    room = store.create_room("race")
    barrier = threading.Barrier(6)

    def join(i: int) -> str:
        barrier.wait(timeout=60)
        try:
            store.add_member(room.code, "Sam" if i % 2 else "SAM")
            return "joined"
        except NameTaken:
            return "taken"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(join, range(6)))
    assert outcomes.count("joined") == 1 and outcomes.count("taken") == 5
    assert len(store.members(room.code)) == 1


def test_two_tabs_of_one_member_keep_exactly_one_answer_per_film(url):
    store = Store(url)
    room = store.create_room("tabs")
    token = store.add_member(room.code, "Ann").token
    barrier = threading.Barrier(4)
    written: list[float] = []

    def tab(i: int) -> None:
        barrier.wait(timeout=60)
        for j in range(25):
            value = RATING_VALUES[(i + j) % len(RATING_VALUES)]
            store.set_rating(token, 42, value)
            written.append(value)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(tab, range(4)))
    answers = store.answers(token)
    assert list(answers) == [42]
    assert answers[42] in written
    assert len(store.room_answers(room.code)) == 1


def test_writers_queued_in_one_process_give_up_after_the_busy_timeout(url):
    """A writer stuck behind another program's lock does not make the others wait forever."""
    setup = Store(url)
    room = setup.create_room("locked")
    tokens = [setup.add_member(room.code, f"m{i}").token for i in range(3)]
    setup.dispose()
    store = Store(url, busy_timeout=0.3)
    blocker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(store.set_rating, t, 1, 4.0) for t in tokens]
            errors = [type(f.exception(timeout=30)) for f in futures]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert errors == [DatabaseLocked] * 3
    assert time.perf_counter() - t0 < 10
    store.set_rating(tokens[0], 1, 4.0)  # and it works again once the lock is gone
    assert store.answers(tokens[0]) == {1: 4.0}
