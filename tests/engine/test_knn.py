"""Item-kNN on planted clusters: neighbours stay inside a film's cluster, fold-in is exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.splits import split_r
from engine.data.synthetic import planted_implicit
from engine.evaluate.protocols import evaluate_r
from engine.models import create


@pytest.fixture(scope="module")
def clusters():
    return planted_implicit(n_users=200, n_items=120, n_clusters=4, per_user=12, seed=3)


def test_similarity_matches_shrunk_cosine_by_hand():
    data = planted_implicit(n_users=40, n_items=20, n_clusters=2, per_user=5, seed=1)
    model = create("knn", neighbours=19, shrink=3.0).fit(data)
    x = data.csr().toarray() > 0
    dot = x.T.astype(float) @ x
    norms = np.sqrt(x.sum(0))
    expected = dot / (np.outer(norms, norms) + 3.0)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(model.similarity.toarray(), expected, rtol=1e-5, atol=1e-6)


def test_neighbours_stay_in_cluster_and_topk_is_kept(clusters):
    model = create("knn", neighbours=10, shrink=0.0).fit(clusters)
    sim = model.similarity
    assert np.diff(sim.indptr).max() <= 10
    for item in range(0, 120, 7):
        idx, sims = model.similar_items(item, k=5)
        assert len(idx) == 5 and np.all(np.diff(sims) <= 0)
        assert np.all(idx % 4 == item % 4), "a neighbour from another cluster"


def test_ranks_held_out_cluster_films_first(clusters):
    train, test = split_r(clusters)
    model = create("knn", neighbours=30).fit(train)
    pop = create("popularity").fit(train)
    ours, base = evaluate_r(model, train, test), evaluate_r(pop, train, test)
    # 2 of the 20 unseen same-cluster films are held out: guessing inside the cluster gives
    # recall@10 = 0.5, guessing anywhere ≈ 0.1
    assert ours["recall"] > 0.4 > 0.1 > base["recall"]
    assert ours["auc"] > 0.85 > 0.6 > base["auc"]


@pytest.mark.parametrize("weighting", ["binary", "centred"])  # "rating": the contract suite
def test_fold_in_of_training_user_gives_their_scores(clusters, weighting):
    """Each weighting has two code paths (one person, a batch): both give the fitted scores."""
    model = create("knn", weighting=weighting).fit(clusters)
    for user in (0, 5, 77):
        items, values = clusters.user_items(user)
        folded = model.score(model.fold_in(items, values))
        torch.testing.assert_close(folded, model.score(user))
        torch.testing.assert_close(model.score_users(np.array([user]))[0], folded)


def test_no_ratings_gives_a_prior_of_well_connected_films(clusters):
    model = create("knn").fit(clusters)
    prior = model.score(model.fold_in([], [])).numpy()
    hub_strength = np.asarray(model.similarity.sum(axis=0)).ravel()
    np.testing.assert_allclose(prior, hub_strength, rtol=1e-5)
