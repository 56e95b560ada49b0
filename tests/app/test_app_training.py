"""AppTest: a model that is not trained yet, as guests meet it. Its training is a server job
that pages only watch: a plain progress bar (no jargon, no server paths), rating goes on
meanwhile, and clicking elsewhere, coming back or opening another session never restarts it."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from app_helpers import (
    PAGES,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    open_app,
    picks_frame,
    queue_films,
    seed_room,
)

from app.services import lab
from app.services.deck import SPARE_CARDS
from app.services.store import get_store

pytestmark = pytest.mark.usefixtures("app_env")
JARGON = re.compile(r"sweep|epoch|τ|calibrat|fingerprint|checksum|sha256|/tmp|data/models", re.I)


@pytest.fixture
def untrained(app_env, tmp_path, monkeypatch):  # noqa: F811  (after app_env)
    """A data dir with the films but no trained model, and a database with no jobs yet:
    ``app_env`` trains the fast model through a job in its database when it is the session's
    first test, and that job must not count among the ones a test here watches."""
    shared = Path(os.environ["MOVIENIGHT_DATA_DIR"]) / "datasets"
    own = tmp_path / "data"
    if shared.is_dir():
        shutil.copytree(shared, own / "datasets")
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(own))
    monkeypatch.setenv("MOVIENIGHT_DB_URL", f"sqlite:///{tmp_path / 'untrained.db'}")
    return own


def progress_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def page_text(at) -> str:
    return all_messages(at) + "\n" + "\n".join(progress_texts(at))


def only_job():
    jobs = get_store().jobs.jobs()
    assert len(jobs) == 1, [(j.model, j.purpose, j.state) for j in jobs]
    return jobs[0]


def wait_until(check, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.usefixtures("untrained")
def test_picks_show_plain_progress_then_the_picks_once_the_job_is_done():
    code, _ = seed_room("First night", {"Ann": {260: 5.0, 318: 3.0}})
    at = open_app(room=code, page="picks")
    (text,) = progress_texts(at)
    assert re.fullmatch(r"Getting the film model ready — (\d+ %|starting soon)", text)
    assert not JARGON.search(page_text(at)) and not at.toast
    assert not [df for df in at.dataframe if "Group score" in df.value.columns]
    job = only_job()
    assert (job.model, job.purpose) == ("baseline", "serve")
    wait_until(lambda: get_store().jobs.get(job.id).state == "done")
    at.run()  # what the page's polling fragment does once the job is done
    assert_ok(at)
    assert not progress_texts(at) and len(picks_frame(at)) == 10
    assert not JARGON.search(page_text(at)) and not at.toast


def test_clicking_elsewhere_or_another_session_never_restarts_the_training(untrained, monkeypatch):
    monkeypatch.setenv("MOVIENIGHT_DEFAULT_MODEL", "mf")  # ~20 s to train: time to click around
    code, tokens = seed_room("Busy night", {"Ann": {}, "Bob": {318: 5.0}})
    at = open_app(room=code, member=tokens["Ann"], page="picks")
    assert progress_texts(at)
    job = only_job()
    running = wait_until(lambda: (j := get_store().jobs.get(job.id)).done > 0 and j)
    try:
        # rating never waits: the cards come from the model-free prior while mf trains
        at.switch_page(PAGES["room"]).run()
        assert_ok(at)
        films = queue_films(at)
        assert len(films) == SPARE_CARDS + 1
        answer(at, films[0], "4.0")
        assert get_store().answers(tokens["Ann"]) == {films[0]: 4.0}  # saved at once
        at.switch_page(PAGES["explore"]).run()
        assert_ok(at)
        at.switch_page(PAGES["picks"]).run()
        assert_ok(at)
        other = open_app(room=code, member=tokens["Bob"], page="picks")
        assert progress_texts(other) and not JARGON.search(page_text(other))
        again = only_job()  # one job, never claimed twice, never started over
        assert (again.id, again.attempts, again.started_at) == (
            job.id,
            1,
            running.started_at,
        )
        assert again.done >= running.done
        assert again.state == "running"
    finally:
        lab.cancel_job(job.id)
        wait_until(lambda: not get_store().jobs.get(job.id).active, 120)
    assert get_store().jobs.get(job.id).state == "cancelled"
