"""Pairwise ranking models (bilinear and MLP) on planted clusters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.splits import split_r
from engine.data.synthetic import planted_implicit
from engine.evaluate.protocols import evaluate_r
from engine.models import create

FAST = {"factors": 8, "epochs": 15, "lr": 0.05, "batch_size": 256, "hidden": 16}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: thread hand-offs cost more than they save on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def clusters():
    return planted_implicit(n_users=160, n_items=80, n_clusters=4, per_user=12, seed=5)


@pytest.fixture(scope="module")
def split(clusters):
    return split_r(clusters)


@pytest.mark.parametrize("name", ["ranking", "ranking-mlp"])
@pytest.mark.parametrize(("negatives", "hard"), [(1, False), (4, True), (4, False)])
def test_learns_planted_clusters(split, name, negatives, hard):
    train, test = split
    model = create(name, negatives=negatives, hard=hard, **FAST).fit(train)
    ours = evaluate_r(model, train, test)
    base = evaluate_r(create("popularity").fit(train), train, test)
    # 2 of 8 unseen same-cluster films held out: inside-cluster guessing gives recall@10 = 1
    assert ours["auc"] > 0.9 > 0.65 > base["auc"], (ours, base)
    assert ours["recall"] > 0.8 > 0.4 > base["recall"]


def test_margin_loss_also_learns(split):
    train, test = split
    model = create("ranking", loss="margin", **FAST).fit(train)
    assert evaluate_r(model, train, test)["auc"] > 0.9


@pytest.mark.parametrize(
    ("name", "hard", "min_corr"),
    [("ranking", True, 0.9), ("ranking", False, 0.9), ("ranking-mlp", True, 0.5)],
)
def test_fold_in_of_training_user_ranks_like_the_trained_vector(clusters, name, hard, min_corr):
    """Fold-in minimises the expected training loss, so it reproduces a trained user."""
    model = create(name, hard=hard, **FAST).fit(clusters)
    for user in (0, 1, 2, 3):
        items, values = clusters.user_items(user)
        folded = model.score(model.fold_in(items, values)).numpy()
        trained = model.score(user).numpy()
        unseen = np.setdiff1d(np.arange(clusters.n_items), items)
        # the person's own cluster's unseen films come first (chance: 2 of 8)
        assert (unseen[np.argsort(-folded[unseen])[:8]] % 4 == user % 4).sum() >= 7
        assert np.corrcoef(folded, trained)[0, 1] > min_corr


@pytest.mark.parametrize("name", ["ranking", "ranking-mlp"])
def test_save_load_round_trip(clusters, tmp_path, name):
    model = create(name, **{**FAST, "epochs": 2}).fit(clusters)
    loaded = type(model).load(model.save(tmp_path / name))
    users = np.arange(0, 160, 9)
    torch.testing.assert_close(loaded.score_users(users), model.score_users(users))
    assert loaded.similar_items(5)[0].tolist() == model.similar_items(5)[0].tolist()


def test_bad_loss_is_named(clusters):
    with pytest.raises(ValueError, match="loss"):
        create("ranking", loss="hinge-ish", epochs=1).fit(clusters)
