"""fastai's deep collaborative model (EmbeddingNN): its shape by hand, learning a planted rule
better than the mean, the sigmoid range, fold-in moving a member towards what they loved and
ending at the minimum of its objective whatever the thread count."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue
from engine.models import create
from engine.models.embedding_nn import EmbeddingNN, emb_sz_rule
from engine.storage.artifacts import MANIFEST, load_model, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_fastai_embedding_sizes_and_layers():
    """emb_sz_rule(n) = min(600, round(1.6·n^0.56)): 1.6·611^0.56 = 58.3 and 1.6·9725^0.56 =
    273.8 (MovieLens-small plus fastai's #na#); the MLP is Linear(du+di, 100, no bias), BN(100),
    Linear(100, 50, no bias), BN(50), Linear(50, 1): 331·100 + 2·100 + 100·50 + 2·50 + 51
    weights on top of the embeddings."""
    assert (emb_sz_rule(611), emb_sz_rule(9725), emb_sz_rule(10**9)) == (58, 274, 600)
    model = EmbeddingNN(device="cpu")
    model.n_users, model.n_items = 610, 9724
    net = model._build()
    assert net.user.weight.shape == (610, 58) and net.item.weight.shape == (9724, 274)
    mlp = sum(
        p.numel() for name, p in net.named_parameters() if not name.startswith(("user", "item"))
    )
    assert mlp == 332 * 100 + 200 + 100 * 50 + 100 + 51


def planted_rule(seed: int = 0) -> tuple[Ratings, np.ndarray]:
    """People and films each have a hidden type in {0, 1, 2}; the stars follow a table that is
    not a sum of a person's and a film's effect (4.5 on the diagonal, 1.5 two steps off, 3
    otherwise), plus N(0, 0.3²) noise, clipped to 0.5..5. Every person rates 24 of 60 films."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 150, 60
    ut, it = np.arange(n_users) % 3, np.arange(n_items) % 3
    table = np.array([[4.5, 3.0, 1.5], [3.0, 4.5, 3.0], [1.5, 3.0, 4.5]])
    rows = []
    for u in range(n_users):
        films = rng.choice(n_items, size=24, replace=False)
        stars = np.clip(table[ut[u], it[films]] + rng.normal(0, 0.3, len(films)), 0.5, 5.0)
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": films + 1, "rating": stars}))
    frame = pd.concat(rows, ignore_index=True)
    ratings = Ratings.from_frames(frame, catalogue(n_items), name="planted-rule")
    return ratings, it


@pytest.fixture(scope="module")
def held_out() -> tuple[EmbeddingNN, Ratings, Ratings, np.ndarray]:
    """The model fitted on 80 % of the planted ratings: (model, train, test, film types)."""
    ratings, item_type = planted_rule()
    test_mask = np.random.default_rng(1).random(len(ratings)) < 0.2
    train, test = ratings.subset(~test_mask), ratings.subset(test_mask)
    model = create("embedding-nn", epochs=20, device="cpu").fit(train)
    assert isinstance(model, EmbeddingNN)
    return model, train, test, item_type


def test_learns_a_planted_rule_far_better_than_the_mean(held_out):
    model, train, test, _ = held_out
    pred = model.predict(test.users, test.items)
    rmse = float(np.sqrt(np.mean((pred - test.values) ** 2)))
    baseline = float(np.sqrt(np.mean((train.values.mean() - test.values) ** 2)))
    assert baseline > 1.0  # the rule spreads stars widely: the mean alone is poor
    print(f"held-out RMSE {rmse:.3f}, mean baseline {baseline:.3f}")
    assert rmse < 0.5 * baseline, (rmse, baseline)


def test_predictions_stay_inside_the_sigmoid_range():
    ratings, _ = planted_rule()
    model = EmbeddingNN(epochs=2, device="cpu").fit(ratings)
    stars = model.score_users(np.arange(ratings.n_users))
    assert float(stars.min()) > 0.0 and float(stars.max()) < 5.5
    # however far the embeddings are pushed, the output cannot leave [0, 5.5]
    with torch.no_grad():
        model.net.user.weight.mul_(1e4)
        model.net.item.weight.mul_(-1e4)
    extreme = model.score_users(np.arange(ratings.n_users))
    assert float(extreme.min()) >= 0.0 and float(extreme.max()) <= 5.5


def test_fold_in_moves_a_member_towards_the_films_they_loved(held_out):
    model, _, _, item_type = held_out
    before = model.score(model.fold_in([], [])).numpy()
    loved = np.flatnonzero(item_type == 2)[:4]
    hated = np.flatnonzero(item_type == 0)[:4]
    state = model.fold_in(np.concatenate([loved, hated]), [5.0] * 4 + [1.0] * 4)
    after = model.score(state).numpy()
    rated = np.concatenate([loved, hated])
    unseen_loved = np.setdiff1d(np.flatnonzero(item_type == 2), rated)
    unseen_hated = np.setdiff1d(np.flatnonzero(item_type == 0), rated)
    assert (after - before)[unseen_loved].mean() > 0.5
    assert (after - before)[unseen_hated].mean() < -0.5
    # and on the factor map the member points towards the films they loved
    vectors = model.item_vectors()
    assert state.vector is not None
    direction = vectors @ state.vector.numpy()
    assert direction[unseen_loved].mean() > direction[unseen_hated].mean()


def _map_objective(model: EmbeddingNN, p: torch.Tensor, items, values) -> torch.Tensor:
    """Fold-in's objective written out again, in float64: Σ (r̂(p, i) − r_i)² + λ|p − p̄|²."""
    net = copy.deepcopy(model.net).double()
    q = net.item.weight[torch.as_tensor(items)]
    r = torch.as_tensor(values, dtype=torch.float64)
    anchor = net.user.weight.mean(0)
    stars = net.stars(p.double().expand(len(q), -1), q)
    lam = model.config.foldin_regularization
    return (stars - r).square().sum() + lam * (p.double() - anchor).square().sum()


def test_fold_in_reaches_the_minimum_whatever_the_thread_count(held_out):
    """Fold-in is the MAP embedding solved until the objective stops falling: it fits at least
    as well as the person's own trained embedding and as p̄ (both are among its starts), four
    times the iterations lower the objective by under 1 %, and one or two threads (another
    summation order) end at the same embedding."""
    model, train, _, _ = held_out
    config = model.config
    for user in (0, 1, 2):
        items, values = train.user_items(user)
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            one = model.fold_in(items, values).extra["embedding"]
            torch.set_num_threads(2)
            two = model.fold_in(items, values).extra["embedding"]
            model.config = replace(config, foldin_steps=4 * config.foldin_steps)
            longer = model.fold_in(items, values).extra["embedding"]
        finally:
            torch.set_num_threads(threads)
            model.config = config
        np.testing.assert_allclose(one.numpy(), two.numpy(), atol=1e-4)
        with torch.no_grad():
            value = float(_map_objective(model, one, items, values))
            own = float(_map_objective(model, model.net.user.weight[user], items, values))
            mean = float(_map_objective(model, model.net.user.weight.mean(0), items, values))
            further = float(_map_objective(model, longer, items, values))
        assert value <= min(own, mean) + 1e-5, (user, value, own, mean)
        assert further > 0.99 * value, (user, value, further)


def test_a_model_saved_with_the_retired_adam_step_size_still_loads(held_out, tmp_path):
    """Manifests saved when fold-in took Adam steps carry ``foldin_lr``; they load (the name is
    dropped) and fold in the same member to the same embedding."""
    model, train, _, _ = held_out
    path = save_model(model, tmp_path / "enn")
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["hyperparameters"]["foldin_lr"] = 0.05
    (path / MANIFEST).write_text(json.dumps(manifest))
    loaded = load_model(path, device="cpu")
    items, values = train.user_items(3)
    np.testing.assert_allclose(
        loaded.fold_in(items, values).extra["embedding"].numpy(),
        model.fold_in(items, values).extra["embedding"].numpy(),
        atol=1e-5,
    )
