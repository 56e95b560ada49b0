"""Co-watching and damped vector similarities against counts worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.ratings import Ratings
from engine.similarity import CentreContextSimilarity, CoWatch, VectorSimilarity, link_reason


@pytest.fixture(scope="module")
def tiny() -> Ratings:
    """Films A(0), B(1), C(2): A rated by u1-u3, B by u1-u2, C by everyone.

    Co-watched: c_AB = 2, c_AC = 3; raters n_A = 3, n_B = 2, n_C = 4. Loved (>= 4) both:
    A & B by u1 and u2, A & C by u1 only."""
    rows = [
        (1, 10, 5.0), (1, 20, 5.0), (1, 30, 4.0),
        (2, 10, 4.0), (2, 20, 5.0), (2, 30, 3.0),
        (3, 10, 2.0), (3, 30, 4.0),
        (4, 30, 4.0),
    ]  # fmt: skip
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    movies = pd.DataFrame(
        {
            "movieId": [10, 20, 30],
            "title": ["A", "B", "C"],
            "year": [2000, 2001, 2002],
            "genres": ["Animation|Children", "Animation|Children|IMAX", "Drama"],
        }
    )
    return Ratings.from_frames(ratings, movies)


def scores_for(tiny, beta, shrink, weight=0.0):
    return CoWatch.build(tiny, beta=beta, shrink=shrink, genre_weight=weight).scores(0)


def test_lift_prefers_the_film_with_its_own_audience(tiny):
    s = scores_for(tiny, beta=1.0, shrink=0.0)
    assert s[1] == pytest.approx(2 / 2) and s[2] == pytest.approx(3 / 4)
    assert np.isneginf(s[0])


def test_cosine_and_counts_prefer_the_film_everyone_rated(tiny):
    s = scores_for(tiny, beta=0.5, shrink=0.0)
    assert s[1] == pytest.approx(2 / np.sqrt(3 * 2)) and s[2] == pytest.approx(3 / np.sqrt(3 * 4))
    assert s[2] > s[1]
    raw = scores_for(tiny, beta=0.0, shrink=0.0)
    assert raw[1:].tolist() == pytest.approx([2 / 3, 3 / 3])  # c_ij / n_i


def test_shrinkage_and_genre_overlap_multiply_the_score(tiny):
    s = scores_for(tiny, beta=1.0, shrink=2.0)
    assert s[1] == pytest.approx(1.0 * 2 / 4) and s[2] == pytest.approx(0.75 * 3 / 5)
    g = scores_for(tiny, beta=0.5, shrink=0.0, weight=1.0)
    # A and B share both their genres (IMAX is a format, not a genre): Jaccard 1; A and C: 0
    assert g[1] == pytest.approx(2 / np.sqrt(6) * 2) and g[2] == pytest.approx(3 / np.sqrt(12))
    assert CoWatch.build(tiny, beta=0.5, shrink=0.0, genre_weight=1.0).similar_items(0, 5)[
        0
    ].tolist() == [1, 2]


def test_together_counts_and_the_plain_word_reason(tiny):
    cw = CoWatch.build(tiny)
    assert cw.together(0, 1) == (2, 2)
    assert cw.together(0, 2) == (3, 1)
    genres = tiny.stats.genre_lists
    assert (
        link_reason(cw, genres[0], genres[1], 0, 1)
        == "2 people loved both · both animation and family"
    )
    assert link_reason(cw, genres[0], genres[2], 0, 2) == "3 people watched both"
    assert link_reason(None, genres[0], genres[1], 0, 1) == "both animation and family"


def test_bad_settings_are_refused(tiny):
    with pytest.raises(ValueError, match="beta"):
        CoWatch.build(tiny, beta=1.5)
    with pytest.raises(ValueError, match="film index"):
        CoWatch.build(tiny).similar_items(7)


def test_vector_damping_demotes_the_blockbuster():
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.9, np.sqrt(1 - 0.81)]])
    counts = np.array([10, 1, 100])
    plain = VectorSimilarity.build(vectors, counts, damping=0.0)
    assert plain.similar_items(0, 2)[0].tolist() == [2, 1]
    assert plain.scores(0)[1:] == pytest.approx([0.8, 0.9])
    damped = VectorSimilarity.build(vectors, counts, damping=0.1)
    # 0.9 - 0.1·log(101) = 0.438 < 0.8 - 0.1·log(2) = 0.731
    assert damped.similar_items(0, 2)[0].tolist() == [1, 2]
    assert damped.scores(0)[2] == pytest.approx(0.9 - 0.1 * np.log(101))


def test_centre_context_is_the_symmetric_skip_gram_product_and_skips_films_off_the_graph():
    """Film 0 predicts film 2 on its walks (h_0·v_2 = 1) but film 2 does not predict 0
    (h_2·v_0 = 0): the pair scores ½; film 1 only through h_1·v_0 = 0.4 (score 0.2); film 3 has
    a zero centre vector (off the graph) and is nobody's neighbour, nor has any."""
    centre = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    context = np.array([[0.0, 0.4], [0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    counts = np.array([10, 1, 100, 1])
    plain = CentreContextSimilarity.build(centre, context, counts)
    assert plain.scores(0)[:3].tolist() == pytest.approx([0.0, 0.2, 0.5])
    assert np.isneginf(plain.scores(0)[3]) and np.isneginf(plain.scores(3)).all()
    assert plain.similar_items(0, 5)[0].tolist() == [2, 1]
    assert len(plain.similar_items(3, 5)[0]) == 0
    damped = CentreContextSimilarity.build(centre, context, counts, damping=0.1)
    # 0.5 - 0.1·log(101) = 0.038 < 0.2 - 0.1·log(2) = 0.131: the blockbuster drops below
    assert damped.similar_items(0, 5)[0].tolist() == [1, 2]
    with pytest.raises(ValueError, match="shape"):
        CentreContextSimilarity.build(centre, context[:, :1], counts)


def test_pair_scores_are_the_mean_of_both_directions(tiny):
    """A pair's score for link prediction: (s(A→B) + s(B→A)) / 2 of the neighbour lists' own
    score, genre factor included; with β = ½ both directions are the cosine. Same answer for
    (B, A): a link has no direction."""
    cw = CoWatch.build(tiny, beta=0.9, shrink=2.0, genre_weight=1.0)
    pairs = np.array([[0, 1], [1, 0], [0, 2], [1, 2]])
    expected = [(cw.scores(a)[b] + cw.scores(b)[a]) / 2 for a, b in pairs]
    np.testing.assert_allclose(cw.pair_scores(pairs), expected)
    # A→B: c 2, n_A 3, n_B 2: 2 / (3^0.1 · 2^0.9) · 2/4 · (1 + 1); B→A swaps n_A and n_B
    a_to_b = 2 / (3**0.1 * 2**0.9) * 0.5 * 2
    b_to_a = 2 / (2**0.1 * 3**0.9) * 0.5 * 2
    assert cw.pair_scores(pairs[:1])[0] == pytest.approx((a_to_b + b_to_a) / 2)
    cosine = CoWatch.build(tiny, beta=0.5, shrink=0.0, genre_weight=0.0)
    assert cosine.pair_scores(pairs[2:3])[0] == pytest.approx(3 / np.sqrt(3 * 4))
    assert len(cw.pair_scores(np.empty((0, 2)))) == 0


def test_pair_scores_are_zero_for_films_nobody_watched_together():
    rows = [(1, 10, 5.0), (1, 20, 4.0), (2, 30, 5.0)]
    ratings = Ratings.from_frames(
        pd.DataFrame(rows, columns=["userId", "movieId", "rating"]),
        pd.DataFrame(
            {"movieId": [10, 20, 30], "title": list("ABC"), "year": 2000, "genres": "Drama"}
        ),
    )
    for cw in (CoWatch.build(ratings), CoWatch.build(ratings, beta=0.5, shrink=0.0)):
        scores = cw.pair_scores(np.array([[0, 1], [0, 2], [1, 2]]))
        assert scores[0] > 0 and scores[1:].tolist() == [0.0, 0.0]
