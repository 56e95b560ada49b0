"""The co-like film graph and the random walks on it, on cases whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from graph_helpers import dense_film_graph

from engine.data.film_graph import co_like_graph, edge_weights
from engine.data.random_walks import random_walks
from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue, planted_implicit


def _ratings(rows: list[tuple[int, int, float]], n_items: int) -> Ratings:
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, catalogue(n_items), name="hand")


# ---------------------------------------------------------------------------- the graph
def test_edges_count_co_likes_with_cosine_weights_by_hand():
    """Films 1..4 (indices 0..3). People a, b, c like films 0 and 1; a and b also like film 2;
    c hates film 2 (1★, not a like); d likes 2 and 3 alone. Co-likes: (0,1)=3, (0,2)=2,
    (1,2)=2, (2,3)=1. Likes: n0=3, n1=3, n2=3, n3=1."""
    rows = [
        (1, 1, 5.0), (1, 2, 4.0), (1, 3, 4.5),
        (2, 1, 4.0), (2, 2, 5.0), (2, 3, 4.0),
        (3, 1, 4.0), (3, 2, 4.0), (3, 3, 1.0),
        (4, 3, 5.0), (4, 4, 5.0),
    ]  # fmt: skip
    graph = co_like_graph(_ratings(rows, 4), like_threshold=4.0, min_count=2, top_k=30)
    np.testing.assert_array_equal(graph.likes, [3, 3, 3, 1])
    dense = graph.csr().toarray()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 3 / np.sqrt(3 * 3)
    expected[0, 2] = expected[2, 0] = 2 / np.sqrt(3 * 3)
    expected[1, 2] = expected[2, 1] = 2 / np.sqrt(3 * 3)
    # (2,3) has one co-liker: below min_count, pruned; film 3 is left without an edge
    np.testing.assert_allclose(dense, expected, rtol=1e-6)
    assert graph.n_edges == 3 and graph.degree().tolist() == [2, 2, 2, 0]
    # with min_count 1 the single co-like appears, weight 1/√(3·1)
    loose = co_like_graph(_ratings(rows, 4), min_count=1).csr().toarray()
    assert loose[2, 3] == pytest.approx(1 / np.sqrt(3))
    # counting every rating as a like (threshold 1) links 0–2 through c as well: 3 co-likers
    everything = co_like_graph(_ratings(rows, 4), like_threshold=1.0).csr().toarray()
    assert everything[0, 2] == pytest.approx(3 / np.sqrt(3 * 4))


def test_weightings_follow_their_formulas():
    counts, a, b = np.array([2.0, 4.0]), np.array([4.0, 8.0]), np.array([2.0, 4.0])
    np.testing.assert_allclose(
        edge_weights(counts, a, b, 10, "cosine"), [2 / np.sqrt(8), 4 / np.sqrt(32)]
    )
    np.testing.assert_allclose(edge_weights(counts, a, b, 10, "jaccard"), [2 / 4, 4 / 8])
    np.testing.assert_allclose(
        edge_weights(counts, a, b, 10, "pmi"),
        [np.log(2 * 10 / 8), max(np.log(4 * 10 / 32), 0.0)],
    )
    np.testing.assert_allclose(edge_weights(counts, a, b, 10, "count"), counts)
    with pytest.raises(ValueError, match="weighting must be one of"):
        edge_weights(counts, a, b, 10, "dice")  # pyright: ignore[reportArgumentType]


def test_top_k_keeps_the_strongest_neighbours_and_stays_symmetric():
    """Film 0 is co-liked with 1, 2, 3 by 4, 3 and 2 people (each of those liked by exactly the
    co-likers): with top_k=1, film 0 keeps only 1, but 2 and 3 keep 0 (their only neighbour),
    so by the union rule every one of those edges survives in both directions."""
    rows = [(u, 1, 5.0) for u in range(1, 10)]
    rows += [(u, 2, 5.0) for u in range(1, 5)]
    rows += [(u, 3, 5.0) for u in range(5, 8)]
    rows += [(u, 4, 5.0) for u in range(8, 10)]
    graph = co_like_graph(_ratings(rows, 4), min_count=1, top_k=1, weighting="count")
    dense = graph.csr().toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert dense[0, 1:].tolist() == [4, 3, 2]
    # blocks smaller than the catalogue give the same graph
    blocked = co_like_graph(_ratings(rows, 4), min_count=1, top_k=1, weighting="count", block=1)
    np.testing.assert_array_equal(blocked.csr().toarray(), dense)


def test_two_disjoint_communities_stay_apart():
    data = planted_implicit(n_users=60, n_items=30, n_clusters=2, per_user=6, seed=1)
    graph = co_like_graph(data, min_count=1)
    community = np.arange(30) % 2
    rows = np.repeat(np.arange(30), graph.degree())
    assert graph.n_edges > 0
    assert (community[rows] == community[graph.indices]).all()


def test_bad_settings_are_refused_by_name():
    data = planted_implicit(n_users=10, n_items=6, n_clusters=2, per_user=2)
    with pytest.raises(ValueError, match="weighting must be one of"):
        co_like_graph(data, weighting="dice")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="top_k"):
        co_like_graph(data, top_k=0)


# ---------------------------------------------------------------------------- the walks
def test_walks_follow_edges_and_never_cross_communities():
    data = planted_implicit(n_users=60, n_items=30, n_clusters=2, per_user=6, seed=1)
    graph = co_like_graph(data, min_count=1)
    dense = graph.csr().toarray()
    community = np.arange(30) % 2
    for p, q in [(1.0, 1.0), (0.25, 4.0), (4.0, 0.25)]:
        paths = random_walks(graph, walks_per_film=3, walk_length=8, p=p, q=q, seed=2).paths
        assert paths.shape == (3 * 30, 8)
        assert (dense[paths[:, :-1], paths[:, 1:]] > 0).all()  # every step is an edge
        assert (community[paths] == community[paths[:, :1]]).all()


def test_films_without_edges_start_no_walk():
    dense = np.zeros((4, 4))
    dense[0, 1] = dense[1, 0] = 1.0
    paths = random_walks(dense_film_graph(dense), walks_per_film=5, walk_length=3).paths
    assert sorted(set(paths[:, 0].tolist())) == [0, 1] and len(paths) == 10


def test_first_order_steps_are_proportional_to_edge_weights():
    """From the centre of a star with weights 1, 2, 5 the walk moves to each leaf with
    probability w / 8."""
    dense = np.zeros((4, 4))
    for leaf, w in [(1, 1.0), (2, 2.0), (3, 5.0)]:
        dense[0, leaf] = dense[leaf, 0] = w
    paths = random_walks(
        dense_film_graph(dense), walks_per_film=20_000, walk_length=2, seed=3
    ).paths
    nxt = paths[paths[:, 0] == 0, 1]
    shares = np.bincount(nxt, minlength=4)[1:] / len(nxt)
    np.testing.assert_allclose(shares, [1 / 8, 2 / 8, 5 / 8], atol=0.015)


def test_node2vec_second_step_follows_its_p_q_definition():
    """node2vec's bias, measured: after t → v, the next film x has probability ∝ w_vx · α(t, x)
    with α = 1/p for x = t, 1 when x is also t's neighbour, 1/q otherwise.

    Graph: t–v (1), v–a (2), v–b (1), t–a (1); b is not t's neighbour. With p = 0.5, q = 4:
    unnormalised t: 1·2 = 2, a: 2·1 = 2, b: 1·0.25 = 0.25, so shares 2/4.25, 2/4.25, 0.25/4.25.
    A uniform walk (p = q = 1) would give 1/4, 2/4, 1/4 instead."""
    t, v, a, b = 0, 1, 2, 3
    dense = np.zeros((4, 4))
    for x, y, w in [(t, v, 1.0), (v, a, 2.0), (v, b, 1.0), (t, a, 1.0)]:
        dense[x, y] = dense[y, x] = w
    graph = dense_film_graph(dense)

    def shares(p: float, q: float) -> np.ndarray:
        paths = random_walks(graph, walks_per_film=60_000, walk_length=3, p=p, q=q, seed=4).paths
        third = paths[(paths[:, 0] == t) & (paths[:, 1] == v), 2]
        return np.bincount(third, minlength=4)[[t, a, b]] / len(third)

    np.testing.assert_allclose(shares(0.5, 4.0), np.array([2, 2, 0.25]) / 4.25, atol=0.02)
    np.testing.assert_allclose(shares(1.0, 1.0), [0.25, 0.5, 0.25], atol=0.02)


def test_walks_are_reproducible_and_checked():
    graph = co_like_graph(planted_implicit(n_users=30, n_items=12, per_user=3, seed=5), min_count=1)
    one = random_walks(graph, 2, 5, p=0.5, q=2.0, seed=7).paths
    np.testing.assert_array_equal(one, random_walks(graph, 2, 5, p=0.5, q=2.0, seed=7).paths)
    with pytest.raises(ValueError, match="p and q must be positive"):
        random_walks(graph, p=0.0)
    with pytest.raises(ValueError, match="walk_length"):
        random_walks(graph, walk_length=0)
