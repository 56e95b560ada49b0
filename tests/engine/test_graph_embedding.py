"""The graph-embedding recommender and protocol Graph, on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue, planted_implicit
from engine.evaluate.protocol_graph import held_out_pairs, in_graph, pair_cosines, roc_auc
from engine.models import create

FAST = {"factors": 16, "batch_size": 512, "walks_per_film": 6}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fitted():
    data = planted_implicit(n_users=80, n_items=40, n_clusters=2, per_user=8, seed=2)
    return create("graph", device="cpu", min_count=1, **FAST).fit(data), data


def test_a_member_is_the_like_weighted_mean_of_their_films(fitted):
    """Weights stars − 4 + 1: a 5★ film counts twice a 4★ one; a 3★ film not at all."""
    model, _ = fitted
    vectors = model.item_vectors()
    state = model.fold_in([0, 2, 4], [5.0, 4.0, 3.0])
    expected = (2 * vectors[0] + 1 * vectors[2]) / 3
    np.testing.assert_allclose(state.vector.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(state).numpy(), vectors @ expected, atol=1e-5)


def test_folding_in_a_training_user_gives_exactly_their_scores(fitted):
    model, data = fitted
    for user in (0, 1, 17):
        folded = model.score(model.fold_in(*data.user_items(user)))
        torch.testing.assert_close(folded, model.score(user), rtol=1e-5, atol=1e-6)


def test_someone_who_liked_nothing_gets_the_most_liked_films_first(fitted):
    model, data = fitted
    scores = model.score(model.fold_in([3], [2.0])).numpy()
    liked = np.bincount(data.items[data.values >= 4], minlength=data.n_items)
    assert np.array_equal(
        np.argsort(-scores, kind="stable")[:5], np.argsort(-liked, kind="stable")[:5]
    )


def test_similar_films_share_the_community(fitted):
    model, _ = fitted
    community = np.arange(40) % 2
    for film in (0, 1, 7):
        items, _ = model.similar_items(film, k=5)
        assert (community[items] == community[film]).all()


def test_films_off_the_graph_rank_after_every_film_on_it():
    """Film 40 is only ever rated 3★ (never liked): no edge, no walk. It ranks below every film
    on the graph for any member, whatever its (untrained) vector says; the films on the graph
    keep the order of their products with the member."""
    base = planted_implicit(n_users=80, n_items=40, n_clusters=2, per_user=8, seed=2)
    frame = pd.DataFrame(
        {
            "userId": base.user_ids[base.users],
            "movieId": base.item_ids[base.items],
            "rating": base.values,
        }
    )
    extra = pd.DataFrame({"userId": base.user_ids[:5], "movieId": 41, "rating": 3.0})
    data = Ratings.from_frames(pd.concat([frame, extra]), catalogue(41), name="off-graph")
    model = create("graph", device="cpu", min_count=1, **FAST).fit(data)
    off = int(np.flatnonzero(data.item_ids == 41)[0])
    state = model.fold_in([0, 2], [5.0, 4.0])
    scores = model.score(state).numpy()
    on = np.delete(np.arange(data.n_items), off)
    assert scores[off] < scores[on].min()
    raw = model.item_vectors() @ state.vector.numpy()
    np.testing.assert_array_equal(np.argsort(-scores[on]), np.argsort(-raw[on]))


# ---------------------------------------------------------------------------- protocol Graph
def test_auc_by_hand():
    assert roc_auc(np.array([3.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx(3 / 4)
    assert roc_auc(np.array([1.0]), np.array([1.0])) == pytest.approx(0.5)  # a tie counts ½
    assert roc_auc(np.array([2.0, 2.0]), np.array([1.0])) == 1.0


def test_pair_cosines_by_hand():
    vectors = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        pair_cosines(vectors, np.array([[0, 1], [0, 2]])), [1 / np.sqrt(2), 0.0]
    )


def test_held_out_pairs_are_only_linked_by_a_test_like():
    """Train: a likes films 0 and 1; b likes 2 and 3, and film 4 only at 2★. Test: a likes 2,
    b likes 0. Co-liked with a test like: (0,2) via a and b, (1,2) via a, (0,2)/(0,3) via b;
    (0,1) and (2,3) are co-liked in train and so not held out."""

    def frame(rows: list[tuple[int, int, float]]) -> Ratings:
        f = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
        return Ratings.from_frames(f, catalogue(6), name="hand")

    train = frame([(1, 1, 5.0), (1, 2, 4.0), (2, 3, 4.0), (2, 4, 5.0), (2, 5, 2.0)])
    test = frame([(1, 3, 4.0), (2, 1, 4.0)])
    positives, negatives = held_out_pairs(train, test, max_pairs=100, seed=0)
    assert sorted(map(tuple, positives.tolist())) == [(0, 2), (0, 3), (1, 2)]
    # negatives: random pairs of films with a training rating, never co-liked anywhere
    co_liked = {(0, 1), (2, 3), (0, 2), (0, 3), (1, 2)}
    assert len(negatives) == 3
    for i, j in negatives.tolist():
        assert i < j and (i, j) not in co_liked and j <= 4  # film 5 has no rating at all


def test_films_in_the_graph_are_those_with_a_default_edge():
    """The default graph needs two co-likers (min_count 2) at ≥ 4★: films 0 and 1 are liked by
    both people, film 2 by one of them, film 3 only at 3★, film 4 by nobody."""
    rows = [(1, 1, 5.0), (1, 2, 4.0), (1, 3, 4.5), (2, 1, 4.0), (2, 2, 5.0), (2, 4, 3.0)]
    f = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    train = Ratings.from_frames(f, catalogue(5), name="hand")
    assert in_graph(train).tolist() == [True, True, False, False, False]


def test_graph_embeddings_tell_held_out_pairs_from_random_ones():
    """Two disjoint communities: a held-out pair lies within one, random pairs often cross.
    The embeddings separate them (AUC well above chance); film popularity cannot (every film
    is about as popular)."""
    from engine.data.splits import split_r

    data = planted_implicit(n_users=200, n_items=80, n_clusters=2, per_user=6, seed=4)
    train, test = split_r(data)
    positives, negatives = held_out_pairs(train, test)
    assert len(positives) > 20
    community = np.arange(80) % 2
    assert (community[positives[:, 0]] == community[positives[:, 1]]).all()
    model = create("graph", device="cpu", min_count=1, **FAST).fit(train)
    vectors = model.item_vectors()
    assert vectors is not None
    auc = roc_auc(pair_cosines(vectors, positives), pair_cosines(vectors, negatives))
    assert auc > 0.8
