"""Bayesian PMF (Gibbs): learns planted structure, fold-in per draw, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.splits import split_e
from engine.data.synthetic import planted_explicit
from engine.evaluate.protocols import evaluate_e
from engine.models import create

FAST = {"factors": 3, "init_epochs": 4, "burnin": 5, "samples": 10}


@pytest.fixture(scope="module")
def small():
    return planted_explicit(n_users=120, n_items=80, rank=3, density=0.3, noise=0.25, seed=4)


def test_learns_planted_structure_and_its_noise(small):
    train, test = split_e(small.ratings)
    model = create("bpmf", **FAST).fit(train)
    ours = evaluate_e(model, test)["rmse"]
    base = evaluate_e(create("baseline").fit(train), test)["rmse"]
    assert ours < 0.4 < 0.6 < base, (ours, base)
    assert 0.18 < model.info["noise_std"] < 0.35
    assert model.info["draws"] == FAST["samples"]


def test_predictions_average_the_draws(small):
    model = create("bpmf", **FAST).fit(small.ratings)
    users, items = np.array([0, 5, 9]), np.array([3, 4, 70])
    U, V = model._Us[:, users], model._Vs[:, items]
    per_draw = float(model._mu) + U[..., -1] + V[..., -1] + (U[..., :-1] * V[..., :-1]).sum(-1)
    expected = per_draw.clamp(0.5, 5.0).mean(0).numpy()
    np.testing.assert_allclose(model.predict(users, items), expected, rtol=1e-5)
    np.testing.assert_allclose(model.score_users(users)[np.arange(3), items], expected, rtol=1e-5)
