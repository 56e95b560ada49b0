"""Skip-gram with negative sampling and EGES side information, from their definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.film_graph import co_like_graph
from engine.data.random_walks import random_walks
from engine.data.ratings import Ratings
from engine.data.synthetic import planted_implicit
from engine.models.skipgram import (
    SideInfo,
    SkipGramNet,
    SkipGramSchedule,
    keep_probabilities,
    side_info,
    skipgram_pairs,
    train_skipgram,
)
from engine.progress import silent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def test_sgns_loss_and_gradient_match_a_hand_computed_case():
    """One pair (centre 0, context 1) and two negatives (2, 3), 2-d vectors:
    h = (1, 0.5); v1 = (0.5, 1), v2 = (1, -1), v3 = (-0.5, 0).
    loss = −log σ(h·v1) − log σ(−h·v2) − log σ(−h·v3), h·v = 1, 0.5, −0.5;
    ∂loss/∂h = −(1 − σ(h·v1)) v1 + σ(h·v2) v2 + σ(h·v3) v3."""
    net = SkipGramNet(4, 2, None, torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.own.weight.zero_()
        net.own.weight[0] = torch.tensor([1.0, 0.5])
        net.context.weight.copy_(torch.tensor([[0, 0], [0.5, 1], [1, -1], [-0.5, 0]]))
    loss = net.loss(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]))
    expected = -np.log(_sigmoid(1.0)) - np.log(_sigmoid(-0.5)) - np.log(_sigmoid(0.5))
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    grad = net.own.weight.grad
    assert grad is not None
    v1, v2, v3 = np.array([0.5, 1]), np.array([1, -1]), np.array([-0.5, 0])
    by_hand = -(1 - _sigmoid(1.0)) * v1 + _sigmoid(0.5) * v2 + _sigmoid(-0.5) * v3
    np.testing.assert_allclose(grad.to_dense()[0].numpy(), by_hand, rtol=1e-5)
    assert float(grad.to_dense()[1:].abs().sum()) == 0.0  # only the centre's row moves


def test_eges_centre_is_the_softmax_weighted_mean_of_own_genre_and_decade():
    """Film 0 has genres {0, 1} and decade 1; attention logits (0, ln 2, ln 3) weigh own, the
    genres' mean and the decade 1 : 2 : 3."""
    side = SideInfo(
        genre_ids=np.array([0, 1, 1]),
        genre_offsets=np.array([0, 2, 3]),
        decade=np.array([1, 0]),
        n_genres=2,
        n_decades=2,
    )
    net = SkipGramNet(2, 2, side, torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.own.weight[0] = torch.tensor([6.0, 0.0])
        net.genre.weight.copy_(torch.tensor([[0.0, 6.0], [0.0, 0.0]]))
        net.decade.weight.copy_(torch.tensor([[9.0, 9.0], [2.0, 2.0]]))
        net.attention.weight[0] = torch.tensor([0.0, np.log(2.0), np.log(3.0)])
    centre = net.centre(torch.tensor([0]))[0].detach().numpy()
    own, genres, decade = np.array([6.0, 0]), np.array([0, 3.0]), np.array([2.0, 2])
    np.testing.assert_allclose(centre, (1 * own + 2 * genres + 3 * decade) / 6, rtol=1e-6)


def test_pairs_are_every_film_within_the_window_both_ways():
    paths = np.array([[0, 1, 2, 1]])
    keep = np.ones(3)
    c, o = skipgram_pairs(paths, 1, keep, np.random.default_rng(0))
    # distance 1: 0-1, 1-2, 2-1 both ways
    assert sorted(zip(c.tolist(), o.tolist(), strict=True)) == sorted(
        [(0, 1), (1, 2), (2, 1), (1, 0), (2, 1), (1, 2)]
    )
    c, o = skipgram_pairs(paths, 2, keep, np.random.default_rng(0))
    assert (c != o).all() and len(c) == 6 + 2  # 0-2 both ways; 1-1 (same film) dropped


def test_subsampling_keeps_frequent_films_with_word2vecs_probability():
    paths = np.array([[0] * 8 + [1] * 2])  # shares 0.8 and 0.2
    keep = keep_probabilities(paths, 3, sample=0.1)
    f = np.array([0.8, 0.2])
    np.testing.assert_allclose(keep[:2], np.minimum((np.sqrt(f / 0.1) + 1) * 0.1 / f, 1))
    assert keep[2] == 1.0  # on no walk: nothing to subsample
    np.testing.assert_array_equal(keep_probabilities(paths, 3, sample=0.0), np.ones(3))


def _communities() -> tuple[Ratings, np.ndarray]:
    data = planted_implicit(n_users=80, n_items=40, n_clusters=2, per_user=8, seed=2)
    return data, np.arange(40) % 2


def _train(data: Ratings, side: SideInfo | None, epochs: int = 5) -> np.ndarray:
    graph = co_like_graph(data, min_count=1)
    walks = random_walks(graph, walks_per_film=10, walk_length=10, seed=0).paths
    net = SkipGramNet(data.n_items, 16, side, torch.Generator().manual_seed(0))
    schedule = SkipGramSchedule(epochs, 512, 5, 0.05, 3, 1e-3)
    train_skipgram(net, walks, data.n_items, schedule, 0, silent)
    vectors = net.film_vectors(data.n_items).numpy()
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_films_of_one_community_end_up_closer_than_films_of_two():
    data, community = _communities()
    vectors = _train(data, None)
    cosine = vectors @ vectors.T
    same = community[:, None] == community[None, :]
    off_diagonal = ~np.eye(len(community), dtype=bool)
    assert cosine[same & off_diagonal].mean() > cosine[~same].mean() + 0.3
    np.fill_diagonal(cosine, -np.inf)
    nearest = cosine.argmax(1)
    assert (community[nearest] == community).all()


def test_eges_places_a_film_nobody_rated_among_films_of_its_kind():
    """Two communities whose films differ in genre and decade (Comedy 1990s vs Horror 1950s),
    plus one Comedy from the 1990s that nobody rated: no walk reaches it, so only its side
    information can place it, next to the comedies (without it, its vector is its random
    initialisation, which no training step touches)."""
    data, _ = _communities()
    n = data.n_items
    movies = pd.DataFrame(
        {
            "movieId": np.arange(1, n + 2),
            "title": [f"Film {i}" for i in range(n + 1)],
            "year": np.where(np.arange(n + 1) % 2 == 0, 1994, 1955),
            "genres": np.where(np.arange(n + 1) % 2 == 0, "Comedy", "Horror"),
        }
    )
    movies.loc[n, ["year", "genres"]] = [1996, "Comedy"]
    frame = pd.DataFrame(
        {
            "userId": data.user_ids[data.users],
            "movieId": data.item_ids[data.items],
            "rating": data.values,
        }
    )
    with_cold = Ratings.from_frames(frame, movies, name="communities+cold")
    cold = int(np.flatnonzero(with_cold.item_ids == n + 1)[0])
    films = with_cold.item_ids[np.arange(with_cold.n_items)] - 1
    comedies = np.flatnonzero((films % 2 == 0) & (np.arange(with_cold.n_items) != cold))
    horrors = np.flatnonzero(films % 2 == 1)

    vectors = _train(with_cold, side_info(with_cold))
    sims = vectors @ vectors[cold]
    assert sims[comedies].mean() > sims[horrors].mean() + 0.3
    assert sims[comedies].min() > sims[horrors].max()


def test_side_info_reads_genres_and_decades_from_the_catalogue():
    data, _ = _communities()
    side = side_info(data)
    assert side.n_genres == 5 + 1  # the five synthetic genres and "no genre"
    starts, stops = side.genre_offsets[:-1], side.genre_offsets[1:]
    assert (stops - starts == 1).all()  # one genre each in the synthetic catalogue
    decades = (1950 + np.arange(data.n_items) % 70) // 10
    # same decade <=> same bucket
    assert (
        (decades[:, None] == decades[None, :]) == (side.decade[:, None] == side.decade[None, :])
    ).all()
