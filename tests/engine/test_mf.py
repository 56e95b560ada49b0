"""Explicit MF: learns planted structure, folds in consistently, stays in range."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.splits import split_e
from engine.models import create
from engine.models.mf import HIGH, LOW

SMALL = dict(
    factors=8, epochs=150, lr=0.05, regularization=0.02, bias_regularization=0.002, decay_power=1.0
)


@pytest.fixture(scope="module")
def planted_fit(planted):
    train, test = split_e(planted.ratings)
    model = create("mf", **SMALL).fit(train)
    return model, train, test


def test_recovers_planted_low_rank_matrix(planted_fit, planted):
    model, train, test = planted_fit
    rmse = np.sqrt(np.mean((model.predict(test.users, test.items) - test.values) ** 2))
    baseline = create("baseline").fit(train)
    base_rmse = np.sqrt(np.mean((baseline.predict(test.users, test.items) - test.values) ** 2))
    # noise is 0.25: a model that learned the rank-3 structure gets close to it; biases alone cannot
    assert rmse < 0.36
    assert rmse < 0.6 * base_rmse


def test_predictions_stay_inside_sigmoid_range(planted_fit):
    model, _, _ = planted_fit
    scores = model.score_users(np.arange(model.n_users))
    assert scores.min() > LOW and scores.max() < HIGH


def test_fold_in_with_no_ratings_gives_the_item_prior(planted_fit):
    model, _, _ = planted_fit
    state = model.fold_in([], [])
    scores = model.score(state).numpy()
    # with no user signal the ranking is the item-bias ranking
    assert np.array_equal(np.argsort(-scores), np.argsort(-model.item_bias()))


def test_fold_in_moves_towards_what_the_person_said(planted_fit, planted):
    model, _, _ = planted_fit
    truth = planted.truth[5]
    liked, disliked = np.argsort(-truth)[:10], np.argsort(truth)[:10]
    items = np.concatenate([liked, disliked])
    values = np.concatenate([np.full(10, 5.0), np.full(10, 1.0)])
    scores = model.score(model.fold_in(items, values)).numpy()
    # the unrated films the planted truth ranks highest for this taste get predicted higher
    corr = np.corrcoef(scores, truth)[0, 1]
    assert corr > 0.6


def test_minibatch_training_also_learns(planted):
    train, test = split_e(planted.ratings)
    model = create("mf", **{**SMALL, "epochs": 30, "batch_size": 2048, "lr": 0.02}).fit(train)
    rmse = np.sqrt(np.mean((model.predict(test.users, test.items) - test.values) ** 2))
    assert rmse < 0.45
