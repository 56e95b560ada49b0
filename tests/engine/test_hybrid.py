"""Hybrid = calibrated P(watch) × E[rating]: beats both parts where each knows half the story."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.splits import split_r
from engine.data.synthetic import catalogue
from engine.evaluate.protocols import evaluate_r
from engine.models import create

IMPLICIT = {"regularization": 20.0, "min_count": 1}
EXPLICIT = {"factors": 2, "epochs": 10}


def watch_and_like(n_users=200, n_items=80, n_clusters=4, per_user=16, seed=0) -> Ratings:
    """People watch films of their own cluster only (what the implicit part can learn), and
    rate each film by its planted quality (what the explicit part can learn): the relevant films
    (rated >= 4) are the good films of one's own cluster, which needs both."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(1.5, 5.0, n_items)
    rows = []
    for u in range(n_users):
        pool = np.flatnonzero(np.arange(n_items) % n_clusters == u % n_clusters)
        chosen = rng.choice(pool, size=per_user, replace=False)
        stars = np.clip(np.round((quality[chosen] + rng.normal(0, 0.3, per_user)) * 2) / 2, 0.5, 5)
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": chosen + 1, "rating": stars}))
    return Ratings.from_frames(pd.concat(rows), catalogue(n_items), name=f"watch-like-{seed}")


@pytest.fixture(scope="module")
def data():
    return watch_and_like()


@pytest.fixture(scope="module")
def fitted(data):
    train, test = split_r(data)
    model = create(
        "hybrid", implicit="ease", implicit_params=IMPLICIT, explicit_params=EXPLICIT
    ).fit(train)
    return train, test, model


def test_beats_each_component_alone(fitted):
    train, test, model = fitted
    ours = evaluate_r(model, train, test)["ndcg"]
    implicit = evaluate_r(model.implicit, train, test)["ndcg"]
    explicit = evaluate_r(model.explicit, train, test)["ndcg"]
    assert ours > max(implicit, explicit) + 0.05, (ours, implicit, explicit)
    assert model.beta > 0  # validation chose to use the ratings


def test_beta_zero_is_the_implicit_ranking(data):
    model = create(
        "hybrid",
        implicit="ease",
        implicit_params=IMPLICIT,
        explicit_params=EXPLICIT,
        beta=0.0,
        temperature=1.0,
    ).fit(data)
    users = np.arange(0, 200, 11)
    ours, implicit = model.score_users(users), model.implicit.score_users(users)
    for a, b in zip(ours, implicit, strict=True):
        np.testing.assert_array_equal(
            np.argsort(-a.numpy(), kind="stable")[:20], np.argsort(-b.numpy(), kind="stable")[:20]
        )


def test_watch_probability_is_calibrated_distribution(fitted):
    _, _, model = fitted
    p = model.watch_probability(0)
    assert torch.isclose(p.sum(), torch.tensor(1.0), atol=1e-4)
    # most of the mass sits on the person's own cluster
    assert float(p[torch.arange(80) % 4 == 0].sum()) > 0.5


def test_needs_an_explicit_part_with_vectors():
    for explicit in ("knn", "baseline"):
        with pytest.raises(ValueError, match="explicit must be one of"):
            create("hybrid", explicit=explicit, beta=1.0, temperature=1.0)


def test_a_persons_vector_is_the_explicit_parts(fitted):
    """So the factor map (the explicit part's film vectors) can place the app's members."""
    train, _, model = fitted
    items, values = train.user_items(3)
    state = model.fold_in(items, values)
    own = model.explicit.fold_in(items, values)
    assert state.vector is not None and own.vector is not None
    torch.testing.assert_close(state.vector, own.vector)
    assert state.bias == own.bias
    np.testing.assert_array_equal(model.item_vectors(), model.explicit.item_vectors())


def test_expected_stars_are_the_explicit_parts_prediction(fitted):
    train, _, model = fitted
    user = 5
    lo, hi = train.csr().indptr[user], train.csr().indptr[user + 1]
    items, values = train.csr().indices[lo:hi], train.csr().data[lo:hi]
    state = model.fold_in(items, values)
    stars = model.expected_stars(state)
    assert torch.allclose(stars, model.explicit.score(model.explicit.fold_in(items, values)))
    assert float(stars.min()) >= 0.5 and float(stars.max()) <= 5.5
    # the hybrid's own ranking is not the star order (P(watch) matters)
    assert not torch.equal(torch.argsort(model.score(state)), torch.argsort(stars))


def test_fit_progress_moves_through_every_stage(data):
    seen: list[tuple[int, int, str]] = []
    create("hybrid", implicit="ease", implicit_params=IMPLICIT, explicit_params=EXPLICIT).fit(
        data, progress=lambda done, total, message="": seen.append((done, total, message))
    )
    fractions = [d / t for d, t, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # the explicit fits report their sweeps inside their part of the bar
    inner = [d / t for d, t, m in seen if m.startswith("fitting pmf: sweep")]
    assert len(inner) == EXPLICIT["epochs"] and inner[0] > 2 / 3 and inner[-1] == 1.0
    assert any(m.startswith("calibrating") for _, _, m in seen)
