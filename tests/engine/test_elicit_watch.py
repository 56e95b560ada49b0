"""Strategies that ask what a member can answer: hand-computed examples of every formula, and a
fitted hybrid's P(seen) moved by the member's answers ("haven't seen it" included)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine import elicit
from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue as synthetic_catalogue
from engine.elicit import next_films, watch
from engine.elicit.personal import taps_until_personal
from engine.models import create
from engine.models.answers_fold_in import CardAnswers

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def frame_catalogue(rows: list[tuple[int, int, float]], n_items: int) -> Ratings:
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, synthetic_catalogue(n_items), name="watch-test")


def test_ridge_posterior_by_hand():
    # x = [v, 1]: [1, 1], [0, 1], [3, 1]; mean ‖x‖² = (2 + 1 + 10) / 3 = 13/3 → prior 13/3 · I
    vectors = np.array([[1.0], [0.0], [3.0]])
    _, variance = watch.ridge_posterior(vectors, np.array([], np.int64))
    assert np.allclose(variance, np.array([2.0, 1.0, 10.0]) * 3 / 13)
    # after film 2: precision [[40/3, 3], [3, 16/3]], det 559/9; x₂ᵀ P⁻¹ x₂ = 390/559
    _, variance = watch.ridge_posterior(vectors, np.array([2]))
    assert variance[2] == pytest.approx(390 / 559)


def test_seen_from_watch_by_hand():
    # 1 − (1 − p)^2
    assert np.allclose(watch.seen_from_watch(np.array([0.5, 0.1, 0.0]), 2.0), [0.75, 0.19, 0.0])


def test_watch_uncertainty_weighs_seen_against_variance_by_hand():
    vectors = np.array([[1.0], [0.0], [3.0]])
    none = np.array([], np.int64)
    # keys P(seen) × variance: 0.5·6/13, 0.9·3/13, 0.05·30/13 → 3.0, 2.7, 1.5 (/13): film 0
    assert watch.uncertainty_batch(vectors, none, np.array([0.5, 0.9, 0.05]), none, 1) == [0]
    # the rarely seen but very uncertain film wins once it is seen often enough: 0.2·30 = 6
    seen = np.array([0.5, 0.9, 0.2])
    batch = watch.uncertainty_batch(vectors, none, seen, none, 2)
    assert batch[0] == 2
    # the second pick is the best key after film 2 counts as answered with weight 0.2
    X = np.hstack([vectors, np.ones((3, 1))])
    precision = 13 / 3 * np.eye(2) + 0.2 * np.outer(X[2], X[2])
    variance = np.sum((X @ np.linalg.inv(precision)) * X, axis=1)
    key = seen * variance
    key[2] = -np.inf
    assert batch[1] == int(np.argmax(key))


def test_watch_entropy_by_hand():
    # 4 users. Film 0: 1★ and 5★ (1 bit); film 1: four 4★ (0 bits); film 2: 1, 5, 1, 5 (1 bit)
    rows = [(1, 1, 1.0), (2, 1, 5.0)] + [(u, 2, 4.0) for u in range(1, 5)]
    rows += [(u, 3, 1.0 if u % 2 else 5.0) for u in range(1, 5)]
    cat = frame_catalogue(rows, 3)
    seen = np.array([0.5, 1.0, 0.25])
    # log(1 + 4·P(seen)) × entropy: ln 3, 0, ln 2
    assert np.allclose(watch.watch_entropy_key(cat, seen), [np.log(3), 0.0, np.log(2)])
    # Rashid et al.'s Pop*Ent (the ``entropy`` strategy): log(1 + count) × entropy
    assert np.allclose(np.log1p(cat.stats.counts) * cat.stats.entropy, [np.log(3), 0, np.log(5)])
    assert next_films(None, cat, {}, set(), 3, "entropy") == [2, 0, 1]


def clusters_watch(n_users=200, n_items=80, per_user=12, seed=0) -> Ratings:
    """Users of cluster c (user index mod 4) watch films of cluster c (film index mod 4) only."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        chosen = rng.choice(np.arange(u % 4, n_items, 4), size=per_user, replace=False)
        stars = rng.choice([2.0, 3.0, 4.0, 5.0], size=per_user)
        rows += [(u + 1, int(i) + 1, float(s)) for i, s in zip(chosen, stars, strict=True)]
    return frame_catalogue(rows, n_items)


