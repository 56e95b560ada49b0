"""Protocol Similar's arithmetic on hand-built score tables whose answers are worked out here."""

from __future__ import annotations

import numpy as np
import pytest

from engine.evaluate.similar_metrics import (
    genre_overlap,
    hit_rate,
    hub_share,
    neighbourhoods,
    popular_share,
)

# scores[i] = film i's scores for films 0..4 (its own entry is ignored)
SCORES = np.array(
    [
        [9.0, 0.5, 0.9, 0.9, 0.1],
        [0.2, 9.0, 0.3, 0.1, -np.inf],
        [0.8, 0.7, 9.0, 0.6, 0.9],
        [0.1, 0.2, 0.3, 9.0, 0.4],
        [0.4, 0.3, 0.2, 0.1, 9.0],
    ]
)


def score(i: int) -> np.ndarray:
    return SCORES[i]


def test_neighbourhoods_rank_ties_by_index_and_skip_ineligible_and_self():
    eligible = np.array([True, True, True, True, False])
    found = neighbourhoods(score, eligible, [(0, 3), (1, 3), (2, 1)], k=2)
    assert found.queries.tolist() == [0, 1, 2, 3]
    # film 0: 2 and 3 tie at 0.9, index breaks the tie; film 4 is not eligible
    assert found.top.tolist() == [[2, 3], [2, 0], [0, 1], [2, 1]]
    # film 3 is 2nd for film 0 (tie, later index); 3rd for film 1; film 1 is 2nd for film 2
    assert found.sequel_ranks.tolist() == [2, 3, 2]


def test_lists_shorter_than_k_are_padded_and_no_evidence_never_lists():
    eligible = np.array([False, True, False, False, True])
    found = neighbourhoods(score, eligible, [], k=2)
    assert found.top.tolist() == [[-1, -1], [1, -1]]  # film 1 scores film 4 -inf


def test_genre_overlap_is_the_mean_jaccard_over_filled_slots():
    genres = [["A", "B"], ["A"], ["C"], ["A", "B", "C"]]
    top = np.array([[1, 3], [2, -1]])
    # 0~1: 1/2, 0~3: 2/3, 1~2: 0
    assert genre_overlap(top, np.array([0, 1]), genres) == pytest.approx((0.5 + 2 / 3 + 0) / 3)


def test_popular_share_and_hub_share():
    popular = np.array([True, False, False, True, False])
    top = np.array([[3, 1], [3, 0], [2, 1], [-1, -1]])
    assert popular_share(top, popular) == pytest.approx(3 / 6)
    assert hub_share(top, popular) == (3, pytest.approx(2 / 4))
    assert hub_share(np.array([[1, 2]]), popular) == (-1, 0.0)


def test_hit_rate_and_its_wilson_interval():
    ranks = np.array([1, 10, 11, 0, 3, 50, 2, 12, 9, 100])  # 0 = never listed
    hit, low, high = hit_rate(ranks, 10)
    assert hit == 0.5
    # Wilson 95 % for 5/10 (Newcombe 1998, Table I): 0.237 to 0.763
    assert (round(low, 3), round(high, 3)) == (0.237, 0.763)
