"""Implicit ALS: every solve checked against numpy on a tiny matrix, then behaviour on planted data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue, planted_implicit
from engine.models import create
from engine.models.als import ImplicitALS, objective
from engine.models.als_matrix import Side, weight_matrix
from engine.models.als_solvers import cg_update, exact_update


def tiny(seed: int = 0, n_users: int = 9, n_items: int = 7, density: float = 0.4) -> Ratings:
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users - 1), rng.integers(0, n_items, n_users - 1)] = True
    mask[-1] = False  # one person with no ratings: their solution must be exactly 0
    users, items = np.nonzero(mask)
    values = rng.choice(np.arange(1, 11) / 2, size=len(users))
    frame = pd.DataFrame({"userId": users + 1, "movieId": items + 1, "rating": values})
    r = Ratings.from_frames(frame, catalogue(n_items), name="tiny")
    return Ratings(
        users=r.users,
        items=r.items,
        values=r.values,
        user_ids=np.arange(1, n_users + 1),
        movies=r.movies,
        name="tiny",
    )


def numpy_solve(
    r: Ratings, other: np.ndarray, lam: float, alpha: float, by_user: bool
) -> np.ndarray:
    """Hu–Koren–Volinsky normal equations, one dense np.linalg.solve per row."""
    c = np.zeros((r.n_users, r.n_items))
    c[r.users, r.items] = alpha * r.values  # c − 1
    if not by_user:
        c = c.T
    other = other.astype(np.float64)
    k = other.shape[1]
    out = np.zeros((c.shape[0], k))
    for row in range(c.shape[0]):
        p = (c[row] > 0).astype(float)
        a = other.T @ other + other.T @ np.diag(c[row]) @ other + lam * np.eye(k)
        b = other.T @ ((1.0 + c[row]) * p)
        out[row] = np.linalg.solve(a, b)
    return out


@pytest.mark.parametrize("by_user", [True, False])
def test_exact_update_equals_numpy_normal_equations(by_user):
    r = tiny()
    lam, alpha, k = 0.3, 2.0, 4
    w = weight_matrix(r, alpha, "rating")
    matrix = w if by_user else w.T.tocsr()
    other = np.random.default_rng(1).normal(size=(matrix.shape[1], k)).astype(np.float32)
    expected = numpy_solve(r, other, lam, alpha, by_user)
    for slots in (1, 5, 1 << 20):  # one row per batch ... everything in one batch
        got = exact_update(matrix, torch.from_numpy(other), lam, slots).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
    if by_user:
        assert np.all(got[-1] == 0.0)  # the person with no ratings


@pytest.mark.parametrize("by_user", [True, False])
def test_cg_converges_to_the_exact_solution(by_user):
    r = tiny(seed=3)
    lam, alpha, k = 0.5, 1.5, 4
    w = weight_matrix(r, alpha, "rating")
    matrix = w if by_user else w.T.tocsr()
    other = np.random.default_rng(2).normal(size=(matrix.shape[1], k)).astype(np.float32)
    expected = numpy_solve(r, other, lam, alpha, by_user)
    side = Side.build(matrix, torch.device("cpu"))
    start = torch.zeros(matrix.shape[0], k)
    # CG on a k-dimensional SPD system is exact after k steps (up to rounding)
    got = cg_update(side, start, torch.from_numpy(other), lam, steps=k + 2).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    # and fewer steps, warm-started from the answer, stay at the answer
    again = cg_update(
        side, torch.from_numpy(expected.astype(np.float32)), torch.from_numpy(other), lam, 2
    )
    np.testing.assert_allclose(again.numpy(), expected, rtol=1e-3, atol=1e-3)
    # row chunks (views into the same CSR) give the same answer as all rows at once
    for chunk in (1, 2, 5):
        chunked = cg_update(side, start, torch.from_numpy(other), lam, k + 2, chunk_rows=chunk)
        np.testing.assert_allclose(chunked.numpy(), got, rtol=1e-5, atol=1e-6)
    # a truncated CG from 0 is *not* the exact answer (the test above can fail)
    one = cg_update(side, start, torch.from_numpy(other), lam, steps=1).numpy()
    assert np.abs(one - expected).max() > 1e-3


def test_objective_matches_dense_formula():
    r = tiny(seed=4)
    model = ImplicitALS(device="cpu", factors=3, epochs=2, regularization=0.7, alpha=1.5)
    model.fit(r)
    x, y = model._user_factors.double().numpy(), model._item_factors.double().numpy()
    c = np.ones((r.n_users, r.n_items))
    p = np.zeros_like(c)
    c[r.users, r.items] += 1.5 * r.values
    p[r.users, r.items] = 1.0
    dense = (c * (p - x @ y.T) ** 2).sum() + 0.7 * ((x**2).sum() + (y**2).sum())
    assert objective(r, model._user_factors, model._item_factors, model.config) == pytest.approx(
        dense, rel=1e-6
    )


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_objective_decreases_monotonically(solver):
    r = planted_implicit(n_users=60, n_items=40, per_user=6, seed=1)
    losses: list[float] = []
    model = ImplicitALS(
        device="cpu", factors=6, epochs=8, regularization=1.0, alpha=1.0, solver=solver
    )

    def record(done: int, total: int, message: str = "") -> None:
        losses.append(objective(r, model._user_factors, model._item_factors, model.config))

    model.fit(r, progress=record)
    assert len(losses) == 8
    assert all(b <= a * (1 + 1e-6) for a, b in itertools.pairwise(losses))
    assert losses[-1] < 0.7 * losses[0]


def test_fold_in_of_a_training_user_reproduces_their_vector():
    r = planted_implicit(n_users=80, n_items=60, per_user=8, seed=2)
    model = create("als", device="cpu", factors=8, epochs=6, solver="cholesky").fit(r)
    for user in (0, 17, 79):
        items, values = r.user_items(user)
        state = model.fold_in(items, values)
        np.testing.assert_allclose(
            state.vector.numpy(), model._user_factors[user].numpy(), atol=1e-4
        )
        np.testing.assert_allclose(model.score(state).numpy(), model.score(user).numpy(), atol=1e-4)
    # the fast CG fit gets close to the same fixed point
    cg = create("als", device="cpu", factors=8, epochs=25, solver="cg").fit(r)
    items, values = r.user_items(5)
    folded = cg.fold_in(items, values).vector.numpy()
    trained = cg._user_factors[5].numpy()
    assert np.linalg.norm(folded - trained) < 0.02 * np.linalg.norm(trained)


def test_planted_clusters_are_learned():
    r = planted_implicit(n_users=200, n_items=120, n_clusters=4, per_user=12, seed=0)
    model = create("als", device="cpu", factors=8, epochs=10).fit(r)
    scores = model.score_users(np.arange(r.n_users)).numpy()
    scores[r.users, r.items] = -np.inf  # rank only unseen films
    top = np.argsort(-scores, axis=1)[:, :10]
    user_cluster = np.arange(r.n_users) % 4
    same = (top % 4) == user_cluster[:, None]
    assert same.mean() > 0.95
    # similar films come from the same cluster
    neighbours, sims = model.similar_items(5, k=10)
    assert np.all(neighbours % 4 == 5 % 4)
    assert np.all(np.diff(sims) <= 1e-6)
    # a new person who watched three cluster-2 films gets cluster-2 films
    state = model.fold_in([2, 6, 10], [4.0, 4.0, 4.0])
    ranked = np.argsort(-model.score(state).numpy())
    ranked = ranked[~np.isin(ranked, [2, 6, 10])][:10]
    assert np.all(ranked % 4 == 2)


def test_score_users_matches_score_and_prior_for_nobody():
    r = planted_implicit(n_users=40, n_items=30, per_user=5, seed=5)
    model = create("als", device="cpu", factors=4, epochs=5, regularization=1.0).fit(r)
    batch = model.score_users(np.array([3, 7]))
    np.testing.assert_allclose(batch[1].numpy(), model.score(7).numpy(), rtol=1e-5, atol=1e-6)
    empty = model.fold_in([], [])
    prior = model.score(empty).numpy()
    assert prior.shape == (30,) and np.isfinite(prior).all()
    # the prior prefers films many people watched
    counts = r.item_counts()
    assert np.corrcoef(prior, counts)[0, 1] > 0.5


def test_binary_confidence_ignores_star_values():
    r = tiny(seed=7)
    ones = Ratings(
        users=r.users, items=r.items, values=np.ones(len(r)), user_ids=r.user_ids, movies=r.movies
    )
    a = create("als", device="cpu", factors=3, epochs=3, confidence="binary").fit(r)
    b = create("als", device="cpu", factors=3, epochs=3, confidence="binary").fit(ones)
    np.testing.assert_allclose(a._user_factors.numpy(), b._user_factors.numpy(), atol=1e-6)
    c = create("als", device="cpu", factors=3, epochs=3, confidence="rating").fit(r)
    assert not np.allclose(a._user_factors.numpy(), c._user_factors.numpy(), atol=1e-4)


def test_bad_settings_and_inputs_have_clear_errors():
    r = tiny()
    with pytest.raises(ValueError, match="solver"):
        create("als", device="cpu", solver="lu")
    with pytest.raises(ValueError, match="confidence"):
        create("als", device="cpu", confidence="stars")
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        create("als", device="cpu", factor=3)
    model = create("als", device="cpu", factors=2, epochs=1).fit(r)
    with pytest.raises(ValueError, match="not in this model's catalogue"):
        model.fold_in([99], [4.0])


def test_weight_matrix_same_whether_or_not_ratings_arrive_sorted():
    r = tiny(seed=8)
    shuffled = r.subset(np.random.default_rng(0).permutation(len(r)))
    a, b = weight_matrix(r, 2.0, "rating"), weight_matrix(shuffled, 2.0, "rating")
    assert np.shares_memory(a.indices, r.items)  # the sorted fast path copies no indices
    assert not np.shares_memory(b.indices, shuffled.items)
    np.testing.assert_array_equal(a.toarray(), b.toarray())
    expected = np.zeros((r.n_users, r.n_items), np.float32)
    expected[r.users, r.items] = 2.0 * r.values
    np.testing.assert_array_equal(a.toarray(), expected)