@pytest.fixture(scope="module")
def hybrid():
    data = clusters_watch()
    model = create(
        "hybrid",
        implicit="als",
        implicit_params={"factors": 4, "epochs": 5, "regularization": 5.0},
        explicit_params={"factors": 2, "epochs": 5},
        temperature=1.0,
        beta=1.0,
        beta_k=2.0,
    ).fit(data)
    return data, model


def test_a_havent_seen_answer_lowers_that_films_watch_chance_not_the_stars(hybrid):
    _, model = hybrid
    items, values = np.array([0, 4]), np.array([4.0, 5.0], np.float32)
    plain = model.fold_in_answers(CardAnswers(items, values))
    told = model.fold_in_answers(CardAnswers(items, values, unseen=np.array([8])))
    ratio = (model.watch_probability(told) / model.watch_probability(plain)).numpy()
    own, other = np.arange(0, 80, 4), np.arange(1, 80, 4)
    # that film falls, and with it its cluster (one direction of the factors), against others
    assert ratio[8] < 1.0 and ratio[own].max() < ratio[other].min()
    # the explicit part (the stars) sees the ratings alone
    assert torch.equal(model.expected_stars(told), model.expected_stars(plain))


def test_member_seen_uses_the_models_watch_probability(hybrid):
    data, model = hybrid
    # users of cluster 0 watch films 0, 4, 8, …: after two of them, the rest of that cluster's
    # films are far likelier seen than another cluster's
    seen = watch.member_seen(model, data, np.array([0, 4]), np.array([4.0, 4.0]), np.array([1]))
    own = np.arange(8, 80, 4)
    other = np.arange(1, 80, 4)
    assert seen[own].min() > seen[other].max()
    assert np.all((seen >= 0) & (seen <= 1))
    picks = next_films(model, data, {0: 4.0, 4: 4.0}, {1}, 5, "watch-uncertainty")
    assert sum(p % 4 == 0 for p in picks) >= 4


def test_member_seen_without_watch_probability_is_co_occurrence():
    rows = [(u, 1, 4.0) for u in range(1, 7)] + [(u, 2, 4.0) for u in range(1, 7)]
    rows += [(u, 3, 4.0) for u in range(7, 13)]
    cat = frame_catalogue(rows, 3)
    got = watch.member_seen(None, cat, np.array([0]), np.array([4.0]), np.array([], np.int64))
    assert np.allclose(got, elicit.seen_probability(cat, np.array([0])))
    assert got[1] > got[2]


def test_taps_until_personal_by_hand():
    # nothing answered yet: 3 ratings at the measured rate 0.5 → 6 taps
    assert taps_until_personal(0, 0, needed=3, rate=0.5, prior_taps=4.0).taps_left == 6
    # 1 rated, 5 skipped: rate (1 + 2) / (6 + 4) = 0.3; 2 left → ⌈6.67⌉ = 7 taps
    got = taps_until_personal(1, 5, needed=3, rate=0.5, prior_taps=4.0)
    assert (got.ratings_left, got.taps_left, got.personal) == (2, 7, False)
    # 2 rated, none skipped: rate (2 + 2) / (2 + 4) = 2/3; 1 left → ⌈1.5⌉ = 2 taps
    assert taps_until_personal(2, 0, needed=3, rate=0.5, prior_taps=4.0).taps_left == 2
    done = taps_until_personal(4, 9, needed=3)
    assert (done.ratings_left, done.taps_left, done.personal) == (0, 0, True)
    with pytest.raises(ValueError, match="rated"):
        taps_until_personal(-1, 0)


def test_member_seen_is_the_models_own_watch_probability_after_the_answers(hybrid):
    data, model = hybrid
    items, values, skipped = np.array([0, 4]), np.array([4.0, 3.0]), np.array([1, 8])
    state = model.fold_in_answers(CardAnswers(items, values, unseen=skipped))
    expected = watch.seen_from_watch(
        model.watch_probability(state).double().numpy(), data.median_history
    )
    got = watch.member_seen(model, data, items, values, skipped)
    assert np.allclose(got, expected, atol=1e-6)
