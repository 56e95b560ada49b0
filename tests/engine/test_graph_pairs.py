"""Film-pair link prediction pieces (protocols Graph-A and Graph-B), checked by hand and
against networkx's definitions of the heuristics."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from graph_helpers import dense_film_graph

from engine.data.film_graph import FilmGraph, co_like_graph
from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue, planted_implicit
from engine.evaluate.graph_pairs import (
    adamic_adar,
    binary_adjacency,
    common_neighbours,
    context_scorer,
    draw_negatives,
    edge_pairs,
    pair_cosines,
    pair_keys,
    preferential_attachment,
    roc_auc,
    t_interval,
)
from engine.evaluate.graph_search import validation_split
from engine.evaluate.protocol_graph_a import hold_out_edges, leak_free_ratings, remove_edges
from engine.evaluate.protocol_graph_b import new_edges


def _random_graph(n: int = 30, p: float = 0.2, seed: int = 0) -> FilmGraph:
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < p, k=1)
    return dense_film_graph((upper | upper.T).astype(np.float64))


def _ratings(rows: list[tuple[int, int, float]], n_items: int) -> Ratings:
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, catalogue(n_items), name="hand")


def test_auc_by_hand():
    assert roc_auc(np.array([3.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx(3 / 4)
    assert roc_auc(np.array([1.0]), np.array([1.0])) == pytest.approx(0.5)  # a tie counts ½
    assert roc_auc(np.array([2.0, 2.0]), np.array([1.0])) == 1.0


def test_t_interval_by_hand():
    """Values 1, 2, 3: mean 2, sd 1, half-width t(0.975, 2) · 1/√3 = 4.3027 / 1.7321."""
    mean, half = t_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)


def test_pair_cosines_by_hand():
    vectors = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        pair_cosines(vectors, np.array([[0, 1], [0, 2]])), [1 / np.sqrt(2), 0.0]
    )


def test_heuristics_match_networkx_definitions():
    graph = _random_graph()
    g = nx.from_scipy_sparse_array(graph.csr())
    pairs = np.array([(i, j) for i in range(30) for j in range(i + 1, 30)])
    adjacency = binary_adjacency(graph)
    as_tuples = [tuple(map(int, p)) for p in pairs]
    expected_aa = [s for _, _, s in nx.adamic_adar_index(g, as_tuples)]
    expected_pa = [s for _, _, s in nx.preferential_attachment(g, as_tuples)]
    expected_cn = [len(list(nx.common_neighbors(g, i, j))) for i, j in as_tuples]
    np.testing.assert_allclose(adamic_adar(adjacency, pairs), expected_aa, rtol=1e-9)
    np.testing.assert_allclose(common_neighbours(adjacency, pairs), expected_cn)
    np.testing.assert_allclose(preferential_attachment(graph.degree(), pairs), expected_pa)


def test_negatives_are_distinct_non_edges_and_degree_draws_follow_degree():
    """A star (film 0 linked to 1..9) plus a path 10–11: uniform and degree-weighted draws
    never return an edge; weighted by degree, film 0 (degree 9 of 20) is an end of far more
    draws than uniformly (1 film in 12)."""
    dense = np.zeros((12, 12))
    dense[0, 1:10] = dense[1:10, 0] = 1.0
    dense[10, 11] = dense[11, 10] = 1.0
    graph = dense_film_graph(dense)
    forbidden = pair_keys(edge_pairs(graph), 12)
    films = np.arange(12)
    rng = np.random.default_rng(0)
    uniform = draw_negatives(films, None, 40, forbidden, 12, rng)
    weighted = draw_negatives(films, graph.degree(), 40, forbidden, 12, rng)
    for pairs in (uniform, weighted):
        keys = pair_keys(pairs, 12)
        assert len(pairs) == 40 and len(np.unique(keys)) == 40
        assert not np.isin(keys, forbidden).any() and (pairs[:, 0] < pairs[:, 1]).all()
    # film 0 is linked to every film but 10 and 11: as a negative's end it pairs only with them
    assert set(map(tuple, weighted[weighted[:, 0] == 0].tolist())) <= {(0, 10), (0, 11)}
    assert (weighted == 0).any(axis=1).sum() > (uniform == 0).any(axis=1).sum()


def test_hold_out_keeps_every_film_on_the_train_graph():
    graph = _random_graph(n=40, p=0.15, seed=3)
    split = hold_out_edges(graph, 0.33, seed=0)
    n = graph.n_films
    full_keys = set(pair_keys(edge_pairs(graph), n).tolist())
    train_keys = set(pair_keys(edge_pairs(split.train), n).tolist())
    held_keys = set(pair_keys(split.held, n).tolist())
    assert train_keys | held_keys == full_keys and not train_keys & held_keys
    assert 0.2 * len(full_keys) < len(held_keys) <= 0.33 * len(full_keys) + 1
    on_full = graph.degree() > 0
    np.testing.assert_array_equal(split.train.degree() > 0, on_full)
    assert hold_out_edges(graph, 0.33, seed=0).held.tolist() == split.held.tolist()


def test_removing_edges_keeps_the_rest_and_their_weights():
    dense = np.array([[0, 0.5, 0.2], [0.5, 0, 0.7], [0.2, 0.7, 0]])
    out = remove_edges(dense_film_graph(dense), np.array([[0, 2]]))
    expected = dense.copy()
    expected[0, 2] = expected[2, 0] = 0
    np.testing.assert_allclose(out.csr().toarray(), expected, rtol=1e-6)


def test_leak_free_ratings_leave_nobody_liking_both_ends_of_a_held_edge():
    """a and b like films 0, 1, 2; c likes 0 and rates 1 at 2★. Held-out edge (0, 1): a and b
    each lose one of their two likes; c keeps everything (a 2★ is not a like); edge (0, 2)'s
    likes survive wherever the coin spared them."""
    rows = [(1, 1, 5.0), (1, 2, 4.0), (1, 3, 4.0), (2, 1, 4.0), (2, 2, 5.0), (2, 3, 4.0)]
    rows += [(3, 1, 5.0), (3, 2, 2.0)]
    ratings = _ratings(rows, 3)
    clean, dropped = leak_free_ratings(ratings, np.array([[0, 1]]), 4.0, seed=0)
    assert dropped == 2 and len(clean) == len(ratings) - 2
    for user in range(2):
        items, _ = clean.user_items(user)
        assert len({0, 1} & set(items.tolist())) == 1 and 2 in items
    assert sorted(clean.user_items(2)[0].tolist()) == [0, 1]


def test_new_edges_are_those_the_test_ratings_add_between_films_on_the_train_graph():
    """Full graph: 0–1, 1–2, 2–3, 3–4; train graph: 0–1, 2–3. New: 1–2 (both on train) and 3–4
    (film 4 has no train edge: left out)."""
    full = np.zeros((5, 5))
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4)]:
        full[i, j] = full[j, i] = 1.0
    train = np.zeros((5, 5))
    for i, j in [(0, 1), (2, 3)]:
        train[i, j] = train[j, i] = 1.0
    assert new_edges(dense_film_graph(full), dense_film_graph(train)).tolist() == [[1, 2]]


def test_co_like_graph_edges_round_trip_through_edge_pairs():
    rows = [(u, f, 5.0) for u in range(1, 4) for f in (1, 2, 3)]
    graph = co_like_graph(_ratings(rows, 3))
    assert edge_pairs(graph).tolist() == [[0, 1], [0, 2], [1, 2]]


def test_the_search_validates_on_train_edges_only():
    """The validation edges are held out of Graph-A's train graph (draw 0): none is a test edge,
    and the graph the candidates embed lacks both."""
    ratings = planted_implicit(n_users=120, n_items=40, n_clusters=2, per_user=10, seed=1)
    full = co_like_graph(ratings)
    test_edges = hold_out_edges(full, 0.33, seed=0).held
    train, inner, (positives, uniform, by_degree) = validation_split(ratings)
    n = full.n_films
    test_keys = pair_keys(test_edges, n)
    assert len(inner.held) > 10 and not np.isin(pair_keys(inner.held, n), test_keys).any()
    assert np.isin(pair_keys(inner.held, n), pair_keys(edge_pairs(train), n)).all()
    embedded = pair_keys(edge_pairs(inner.train), n)
    assert not np.isin(embedded, test_keys).any()
    assert not np.isin(embedded, pair_keys(inner.held, n)).any()
    assert positives.tolist() == inner.held.tolist()
    assert len(uniform) == len(by_degree) == len(positives)


def test_centre_context_score_by_hand():
    """h0 = (1, 0), h1 = (0.6, 0.8); v0 = (1, 2), v1 = (3, 4): ½(h0·v1 + h1·v0) = ½(3 + 2.2)."""
    score = context_scorer(np.array([[1.0, 0.0], [0.6, 0.8]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(score(np.array([[0, 1], [1, 0]])), [2.6, 2.6], rtol=1e-6)
