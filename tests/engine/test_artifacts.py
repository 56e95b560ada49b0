"""Saved models: exact round trip, and every kind of damage caught as a specific error."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest
import torch

from engine.data.synthetic import planted_explicit
from engine.models import create
from engine.storage.artifacts import (
    MANIFEST,
    TENSORS,
    ArtifactCorrupt,
    ArtifactMismatch,
    ArtifactMissing,
    load_model,
    read_manifest,
    save_model,
)
from engine.train import load_or_train, model_dir


@pytest.fixture(scope="module")
def fitted(planted):
    return create("mf", factors=4, epochs=20, lr=0.05).fit(planted.ratings)


@pytest.fixture
def saved(fitted, planted, tmp_path):
    return save_model(fitted, tmp_path / "mf", dataset=planted.ratings, metrics={"rmse": 0.5})


def test_round_trip_gives_identical_scores_and_manifest(fitted, planted, saved):
    loaded = load_model(saved, dataset=planted.ratings)
    assert type(loaded) is type(fitted)
    assert torch.equal(loaded.score_users(np.arange(5)), fitted.score_users(np.arange(5)))
    state = fitted.fold_in([1, 2, 3], [5.0, 1.0, 3.0])
    assert torch.allclose(
        loaded.score(loaded.fold_in([1, 2, 3], [5.0, 1.0, 3.0])), fitted.score(state)
    )
    manifest = read_manifest(saved)
    assert manifest["model"] == "mf"
    assert manifest["hyperparameters"]["factors"] == 4
    assert manifest["dataset"]["fingerprint"] == planted.ratings.fingerprint
    assert manifest["metrics"] == {"rmse": 0.5}
    assert "torch" in manifest["versions"]


def test_missing_folder(tmp_path):
    with pytest.raises(ArtifactMissing):
        load_model(tmp_path / "nothing-here")


def test_truncated_tensor_file_is_corrupt(saved):
    data = (saved / TENSORS).read_bytes()
    (saved / TENSORS).write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactCorrupt, match="checksum"):
        load_model(saved)


def test_one_flipped_byte_is_corrupt(saved):
    data = bytearray((saved / TENSORS).read_bytes())
    data[-3] ^= 0xFF
    (saved / TENSORS).write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupt):
        load_model(saved)


def test_garbage_manifest_is_corrupt(saved):
    (saved / MANIFEST).write_bytes(b"\x00\xff not json")
    with pytest.raises(ArtifactCorrupt):
        load_model(saved)


def test_manifest_naming_an_unknown_model_is_corrupt(saved):
    manifest = json.loads((saved / MANIFEST).read_text())
    manifest["model"] = "no-such-model"
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactCorrupt, match="no-such-model"):
        load_model(saved)


def test_model_from_another_dataset_is_a_mismatch(saved):
    other = planted_explicit(seed=99).ratings
    with pytest.raises(ArtifactMismatch, match="trained on dataset"):
        load_model(saved, dataset=other)


def test_load_or_train_retrains_a_damaged_model_with_a_message(planted, monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(tmp_path))
    _, first = load_or_train("baseline", planted.ratings)
    assert "no saved baseline model" in first
    _, second = load_or_train("baseline", planted.ratings)
    assert second.startswith("loaded")
    (model_dir(planted.ratings, "baseline") / TENSORS).write_bytes(b"junk")
    model, third = load_or_train("baseline", planted.ratings)
    assert "could not be used" in third and "checksum" in third
    assert model.fitted
    _, fourth = load_or_train("baseline", planted.ratings)
    assert fourth.startswith("loaded")


def test_no_unsafe_deserialisation_in_the_code():
    """Nothing is unpickled and torch.load is always weights_only=True."""
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for path in [
        *root.glob("engine/**/*.py"),
        *root.glob("app/**/*.py"),
        root / "streamlit_app.py",
    ]:
        if not path.exists():
            continue
        text = path.read_text()
        if re.search(
            r"\bimport pickle\b|\bpickle\.loads?\(|\bjoblib\.load\(|allow_pickle\s*=\s*True", text
        ):
            offenders.append(str(path))
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            if "weights_only=True" not in call:
                offenders.append(f"{path}: {call}")
    assert offenders == []
