"""PMF with learned precisions: the objective's gradient, exact block updates, planted recovery."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.splits import split_e
from engine.data.synthetic import planted_explicit
from engine.evaluate.protocols import evaluate_e
from engine.models import create
from engine.models.pmf import objective
from engine.storage.artifacts import load_model, save_model


@pytest.fixture(scope="module")
def small():
    return planted_explicit(n_users=120, n_items=80, rank=3, density=0.3, noise=0.25, seed=4)


def _tiny_problem(adaptive: bool):
    gen = torch.Generator().manual_seed(0)
    n_u, n_i, K, n = 5, 4, 2, 12
    users = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 2])
    items = torch.tensor([0, 1, 1, 2, 2, 3, 0, 3, 1, 2, 3, 0])
    values = torch.rand(n, generator=gen, dtype=torch.float64) * 4 + 1
    params = {
        "P": torch.randn(n_u, K, generator=gen, dtype=torch.float64),
        "Q": torch.randn(n_i, K, generator=gen, dtype=torch.float64),
        "bu": torch.randn(n_u, generator=gen, dtype=torch.float64),
        "bi": torch.randn(n_i, generator=gen, dtype=torch.float64),
    }
    shape = lambda n_rows: (n_rows,) if adaptive else ()  # noqa: E731
    precisions = {
        "tau": torch.rand((), generator=gen, dtype=torch.float64) + 0.5,
        "lambda_p": torch.rand(shape(n_u), generator=gen, dtype=torch.float64) + 0.5,
        "lambda_q": torch.rand(shape(n_i), generator=gen, dtype=torch.float64) + 0.5,
        "lambda_bu": torch.rand((), generator=gen, dtype=torch.float64) + 0.5,
        "lambda_bi": torch.rand((), generator=gen, dtype=torch.float64) + 0.5,
    }
    return users, items, values, params, precisions


@pytest.mark.parametrize("adaptive", [False, True])
def test_objective_gradient_matches_finite_differences(adaptive):
    """Central finite differences of the full objective, precision and log-normaliser terms
    included, agree with its analytic (autograd) gradient in double precision."""
    users, items, values, params, precisions = _tiny_problem(adaptive)
    names = list(params) + list(precisions)
    mu = values.mean()

    def f(*tensors):
        kw = dict(zip(names, tensors, strict=True))
        prec = {k: kw[k] for k in precisions}
        return objective(
            users, items, values, mu, kw["P"], kw["Q"], kw["bu"], kw["bi"], prec, 2.0, 0.5
        )

    inputs = [t.clone().requires_grad_(True) for t in [*params.values(), *precisions.values()]]
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def _grad(model, train, wrt: str) -> torch.Tensor:
    """Gradient of the model's MAP objective with respect to one block of its parameters."""
    u, i, r = train.to_torch()
    cfg = model.config
    U, V = model._user_rows.clone(), model._item_rows.clone()
    prec = {k: v.clone() for k, v in model._prec.items()}
    target = {"users": U, "items": V}.get(wrt)
    if target is None:
        target = prec[wrt]
    target.requires_grad_(True)
    loss = objective(
        u, i, r.double(), model._mu, U[:, :-1], V[:, :-1], U[:, -1], V[:, -1], prec,
        cfg.prior_shape, cfg.prior_rate,
    )  # fmt: skip
    (grad,) = torch.autograd.grad(loss, target)
    return grad


def test_map_block_updates_are_exact_minimisers(small):
    """Each closed-form step of the MAP optimiser zeroes the objective's gradient for its block,
    and the objective never increases once precisions are learned."""
    train = small.ratings
    model = create("pmf", method="map", factors=3, epochs=6, warmup=1).fit(train)
    assert all(b <= a + 1e-6 for a, b in zip(model.history[1:], model.history[2:], strict=False))
    u, i, r = train.to_torch()
    model._update_users()
    assert _grad(model, train, "users").abs().max() < 1e-6
    model._update_items()
    grad_items = _grad(model, train, "items")[model._active_i]
    assert grad_items.abs().max() < 1e-6
    model._update_precisions(u, i, r.double())
    for name in ("tau", "lambda_p", "lambda_q", "lambda_bu", "lambda_bi"):
        assert abs(float(_grad(model, train, name))) < 1e-6, name


def test_learns_planted_structure_and_its_noise(small):
    train, test = split_e(small.ratings)
    model = create("pmf", factors=3, epochs=25).fit(train)
    ours = evaluate_e(model, test)["rmse"]
    base = evaluate_e(create("baseline").fit(train), test)["rmse"]
    assert ours < 0.4 < 0.6 < base, (ours, base)
    # the learned noise precision recovers the planted noise (0.25) within a reasonable band
    assert 0.18 < model.info["noise_std"] < 0.35
    for name in ("tau", "lambda_p", "lambda_q", "lambda_bu", "lambda_bi"):
        assert np.isfinite(model.info[name]) and model.info[name] > 0


def test_map_without_expectations_collapses_on_sparse_data(small):
    """The documented reason the default is VB: joint MAP drives the factors to zero."""
    train, test = split_e(small.ratings)
    vb = create("pmf", factors=3, epochs=15).fit(train)
    map_ = create("pmf", factors=3, epochs=15, method="map").fit(train)
    assert evaluate_e(vb, test)["rmse"] < evaluate_e(map_, test)["rmse"]


def test_fold_in_with_no_ratings_is_the_prior(small):
    model = create("pmf", factors=3, epochs=3).fit(small.ratings)
    state = model.fold_in([], [])
    assert state.bias == 0.0 and float(state.vector.abs().max()) == 0.0


def test_adaptive_precisions_survive_save_and_load(small, tmp_path):
    """Per-row precisions (adaptive priors) are saved as vectors and restored as such; the
    shared-precision case is in the contract suite."""
    model = create("pmf", factors=3, epochs=4, adaptive=True).fit(small.ratings)
    loaded = load_model(save_model(model, tmp_path / "pmf"))
    assert loaded.precisions["lambda_p"].shape == (small.ratings.n_users,)
    users = np.arange(0, 120, 7)
    torch.testing.assert_close(loaded.score_users(users), model.score_users(users))
    items, values = small.ratings.user_items(3)
    torch.testing.assert_close(
        loaded.score(loaded.fold_in(items, values)), model.score(model.fold_in(items, values))
    )
    assert loaded.info == model.info


def test_expected_variance_matches_per_rating_sum(small):
    """The per-user/per-film aggregation equals the per-rating definition of E[SSE] − SSE."""
    train = small.ratings
    model = create("pmf", factors=3, epochs=3).fit(train)
    u, i, _ = train.to_torch()
    su, sv = model._user_cov[u], model._item_cov[i]
    qt = torch.cat([model._Q[i], torch.ones(len(i), 1, dtype=torch.float64)], 1)
    pt = torch.cat([model._P[u], torch.ones(len(u), 1, dtype=torch.float64)], 1)
    brute = (
        torch.einsum("nd,nde,ne->", qt, su, qt)
        + torch.einsum("nd,nde,ne->", pt, sv, pt)
        + torch.einsum("nde,ned->", su[:, :-1, :-1], sv[:, :-1, :-1])
    )
    torch.testing.assert_close(model._expected_variance(), brute)
