"""Choosing a default by its worst case over datasets: the reusable function, the
fold-in search built on it, and mf's fold-in regularisation knob."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.data.synthetic import planted_explicit
from engine.data.synthetic_movielens import synthetic_movielens
from engine.models import create
from engine.tuning.foldin import evaluate_setting, prepare_draws, search
from engine.tuning.generalise import describe, worst_case


def fake_datasets():
    a = synthetic_movielens(seed=1, n_users=30, n_items=100, n_ratings=900)
    b = synthetic_movielens(seed=2, n_users=30, n_items=100, n_ratings=900)
    return {"a": a, "b": b}


# objective per (dataset, setting x): "steady" never wins a dataset but is never bad
SCORES = {
    ("a", 1): 0.9, ("b", 1): 0.2,  # best on a, worst case 0.2
    ("a", 2): 0.6, ("b", 2): 0.6,  # worst case 0.6: the choice
    ("a", 3): 0.3, ("b", 3): 0.8,  # best on b, worst case 0.3
}  # fmt: skip


def test_worst_case_picks_the_best_worst_case_by_hand():
    datasets = fake_datasets()
    prepared = []

    def prepare(ratings):
        prepared.append(ratings.name)
        return next(k for k, v in datasets.items() if v is ratings)

    def evaluate(name, setting):
        return {"score": SCORES[(name, setting["x"])], "other": 1.0}

    result = worst_case(
        evaluate, [{"x": 1}, {"x": 2}, {"x": 3}], datasets, "score", prepare=prepare
    )
    assert result.best == {"x": 2}
    assert len(prepared) == 2  # once per dataset, not per setting
    summary = result.summary.set_index("setting")
    assert summary.loc["x=1", "worst"] == 0.2 and summary.loc["x=3", "worst"] == 0.3
    assert list(summary.index) == ["x=2", "x=3", "x=1"]  # best worst case first
    assert set(result.table.columns) >= {"setting", "dataset", "score", "other"}
    assert len(result.table) == 6
    assert "best worst case: x=2" in result.text()


def test_lower_is_better_and_ties_keep_the_earlier_setting():
    datasets = fake_datasets()

    def evaluate(ratings, setting):
        return {"rmse": {1: 0.9, 2: 0.9, 3: 1.2}[setting["x"]]}

    result = worst_case(
        evaluate, [{"x": 1}, {"x": 2}, {"x": 3}], datasets, "rmse", higher_is_better=False
    )
    assert result.best == {"x": 1}  # x=2 ties: the first listed (the current default) stays


def test_a_setting_with_a_missing_figure_is_never_chosen():
    datasets = fake_datasets()

    def evaluate(ratings, setting):
        nan_on_a = setting["x"] == 1 and ratings is datasets["a"]
        return {"score": float("nan") if nan_on_a else {1: 0.9, 2: 0.5}[setting["x"]]}

    result = worst_case(evaluate, [{"x": 1}, {"x": 2}], datasets, "score")
    assert result.best == {"x": 2}  # x=1 looks better on b, but its worst case is unknown


def test_bad_input_is_named():
    datasets = fake_datasets()
    with pytest.raises(KeyError, match="'score'"):
        worst_case(lambda r, s: {"other": 1.0}, [{"x": 1}], datasets, "score")
    with pytest.raises(ValueError, match="settings"):
        worst_case(lambda r, s: {"score": 1.0}, [], datasets, "score")
    assert describe({}) == "defaults" and describe({"a": 1, "b": "c"}) == "a=1, b=c"


def test_mf_foldin_reg_scale_shrinks_a_new_member_towards_the_mean():
    """Scale 1 solves the training objective for one user (a trained user's own ratings give back
    their trained vector); a larger scale shrinks vector and bias towards zero."""
    data = planted_explicit(n_users=60, n_items=50, rank=2, density=0.5, noise=0.2, seed=3)
    model = create("mf", factors=4, epochs=300, lr=0.05)
    model.fit(data.ratings)
    items, values = data.ratings.user_items(0)
    trained = model.user_state(0)
    assert trained.vector is not None
    norms = []
    for scale in (1.0, 4.0, 1e6):
        model.config = dataclasses.replace(model.config, foldin_reg_scale=scale)
        state = model.fold_in(items, values)
        assert state.vector is not None
        norms.append(float(state.vector.norm()) + abs(state.bias))
        if scale == 1.0:
            assert torch.allclose(state.vector, trained.vector, atol=2e-2)
    assert norms[0] > norms[1] > norms[2] and norms[2] < 1e-3


def test_foldin_search_runs_restores_the_model_and_reports_both_datasets():
    datasets = {
        "one": synthetic_movielens(seed=1, n_users=120, n_items=300, n_ratings=6_000),
        "two": synthetic_movielens(seed=2, n_users=120, n_items=300, n_ratings=6_000),
    }
    settings = [
        {"foldin_reg_scale": 1.0, "foldin_steps": 8},
        {"foldin_reg_scale": 1e4, "foldin_steps": 8},  # a member reduced to the average
    ]
    result = search("mf", settings, datasets, draws=(11,), ks=(20,))
    summary = result.summary.set_index("setting")
    assert set(summary.columns) == {"one", "two", "worst"}
    table = result.table.set_index(["setting", "dataset"])
    for name in datasets:
        plain = table.loc[(describe(settings[0]), name)]
        flat = table.loc[(describe(settings[1]), name)]
        # scale 1 folds in what a retrain learns; the flattened member predicts worse stars
        assert plain["rmse k=20"] < flat["rmse k=20"]
        assert 0.9 < plain["worst rmse ratio"] <= 1.1
    assert result.best == settings[0]
    draws = prepare_draws("mf", datasets["one"], draws=(11,), ks=(5,))
    before = draws[0].model.config

    evaluate_setting(draws, settings[1])
    assert draws[0].model.config is before  # the fitted model's own settings are restored
    assert np.isfinite(evaluate_setting(draws, settings[0])["margin"])
