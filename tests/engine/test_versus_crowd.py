"""What a room will love more than the crowd, on a catalogue small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.ratings import Ratings
from engine.group.versus_crowd import room_loves_more

FILMS = [
    (1, "Crowd Pleaser", 1994, "Drama"),
    (2, "Cult Oddity", 1999, "Comedy"),
    (3, "Lukewarm Thriller", 2001, "Thriller"),
    (4, "Rarely Seen", 2003, "Drama"),
    (5, "Seen Already", 1995, "Comedy"),
]


def catalogue() -> Ratings:
    """Crowd means by construction: film 1 4.5, film 2 2.5, film 3 3.0 (four raters each),
    film 4 5.0 from one rater only, film 5 2.0."""
    per_film = {1: [4.0, 5.0, 4.0, 5.0], 2: [2.0, 3.0, 2.0, 3.0], 3: [3.0, 3.0, 3.0, 3.0],
                4: [5.0], 5: [2.0, 2.0, 2.0, 2.0]}  # fmt: skip
    rows = [(u, film, r) for film, rs in per_film.items() for u, r in enumerate(rs)]
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    movies = pd.DataFrame(FILMS, columns=["movieId", "title", "year", "genres"])
    return Ratings.from_frames(ratings, movies)


def test_the_gap_is_the_rooms_mean_minus_the_crowds_mean_ranked_by_hand():
    cat = catalogue()
    item = {int(m): i for i, m in enumerate(cat.movies["movieId"])}
    expected = np.zeros((2, cat.n_items))
    # Ana and Ben: the crowd pleaser 4.7/4.5 (room 4.6, gap +0.1); the cult oddity 4.0/4.2
    # (room 4.1, gap +1.6); the thriller 4.0/3.8 (room 3.9, gap +0.9); the rarely seen 5.0/5.0
    # (one crowd rating: no crowd opinion); "Seen Already" 5.0/5.0 (Ana rated it: left out)
    for film, (ana, ben) in {1: (4.7, 4.5), 2: (4.0, 4.2), 3: (4.0, 3.8), 4: (5.0, 5.0),
                             5: (5.0, 5.0)}.items():  # fmt: skip
        expected[:, item[film]] = (ana, ben)
    found = room_loves_more(
        expected, ["Ana", "Ben"], cat, seen=np.array([item[5]]), min_ratings=2, at_least=3.5
    )
    assert [int(cat.movies["movieId"].iloc[i]) for i in found["item"]] == [2, 3, 1]
    np.testing.assert_allclose(found["gap"], [1.6, 0.9, 0.1], atol=1e-6)
    np.testing.assert_allclose(found["crowd"], [2.5, 3.0, 4.5], atol=1e-6)
    np.testing.assert_allclose(found["stars:Ben"], [4.2, 3.8, 4.5], atol=1e-6)
    assert found["label"].iloc[0] == "Cult Oddity (1999)"


def test_a_room_below_the_crowd_everywhere_gets_no_list():
    cat = catalogue()
    expected = cat.stats.means[None, :] - 0.1  # 0.1★ under the crowd on every film
    found = room_loves_more(
        expected, ["Ana"], cat, seen=np.array([], int), min_ratings=1, at_least=0.0
    )
    assert found.empty


def test_a_room_that_expects_little_is_not_said_to_love_it():
    cat = catalogue()
    expected = np.full((1, cat.n_items), 3.2)  # above the oddity's 2.5, but not love
    found = room_loves_more(expected, ["Ana"], cat, seen=np.array([], int), min_ratings=2)
    assert found.empty
    lowered = room_loves_more(
        expected, ["Ana"], cat, seen=np.array([], int), min_ratings=2, at_least=3.0
    )
    assert int(cat.movies["movieId"].iloc[int(lowered["item"].iloc[0])]) == 5  # crowd 2.0


def test_stars_of_the_wrong_shape_are_refused_with_the_shapes():
    cat = catalogue()
    with pytest.raises(ValueError, match="members × films"):
        room_loves_more(np.zeros((1, 3)), ["Ana"], cat, seen=np.array([], int))
