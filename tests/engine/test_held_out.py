"""The held-out score a retrain is judged by, and swapping a saved model under readers.

``HeldOut.worse_than`` on hand-computed cases; ``train_model(evaluate=True)`` records protocol
E's RMSE for an explicit model and protocol R's NDCG@10 for an implicit one, equal to scoring
the same fit by hand; ``promote`` replaces a saved model while other threads load it, and no
reader ever gets a model mixed from two versions.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch

from engine.data.splits import split_e, split_r
from engine.evaluate.protocols import evaluate_r
from engine.models import create
from engine.storage.artifacts import (
    ArtifactCorrupt,
    ArtifactMissing,
    load_model,
    promote,
    save_model,
)
from engine.train import HeldOut, held_out_score, train_model


def test_worse_than_is_relative_to_the_live_score():
    live_rmse = HeldOut("RMSE", 0.80, False, "E")
    assert HeldOut("RMSE", 0.84, False, "E").worse_than(live_rmse) == pytest.approx(0.05)
    assert HeldOut("RMSE", 0.76, False, "E").worse_than(live_rmse) == pytest.approx(-0.05)
    live_ndcg = HeldOut("NDCG@10", 0.20, True, "R")
    assert HeldOut("NDCG@10", 0.19, True, "R").worse_than(live_ndcg) == pytest.approx(0.05)
    assert HeldOut("NDCG@10", 0.22, True, "R").worse_than(live_ndcg) == pytest.approx(-0.10)
    assert HeldOut("RMSE", math.nan, False, "E").worse_than(live_rmse) == math.inf
    with pytest.raises(ValueError, match="cannot compare"):
        HeldOut("RMSE", 0.8, False, "E").worse_than(live_ndcg)
    assert HeldOut.from_metrics({"held_out": live_rmse.to_dict()}) == live_rmse
    assert HeldOut.from_metrics({"rmse": 0.9}) is None


def test_explicit_models_are_scored_by_protocol_e_rmse(planted, tmp_path):
    data = planted.ratings
    params = {"factors": 3, "epochs": 10, "lr": 0.05}
    _, metrics = train_model("mf", data, params=params, evaluate=True, folder=tmp_path / "mf")
    train, test = split_e(data)
    by_hand = create("mf", device="cpu", **params).fit(train)
    rmse = float(np.sqrt(np.mean((by_hand.predict(test.users, test.items) - test.values) ** 2)))
    assert metrics["held_out"] == {
        "metric": "RMSE",
        "value": pytest.approx(rmse, rel=1e-6),
        "higher_is_better": False,
        "protocol": "E",
    }
    assert metrics["protocol_e"]["n_test"] == len(test)


def test_implicit_models_are_scored_by_protocol_r_ndcg(planted):
    data = planted.ratings
    params = {"factors": 3, "epochs": 3}
    score, figures = held_out_score("als", data, params)
    train, test = split_r(data)
    by_hand = evaluate_r(create("als", device="cpu", **params).fit(train), train, test, k=10)
    assert score == HeldOut("NDCG@10", pytest.approx(by_hand["ndcg"]), True, "R")
    assert 0.0 < score.value <= 1.0 and figures["n_users"] == by_hand["n_users"]


def test_a_promoted_model_is_never_seen_half_swapped(planted, tmp_path):
    """Readers load while a writer swaps two versions in and out: every load is one version
    whole (its scores equal that version's), and a read caught mid-swap fails clearly."""
    data = planted.ratings
    versions = [
        create("mf", device="cpu", factors=3, epochs=e, lr=0.05, seed=e).fit(data) for e in (2, 9)
    ]
    expected = [v.score_users(np.arange(4)) for v in versions]
    live = tmp_path / "live"
    save_model(versions[0], live, dataset=data)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                model = load_model(live, dataset=data)
            except (ArtifactMissing, ArtifactCorrupt):
                continue  # a swap under way: the app's loader simply tries again
            except BaseException as exc:  # anything else is a bug
                errors.append(exc)
                return
            scores = model.score_users(np.arange(4))
            matches = [i for i, e in enumerate(expected) if torch.equal(scores, e)]
            if len(matches) != 1:
                errors.append(AssertionError("a model that is neither version"))
                return
            seen.append(matches[0])

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for swap in range(20):
        candidate = tmp_path / f"candidate-{swap}"
        save_model(versions[(swap + 1) % 2], candidate, dataset=data)
        promote(candidate, live)
        assert not candidate.exists()
    stop.set()
    for r in readers:
        r.join(timeout=60)
    assert not errors, errors
    assert set(seen) == {0, 1}  # both versions were really served during the test
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_two_swaps_of_one_model_at_once_both_succeed_and_one_wins(planted, tmp_path):
    data = planted.ratings
    versions = [
        create("mf", device="cpu", factors=3, epochs=e, lr=0.05, seed=e).fit(data) for e in (2, 9)
    ]
    live = tmp_path / "live"
    save_model(versions[0], live, dataset=data)
    for round_ in range(10):
        candidates = [tmp_path / f"c{round_}-{i}" for i in range(2)]
        for version, candidate in zip(versions, candidates, strict=True):
            save_model(version, candidate, dataset=data)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def swap(candidate, barrier=barrier, errors=errors):
            barrier.wait(timeout=30)
            try:
                promote(candidate, live)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=swap, args=(c,)) for c in candidates]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        loaded = load_model(live, dataset=data)
        assert loaded.config.epochs in (2, 9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]
