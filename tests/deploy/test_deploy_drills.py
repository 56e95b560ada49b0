"""Failure drills on the running deployment, each checked against what the members did.

- a replica SIGKILLed: HAProxy marks it down and a member whose cookie names it is served by
  another replica (the browser drill, ``test_deploy_browser.py``, shows the page carrying on);
- PostgreSQL restarted while members rate and vote through the app's store: every failed write
  says "Reconnecting…", is done again, and the database ends with exactly what they did;
- the training worker SIGKILLed mid-training: the job is taken over and resumes from its
  checkpoint, while members' answers keep landing.

Run: ``.venv/bin/python -m pytest tests/deploy -m deploy``.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from drill_helpers import FILMS, Ledger, check_room, reconnecting_seen

from app.jobs import JobSpec, live_dir
from app.store import CHOICES, RATING_VALUES, Store
from engine.data import load_embedded
from engine.storage.artifacts import read_manifest
from tools.app_server import http_ok
from tools.deploy.haproxy import COOKIE

pytestmark = pytest.mark.deploy


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def get(url: str, cookie: str | None = None) -> tuple[int, str]:
    """Status and the replica cookie HAProxy set (empty when it kept the one sent)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, r.headers.get("Set-Cookie", "")


def test_a_killed_replica_leaves_the_pool_and_its_members_are_served_by_another(stack):
    status, cookie = get(stack.url)
    assert status == 200 and cookie.startswith(f"{COOKIE}=r")
    assert stack.proxy_states() == {"r1": "UP", "r2": "UP"}
    # Sticky: a member who has a replica's cookie stays on it (no new cookie is set).
    assert get(stack.url, f"{COOKIE}=r1") == (200, "")
    stack.kill_replica(0)
    wait_for(lambda: stack.proxy_states()["r1"] == "DOWN", 15, "HAProxy to mark r1 down")
    status, moved = get(stack.url, f"{COOKIE}=r1")  # a member of the dead replica comes back
    assert status == 200 and moved.startswith(f"{COOKIE}=r2")
    stack.restart_replica(0)
    wait_for(lambda: stack.proxy_states()["r1"] == "UP", 30, "r1 back in the pool")
    assert get(stack.url, f"{COOKIE}=r1") == (200, "")


def _evening(store: Store, ledger: Ledger, n_members: int, seed: int):
    """A room, its host's vote on three films, and members who each rate every film of FILMS
    in their own order and answer the vote; returns (room code, tokens, vote id, threads)."""
    hosted = ledger.write(lambda: store.tonight.create_hosted_room(f"drill {seed}"))
    vote = ledger.write(lambda: store.tonight.open_vote(hosted.code, hosted.host_token, FILMS[:3]))
    tokens = [ledger.write(lambda i=i: store.add_member(hosted.code, f"m{i}")).token
              for i in range(n_members)]  # fmt: skip

    def member(token: str, rng: random.Random) -> None:
        films = rng.sample(FILMS, len(FILMS))
        for n, film in enumerate(films):
            stars = rng.choice([*RATING_VALUES, None])
            ledger.write(lambda f=film, s=stars: store.set_rating(token, f, s))
            with ledger.lock:
                ledger.ratings[(token, film)] = stars
            if n % 7 == 3:  # now and then an answer on the vote, changed later
                for movie in vote.films:
                    choice = rng.choice(CHOICES)
                    ledger.write(
                        lambda m=movie, c=choice: store.tonight.cast_vote(token, vote.id, m, c)
                    )
                    with ledger.lock:
                        ledger.votes[(token, movie)] = choice
            time.sleep(rng.uniform(0.05, 0.2))

    threads = [
        threading.Thread(target=member, args=(t, random.Random(seed * 100 + i)))
        for i, t in enumerate(tokens)
    ]
    return hosted.code, tokens, vote.id, threads


def test_postgres_restarted_mid_evening_loses_nothing_acknowledged(stack):
    assert stack.cluster is not None
    store = Store(stack.db_url)  # the replicas' own store code, on the deployment's database
    ledger = Ledger()
    rooms = [_evening(store, ledger, 4, seed) for seed in (1, 2)]
    threads = [t for *_, ts in rooms for t in ts]
    for t in threads:
        t.start()
    time.sleep(1.0)
    before = ledger.acknowledged
    stack.cluster.restart(down_for=3.0)  # fast shutdown: open transactions are cut off
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads)
    assert before > 0 and ledger.asked_again > 0  # the restart did land mid-evening
    assert reconnecting_seen(ledger), ledger.messages
    for code, tokens, vote_id, _ in rooms:
        check_room(store, code, ledger, tokens, vote_id)
    assert all(http_ok(f"{stack.replica_url(i)}/_stcore/health") for i in range(2))
    store.dispose()


def _checkpoint_epoch(folder: Path) -> int:
    try:
        return int(json.loads((folder / "checkpoint.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def test_the_worker_killed_mid_training_is_taken_over_from_its_checkpoint(stack, monkeypatch):
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(stack.cfg.data_dir))
    catalogue = load_embedded(stack.cfg.data_dir / "datasets")
    store = Store(stack.db_url)
    spec = JobSpec.make("mf", catalogue, "serve", {"factors": 4, "epochs": 60})
    job = store.jobs.request(**spec.as_request())
    folder = live_dir(spec.dataset, "mf") / "checkpoint" / "full"
    wait_for(lambda: _checkpoint_epoch(folder) >= 3, 240, "three epochs checkpointed")
    stack.worker.kill()  # the worker and its training child, no goodbye
    killed_at = _checkpoint_epoch(folder)
    assert store.jobs.get(job.id).state == "running"  # still claimed by the dead worker
    # Members keep rating while nobody trains.
    ledger = Ledger()
    code, tokens, vote_id, threads = _evening(store, ledger, 2, seed=3)
    for t in threads:
        t.start()
    stack.worker.start()  # as the launcher does for a worker that exited
    done = wait_for(
        lambda: (j := store.jobs.get(job.id)).state not in ("queued", "running") and j,
        300,
        "the job to end after the take-over",
    )
    for t in threads:
        t.join(timeout=120)
    assert done.state == "done", done.error
    assert done.attempts == 2
    metrics = read_manifest(live_dir(spec.dataset, "mf"))["metrics"]
    assert metrics["resumed_from_epoch"] >= killed_at >= 3  # not from the first epoch
    check_room(store, code, ledger, tokens, vote_id)
    store.dispose()
