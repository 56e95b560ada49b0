"""Logistic MF (Johnson 2014): the likelihood by hand, its gradients against autograd, Newton's
fixed point, and the planted two-block structure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue
from engine.models import create
from engine.models.lmf import LMFConfig, confidence, log_likelihood, newton_people, z_gradient


def test_log_likelihood_matches_a_hand_computed_case():
    """One person, two films, k = 1: x = 1, y = (2, −1), β_u = 0.5, β_i = (0, 1); the person
    watched film 0 with c = 3. z = (2.5, 0.5); L = 3·2.5 − 4·log(1 + e^2.5) − log(1 + e^0.5)
    − λ/2 (1 + 4 + 1) with λ = 0.2."""
    x = torch.tensor([[1.0]], dtype=torch.float64)
    y = torch.tensor([[2.0], [-1.0]], dtype=torch.float64)
    bu = torch.tensor([0.5], dtype=torch.float64)
    bi = torch.tensor([0.0, 1.0], dtype=torch.float64)
    c = torch.tensor([[3.0, 0.0]], dtype=torch.float64)
    expected = 7.5 - 4 * math.log1p(math.exp(2.5)) - math.log1p(math.exp(0.5)) - 0.1 * 6
    assert float(log_likelihood(x, y, bu, bi, c, 0.2)) == pytest.approx(expected, abs=1e-12)


def test_confidence_follows_the_paper():
    stars = np.array([1.0, 4.0])
    assert confidence(stars, LMFConfig(alpha=2.0)).tolist() == [2.0, 8.0]
    assert confidence(stars, LMFConfig(alpha=2.0, confidence="binary")).tolist() == [2.0, 2.0]
    log = confidence(stars, LMFConfig(alpha=2.0, confidence="log", epsilon=0.5))
    np.testing.assert_allclose(log, 2.0 * np.log1p(stars / 0.5), rtol=1e-6)


def test_gradient_of_the_likelihood_matches_autograd():
    """∂L/∂x = (c − (1 + c)σ(z)) Y − λx, ∂L/∂β_u = Σ_i (c − (1 + c)σ(z)): the sums the
    training loop forms, checked against autograd on a random 4 × 5 case."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    bu = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    bi = torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True)
    c = (torch.rand(4, 5, generator=gen, dtype=torch.float64) < 0.4) * 3.0
    lam = 0.7
    log_likelihood(x, y, bu, bi, c, lam).backward()
    with torch.no_grad():
        d = z_gradient(x @ y.T + bu[:, None] + bi[None, :], c)
        torch.testing.assert_close(d @ y - lam * x, x.grad)
        torch.testing.assert_close(d.T @ x - lam * y, y.grad)
        torch.testing.assert_close(d.sum(1), bu.grad)
        torch.testing.assert_close(d.sum(0), bi.grad)


def test_newton_reaches_the_per_person_maximum():
    """After Newton steps the gradient of L in each person's (x, β) vanishes, and L went up."""
    gen = torch.Generator().manual_seed(1)
    y = torch.randn(12, 2, generator=gen, dtype=torch.float64)
    bi = torch.randn(12, generator=gen, dtype=torch.float64)
    c = (torch.rand(3, 12, generator=gen, dtype=torch.float64) < 0.3) * 2.0
    x0, b0 = torch.zeros(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    x, b = newton_people(x0, b0, y, bi, c, 0.5, steps=20)
    x.requires_grad_(True)
    b.requires_grad_(True)
    log_likelihood(x, y, b, bi, c, 0.5).backward()
    assert x.grad is not None and b.grad is not None
    assert float(x.grad.abs().max()) < 1e-9 and float(b.grad.abs().max()) < 1e-9
    # y's prior is a constant here, so comparing L compares the people's terms
    before = float(log_likelihood(x0, y, b0, bi, c, 0.5))
    assert float(log_likelihood(x.detach(), y, b.detach(), bi, c, 0.5)) > before


# settings for 40 people and 30 films: the defaults' prior (tuned for 100k ratings) is too firm
TINY = {"factors": 2, "epochs": 40, "regularization": 1.0, "alpha": 1.0, "device": "cpu"}


def two_blocks(n_users: int = 40, n_items: int = 30, seed: int = 0) -> Ratings:
    """Two groups: people 0..19 watch (most of) films 0..14, people 20..39 films 15..29."""
    rng = np.random.default_rng(seed)
    rows = []
    half_u, half_i = n_users // 2, n_items // 2
    for u in range(n_users):
        block = np.arange(half_i) + (half_i if u >= half_u else 0)
        films = rng.choice(block, size=9, replace=False)
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": films + 1, "rating": 4.0}))
    frame = pd.concat(rows, ignore_index=True)
    return Ratings.from_frames(frame, catalogue(n_items), name="two-blocks")


@pytest.mark.parametrize("confidence_kind", ["rating", "log"])
def test_each_group_gets_its_own_block_first(confidence_kind):
    r = two_blocks()
    model = create("lmf", confidence=confidence_kind, **TINY).fit(r)
    half_i = r.n_items // 2
    for user in (0, 5, 25, 39):
        seen = r.user_items(user)[0]
        scores = model.score(user).numpy()
        own = np.arange(half_i) + (half_i if user >= 20 else 0)
        unseen_own = np.setdiff1d(own, seen)
        other = np.setdiff1d(np.arange(r.n_items), own)
        assert scores[unseen_own].min() > scores[other].max(), user


def test_a_new_member_folds_into_their_block():
    r = two_blocks()
    model = create("lmf", **TINY).fit(r)
    state = model.fold_in([16, 17, 18], [5.0, 4.0, 4.5])
    scores = model.score(state).numpy()
    assert scores[19:30].min() > scores[0:15].max()


def test_training_raises_the_likelihood():
    r = two_blocks()
    c = torch.zeros(r.n_users, r.n_items, dtype=torch.float64)
    c[torch.tensor(r.users), torch.tensor(r.items)] = torch.tensor(
        confidence(r.values, LMFConfig(alpha=TINY["alpha"])), dtype=torch.float64
    )
    values = []
    for epochs in (1, 5, 30):
        settings = {**TINY, "epochs": epochs, "newton_steps": 0}
        model = create("lmf", **settings).fit(r)
        t = {k: v.double() for k, v in model.state_tensors().items()}
        values.append(
            float(
                log_likelihood(
                    t["user_factors"],
                    t["item_factors"],
                    t["user_bias"],
                    t["item_bias"],
                    c,
                    TINY["regularization"],
                )
            )
        )
    assert values[0] < values[1] < values[2]
