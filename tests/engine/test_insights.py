"""Insights on planted data, where the right picture is known: the planted factors, biases and
neighbours are what the factor map, bias rankings and ego graphs must show."""

from __future__ import annotations

import dataclasses
import json
import re

import networkx as nx
import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from engine import insights
from engine.data.synthetic import planted_explicit
from engine.models import create
from engine.models.base import UserState, cosine_neighbours
from engine.models.baselines import BiasBaseline


@pytest.fixture(scope="module")
def planted():
    return planted_explicit(n_users=200, n_items=120, density=0.25, seed=3)


def planted_biases(planted) -> np.ndarray:
    """The planted film biases, up to a constant: truth − p·q is b_u + b_i (+ mean)."""
    return (planted.truth - planted.user_factors @ planted.item_factors.T).mean(axis=0)


class PlantedModel(BiasBaseline):
    """The truth as a model: film vectors and biases are the planted ones (optionally embedded
    in more dimensions), so every insight has an exact expected answer."""

    def __init__(self, vectors: np.ndarray, bias: np.ndarray | None, **kw):
        super().__init__(**kw)
        self._vectors, self._bias = vectors, bias

    def item_vectors(self):
        return self._vectors

    def item_bias(self):
        return self._bias


@pytest.fixture(scope="module")
def embedded_model(planted):
    """Planted rank-3 factors embedded in 8 dimensions by a random rotation."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(8, 3)))  # 8×3, orthonormal columns
    vectors = planted.item_factors @ basis.T
    model = PlantedModel(vectors, planted_biases(planted)).fit(planted.ratings)
    return model, basis


@pytest.fixture(scope="module")
def mf(planted):
    """A small MF actually fitted on the planted ratings."""
    return create("mf", factors=6, epochs=60, lr=0.05, regularization=0.01, device="cpu").fit(
        planted.ratings
    )


# ------------------------------------------------------------------------------------ factor map
def test_pca_recovers_planted_subspace(planted, embedded_model):
    model, basis = embedded_model
    pca = insights.PCA.fit(model.item_vectors())
    # the first three axes carry all the variance and span the planted subspace
    assert pca.explained[:3].sum() == pytest.approx(1.0, abs=1e-9)
    assert np.isclose(pca.explained.sum(), 1.0)
    assert (np.diff(pca.explained) <= 1e-12).all()
    top = pca.components[:3]
    # principal angles between span(top) and span(basis) are all zero: singular values = 1
    cosines = np.linalg.svd(top @ basis, compute_uv=False)
    np.testing.assert_allclose(cosines, 1.0, atol=1e-8)
    # signs are fixed: each axis' largest loading is positive
    assert (top[np.arange(3), np.abs(top).argmax(axis=1)] > 0).all()


def test_fitted_mf_map_recovers_planted_factors(planted, mf):
    _, _, explained = insights.factor_map(mf, planted.ratings, components=(0, 1))
    assert explained[:3].sum() > 0.6  # rank-3 truth: three strong axes, then noise
    assert explained[2] > 2 * explained[3]
    pca = insights.PCA.fit(mf.item_vectors())
    coords = np.c_[pca.transform(mf.item_vectors(), (0, 1, 2)), np.ones(mf.n_items)]
    coef, *_ = np.linalg.lstsq(coords, planted.item_factors, rcond=None)
    residual = planted.item_factors - coords @ coef
    r2 = 1 - residual.var(axis=0) / planted.item_factors.var(axis=0)
    assert (r2 > 0.9).all(), r2


def test_factor_map_columns_filter_and_components(planted, embedded_model):
    model, _ = embedded_model
    counts = planted.ratings.item_counts()
    films, members, explained = insights.factor_map(model, planted.ratings, min_ratings=50)
    assert len(films) == (counts >= 50).sum() > 2
    assert (films["n_ratings"] >= 50).all()
    for col in ("item", "movieId", "label", "title", "year", "genres", "main_genre", "x", "y"):
        assert col in films.columns
    assert members.empty and list(members.columns) == ["member", "n_ratings", "x", "y"]
    # axes (2, 0) are the fit's third and first coordinates
    pca = insights.PCA.fit(model.item_vectors()[films["item"].to_numpy()])
    want = pca.transform(model.item_vectors()[films["item"].to_numpy()], (2, 0))
    swapped, _, _ = insights.factor_map(model, planted.ratings, components=(2, 0), min_ratings=50)
    np.testing.assert_allclose(swapped[["x", "y"]].to_numpy(), want)
    assert len(explained) == 8
    with pytest.raises(ValueError, match="two different components"):
        insights.factor_map(model, planted.ratings, components=(1, 1))
    with pytest.raises(ValueError, match="between 0 and 7"):
        insights.factor_map(model, planted.ratings, components=(0, 8))
    with pytest.raises(insights.InsightUnavailable, match="lower the minimum"):
        insights.factor_map(model, planted.ratings, min_ratings=10_000)


def test_members_are_placed_in_their_taste_direction(planted, embedded_model):
    model, _ = embedded_model
    pca = insights.PCA.fit(model.item_vectors())
    states = {
        "along pc1": UserState(
            np.array([0]), np.array([4.0]), vector=torch.tensor(2 * pca.components[0])
        ),
        "along -pc2": UserState(
            np.array([1]), np.array([3.0]), vector=torch.tensor(-pca.components[1])
        ),
        "new": UserState(np.empty(0, np.int64), np.empty(0, np.float32), vector=torch.zeros(8)),
        "no vector": UserState(np.array([2]), np.array([5.0])),
    }
    _, members, _ = insights.factor_map(model, planted.ratings, members=states)
    got = members.set_index("member")
    assert list(got.index) == ["along pc1", "along -pc2", "new"]  # no vector: not placed
    np.testing.assert_allclose(
        got.loc["along pc1", ["x", "y"]].astype(float), [2.0, 0.0], atol=1e-6
    )
    np.testing.assert_allclose(
        got.loc["along -pc2", ["x", "y"]].astype(float), [0.0, -1.0], atol=1e-6
    )
    np.testing.assert_allclose(got.loc["new", ["x", "y"]].astype(float), [0.0, 0.0])
    assert got.loc["new", "n_ratings"] == 0


def test_folded_in_member_points_towards_the_films_they_love(planted, mf):
    films, _, _ = insights.factor_map(mf, planted.ratings, components=(0, 1))
    by_x = films.sort_values("x")
    loved, hated = by_x["item"].to_numpy()[-8:], by_x["item"].to_numpy()[:8]
    fan = mf.fold_in(np.r_[loved, hated], np.r_[np.full(8, 5.0), np.full(8, 1.0)])
    critic = mf.fold_in(np.r_[loved, hated], np.r_[np.full(8, 1.0), np.full(8, 5.0)])
    _, members, _ = insights.factor_map(mf, planted.ratings, members={"fan": fan, "critic": critic})
    got = members.set_index("member")
    assert got.loc["fan", "x"] > abs(got.loc["fan", "y"])
    assert got.loc["critic", "x"] < -abs(got.loc["critic", "y"])


def test_models_without_vectors_or_biases_say_so(planted):
    popularity = create("popularity").fit(planted.ratings)
    with pytest.raises(insights.InsightUnavailable, match="no film vectors"):
        insights.factor_map(popularity, planted.ratings)
    with pytest.raises(insights.InsightUnavailable, match="no film biases"):
        insights.bias_ranking(popularity, planted.ratings)
    other = planted_explicit(n_users=20, n_items=30, seed=9).ratings
    with pytest.raises(ValueError, match="retrain"):
        insights.factor_map(popularity, other)


# ------------------------------------------------------------------------------------ biases
def test_bias_ranking_orders_planted_biases(planted, embedded_model):
    model, _ = embedded_model
    truth = planted_biases(planted)
    counts = planted.ratings.item_counts()
    loved, hated = insights.bias_ranking(model, planted.ratings, min_ratings=45, n=7)
    eligible = np.flatnonzero(counts >= 45)
    order = eligible[np.argsort(-truth[eligible], kind="stable")]
    assert loved["item"].tolist() == order[:7].tolist()
    assert hated["item"].tolist() == order[::-1][:7].tolist()
    assert (loved["n_ratings"] >= 45).all() and (hated["n_ratings"] >= 45).all()
    assert loved["bias"].is_monotonic_decreasing and hated["bias"].is_monotonic_increasing
    assert {"label", "genres", "mean_rating"} <= set(loved.columns)


def test_fitted_models_rank_biases_like_the_truth(planted, mf):
    truth = planted_biases(planted)
    for model in (mf, create("baseline").fit(planted.ratings)):
        loved, hated = insights.bias_ranking(model, planted.ratings, min_ratings=1, n=120)
        assert len(loved) == 120
        rho = spearmanr(loved["bias"], truth[loved["item"].to_numpy()])[0]
        assert rho > 0.9, (model.name, rho)
        # the most loved film by the model is among the planted top 10
        assert truth[loved["item"].iloc[0]] >= np.sort(truth)[-10]
        assert truth[hated["item"].iloc[0]] <= np.sort(truth)[9]


# ------------------------------------------------------------------------------------ neighbours
def test_similar_films_are_cosine_neighbours_with_min_ratings(planted, embedded_model):
    model, _ = embedded_model
    idx, sims = cosine_neighbours(model.item_vectors(), 5, 6)
    frame = insights.similar_films(model, planted.ratings, 5, k=6)
    assert frame["item"].tolist() == idx.tolist()
    np.testing.assert_allclose(frame["similarity"], sims, rtol=1e-5)
    counts = planted.ratings.item_counts()
    popular = insights.similar_films(model, planted.ratings, 5, k=6, min_ratings=55)
    assert (popular["n_ratings"] >= 55).all() and len(popular) == 6
    everything, _ = cosine_neighbours(model.item_vectors(), 5, 119)
    assert popular["item"].tolist() == [i for i in everything if counts[i] >= 55][:6]
    with pytest.raises(ValueError, match="not in the catalogue"):
        insights.similar_films(model, planted.ratings, 500)


def test_similar_members_by_vectors_and_by_scores(planted, mf):
    a = mf.fold_in([0, 1, 2, 3], [5.0, 5.0, 1.0, 1.0])
    b = mf.fold_in([0, 1, 2, 3], [5.0, 4.5, 1.0, 1.5])
    c = mf.fold_in([0, 1, 2, 3], [1.0, 1.0, 5.0, 5.0])
    empty = mf.fold_in([], [])
    members = {"ann": a, "bob": b, "cy": c, "dee": empty}
    sim = insights.member_similarity(mf, members)
    assert sim.loc["ann", "bob"] > 0.9 and sim.loc["ann", "cy"] < -0.5
    assert np.isnan(sim.loc["dee", "ann"]) and np.isnan(sim.loc["dee", "dee"])
    pairs = insights.similar_members(mf, members)
    assert pairs.iloc[0][["member", "other"]].tolist() == ["ann", "bob"]
    assert "dee" not in set(pairs["member"]) | set(pairs["other"])
    assert len(pairs) == 3 and pairs["similarity"].is_monotonic_decreasing
    # a model without member vectors falls back to predicted scores (baseline: bias only)
    baseline = create("baseline").fit(planted.ratings)
    states = {
        "x": baseline.fold_in([0], [5.0]),
        "y": baseline.fold_in([1], [1.0]),
        "z": baseline.fold_in([], []),
    }
    sim = insights.member_similarity(baseline, states, planted.ratings)
    assert sim.loc["x", "y"] == pytest.approx(1.0)  # a bias-only model sees everyone alike
    assert np.isnan(sim.loc["z", "x"])
    assert insights.similar_members(baseline, {}).empty


# ------------------------------------------------------------------------------------ ego graph
def full_knn(model, n_items: int, k: int) -> nx.DiGraph:
    graph = nx.DiGraph()
    for i in range(n_items):
        idx, sims = model.similar_items(i, k)
        graph.add_weighted_edges_from((i, int(j), float(s)) for j, s in zip(idx, sims, strict=True))
    return graph


@pytest.mark.parametrize(("radius", "k"), [(0, 4), (1, 4), (2, 3), (3, 2)])
def test_similarity_graph_is_the_ego_graph_of_the_knn_graph(planted, embedded_model, radius, k):
    model, _ = embedded_model
    graph = insights.similarity_graph(model, planted.ratings, 7, radius=radius, neighbours=k)
    expected = nx.ego_graph(full_knn(model, planted.ratings.n_items, k), 7, radius=radius)
    assert set(graph.nodes) == set(expected.nodes)
    assert graph.number_of_nodes() <= sum(k**h for h in range(radius + 1))
    assert {frozenset(e) for e in graph.edges} == {frozenset(e) for e in expected.edges}
    assert graph.graph["center"] == 7 and graph.nodes[7]["hops"] == 0
    if radius >= 1:
        assert graph.degree(7) >= k
        centre_idx, centre_sims = model.similar_items(7, k)
        for j, s in zip(centre_idx, centre_sims, strict=True):
            assert graph[7][int(j)]["weight"] == pytest.approx(float(s))
    counts = planted.ratings.item_counts()
    for node, data in graph.nodes(data=True):
        assert 0 <= data["hops"] <= radius
        assert data["popularity"] == counts[node]
        assert data["label"] == planted.ratings.movies["label"].iloc[node]
        assert data["genre"] == planted.ratings.movies["genres"].iloc[node]  # one genre each here


def test_similarity_graph_respects_min_ratings(planted, embedded_model):
    model, _ = embedded_model
    graph = insights.similarity_graph(
        model, planted.ratings, 7, radius=2, neighbours=4, min_ratings=50
    )
    assert graph.number_of_nodes() > 5
    assert all(d["popularity"] >= 50 for n, d in graph.nodes(data=True) if n != 7)
    with pytest.raises(ValueError, match="radius"):
        insights.similarity_graph(model, planted.ratings, 7, radius=-1)


def _vis_nodes(page: str) -> list[dict]:
    found = re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL)
    assert found, "no node data in the page"
    return json.loads(found.group(1))


EVIL = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
]


def test_main_genre_is_the_first_family_people_name(planted):
    movies = planted.ratings.movies.copy()
    movies["genres"] = (
        ["Comedy|Drama|Romance|War"] * 50  # Forrest Gump: a drama, not a war film
        + ["Adventure|Animation|Children|Comedy|Fantasy"] * 10  # Toy Story
        + ["Action|Sci-Fi|Thriller"] * 20  # The Matrix
        + ["Fantasy|IMAX"] * 20  # IMAX is a format; Fantasy folds into sci-fi & fantasy
        + ["Western"] * 19
        + [""]
    )
    cat = dataclasses.replace(planted.ratings, movies=movies)
    genres = insights.main_genres(cat)
    assert genres[0] == "Drama" and genres[55] == "Animation" and genres[70] == "Sci-Fi"
    assert genres[90] == "Sci-Fi" and genres[110] == "Action"
    assert genres[-1] == insights.NO_GENRE
    assert len(set(genres)) == 5
