"""Catalogue statistics: hand-computed on a tiny catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.catalogue import PRIOR_DAMPING, parse_genres
from engine.data.ratings import Ratings


@pytest.fixture
def tiny() -> Ratings:
    movies = pd.DataFrame(
        {
            "movieId": [10, 20, 30],
            "title": ["A", "B", "C"],
            "year": pd.array([1990, None, 2001], dtype="Int64"),
            "genres": ["Action|Comedy", "(no genres listed)", "Comedy"],
            "label": ["A (1990)", "B", "C (2001)"],
        }
    )
    return Ratings(
        users=np.array([0, 0, 1]),
        items=np.array([0, 2, 0]),
        values=np.array([4.0, 2.0, 5.0]),
        user_ids=np.array([1, 2]),
        movies=movies,
    )


def test_parse_genres_drops_the_placeholder_and_blanks():
    assert parse_genres("Action|Comedy") == ["Action", "Comedy"]
    assert parse_genres("(no genres listed)") == []
    assert parse_genres(None) == []
    assert parse_genres("Drama||") == ["Drama"]


def test_counts_means_prior_by_hand(tiny):
    stats = tiny.stats
    assert stats.counts.tolist() == [2.0, 0.0, 1.0]
    assert stats.means[0] == pytest.approx(4.5)
    assert np.isnan(stats.means[1])
    mu = (4 + 2 + 5) / 3
    assert stats.typical == pytest.approx(mu)
    assert stats.prior[0] == pytest.approx((9 + PRIOR_DAMPING * mu) / (2 + PRIOR_DAMPING))
    assert stats.prior[1] == pytest.approx(mu)  # nobody rated it: the global mean
    assert stats.popularity.tolist() == [1.0, 0.0, 0.5]


def test_genres_masks_years(tiny):
    stats = tiny.stats
    assert stats.genres == ["Action", "Comedy"]
    assert stats.genre_mask("Comedy").tolist() == [True, False, True]
    assert stats.genre_mask("Western").tolist() == [False, False, False]
    assert stats.first_genre() == ["Action", "", "Comedy"]
    assert stats.year_range() == (1990, 2001)
    assert np.isnan(stats.years[1])


def test_entropy_and_seen_by(tiny):
    stats = tiny.stats
    assert stats.entropy[0] == pytest.approx(1.0)  # two different ratings: one bit
    assert stats.entropy[2] == pytest.approx(0.0)
    assert stats.seen_by.toarray().tolist() == [[1, 1], [0, 0], [1, 0]]


def test_stats_are_cached_and_read_only(tiny):
    assert tiny.stats is tiny.stats
    with pytest.raises(ValueError):
        tiny.stats.counts[0] = 99
