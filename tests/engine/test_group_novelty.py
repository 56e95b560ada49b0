"""Novelty (issue 14): popularity percentiles computed by hand, the trade it makes, and a room
whose picks move from the canon to less-rated films as the weight grows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine import group
from engine.data.ratings import MIN_RATING, Ratings
from engine.data.synthetic import catalogue as synthetic_catalogue
from engine.group import MAX_NOVELTY, Member, popularity, recommend, with_novelty
from engine.group.novelty import spread
from engine.models.base import UserState, as_index_arrays


def test_popularity_is_the_mid_rank_percentile_of_counts():
    # counts 5, 1, 9, 1: ranks 3, 1.5, 4, 1.5 (ties share 1.5) -> (rank-1)/3
    np.testing.assert_allclose(popularity([5, 1, 9, 1]), [2 / 3, 0.5 / 3, 1.0, 0.5 / 3])
    np.testing.assert_allclose(popularity([7]), [0.5])
    np.testing.assert_allclose(popularity([3, 3, 3]), [0.5, 0.5, 0.5])
    assert popularity([]).shape == (0,)


def test_spread_is_each_members_gap_from_best_to_depth_th_best():
    pred = np.array([[4.0, 4.5, 1.0, 3.0], [3.0, 5.0, 0.9, 4.9]])
    np.testing.assert_allclose(spread(pred, depth=2), [0.5, 0.1])
    np.testing.assert_allclose(spread(pred, depth=3), [1.5, 2.0])
    np.testing.assert_allclose(spread(pred, depth=100), [3.5, 4.1])  # fewer films: the last


def test_with_novelty_trades_in_each_members_own_units_on_the_star_scale():
    pred = np.array([[4.0, 4.5, 1.0], [3.0, 5.0, 0.9]])
    pop = np.array([0.0, 1.0, 0.5])
    # depth 2: spreads 0.5 (4.5 - 4.0) and 2.0 (5.0 - 3.0); penalty = weight x spread x pop
    out = with_novelty(pred, pop, 1.0, depth=2)
    np.testing.assert_allclose(out, [[4.0, 4.0, 0.75], [3.0, 3.0, MIN_RATING]])
    assert with_novelty(pred, pop, 0.0) is pred  # nothing to trade: the same array
    assert pred[0, 1] == 4.5  # never changed in place
    # the same trade whatever a model's scale: stars squeezed tenfold move the same way
    squeezed = 4.5 + (pred - 4.5) / 10
    np.testing.assert_array_equal(
        np.argsort(-with_novelty(squeezed, pop, 1.0, depth=2), axis=1, kind="stable"),
        np.argsort(-out, axis=1, kind="stable"),
    )


@pytest.mark.parametrize("bad", [-0.1, MAX_NOVELTY + 0.5, float("nan"), "lots", None])
def test_bad_novelty_names_the_range(bad):
    with pytest.raises(ValueError, match=r"novelty must be"):
        with_novelty(np.zeros((1, 2)), np.zeros(2), bad)


def test_popularity_must_match_the_films():
    with pytest.raises(ValueError, match="popularity has 3 films but the predictions have 2"):
        with_novelty(np.zeros((1, 2)), np.zeros(3), 0.5)


class _Stars:
    """A model whose predictions are known: everyone predicts ``stars`` for every film."""

    kind = "explicit"

    def __init__(self, stars: np.ndarray):
        self.stars = stars
        self.n_items = len(stars)

    def fold_in(self, items, values) -> UserState:
        items, values = as_index_arrays(items, values, self.n_items)
        return UserState(items=items, values=values)

    def score(self, state: UserState) -> torch.Tensor:
        return torch.tensor(self.stars, dtype=torch.float32)

    def expected_stars(self, state: UserState) -> torch.Tensor | None:
        return None


@pytest.fixture
def canon():
    """Six films: 0-2 rated by many (the canon), 3-5 by few. Everyone likes film 0 best (4.6),
    then the less-known 3 (4.4) and 4 (4.25); the canon's 1 and 2 sit at 4.2 and 4.1."""
    counts = [50, 40, 30, 3, 2, 1]
    rows = [(u, i + 1, 4.0) for i, c in enumerate(counts) for u in range(c)]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    ratings = Ratings.from_frames(frame, synthetic_catalogue(6), name="canon")
    stars = np.array([4.6, 4.2, 4.1, 4.4, 4.25, 2.0])
    return ratings, _Stars(stars)


def test_more_novelty_moves_the_picks_to_less_rated_films(canon):
    ratings, model = canon
    room = [Member("Ann", np.array([5]), np.array([2.0]))]  # rated film 5: not a candidate
    plain = recommend(model, ratings, room, strategy="average", k=3)
    assert plain["item"].tolist() == [0, 3, 4]
    # weight 1: spread 4.6 - 4.1 = 0.5 (five candidates, fewer than DEPTH); popularity 1.0, 0.8,
    # 0.6, 0.4, 0.2 for films 0..4 (5 is out) -> penalties 0.5, 0.4, 0.3, 0.2, 0.1 ->
    # 4.6-0.5, 4.2-0.4, 4.1-0.3, 4.4-0.2, 4.25-0.1 = 4.1, 3.8, 3.8, 4.2, 4.15
    some = recommend(model, ratings, room, strategy="average", k=3, novelty=1.0)
    assert some["item"].tolist() == [3, 4, 0]
    np.testing.assert_allclose(some["group_score"], [4.2, 4.15, 4.1], atol=1e-4)
    np.testing.assert_allclose(some["pred:Ann"], [4.4, 4.25, 4.6])  # the plain stars, shown
    assert some.attrs["novelty"] == 1.0 and plain.attrs["novelty"] == 0.0
    with pytest.raises(ValueError, match="novelty must be in"):
        recommend(model, ratings, room, novelty=-1)
    assert group.check_novelty(MAX_NOVELTY) == MAX_NOVELTY


def test_popularity_rank_counts_from_the_most_rated_film():
    from engine.evaluate.protocol_novelty import popularity_rank

    np.testing.assert_array_equal(popularity_rank([5, 1, 9, 1, 9]), [3, 4, 1, 4, 1])
