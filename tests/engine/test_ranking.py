"""Pairwise ranking models (bilinear and MLP) on planted clusters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.splits import split_r
from engine.data.synthetic import planted_implicit
from engine.evaluate.protocols import evaluate_r
from engine.models import create

FAST = {"factors": 8, "epochs": 15, "lr": 0.05, "batch_size": 256, "hidden": 16}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


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


def test_mlp_declares_no_film_vectors_but_has_neighbours(clusters):
    """Its people score films through the MLP, not by a dot product: no factor map for it."""
    model = create("ranking-mlp", **{**FAST, "epochs": 2}).fit(clusters)
    assert model.item_vectors() is None and "item_vectors" not in model.capabilities
    items, sims = model.similar_items(5, k=4)
    embeddings = model.net.item.detach().numpy()
    cosine = (
        embeddings
        @ embeddings[5]
        / (np.linalg.norm(embeddings, axis=1) * np.linalg.norm(embeddings[5]))
    )
    np.testing.assert_allclose(sims, cosine[items], rtol=1e-5)
