"""Elicitation: which films to ask about, on small catalogues where the right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import elicit
from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue as synthetic_catalogue
from engine.elicit import igcn as elicit_igcn
from engine.elicit import next_films
from engine.elicit.igcn import information_gain, neighbours, user_clusters

N = 24


def ratings_with_counts(counts: list[int], stars=None) -> Ratings:
    """Film i rated by counts[i] users (users 0..counts[i]-1), stars from ``stars(i, u)``."""
    stars = stars or (lambda i, u: 4.0)
    rows = [(u, i + 1, stars(i, u)) for i, c in enumerate(counts) for u in range(c)]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, synthetic_catalogue(len(counts)), name="elicit-test")


class VectorModel:
    """Duck-typed model: only what elicitation needs (item vectors and a catalogue size)."""

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors
        self.n_items = len(vectors)

    def item_vectors(self) -> np.ndarray:
        return self.vectors


@pytest.fixture(scope="module")
def catalogue() -> Ratings:
    return ratings_with_counts([(i * 5) % 11 + 1 for i in range(N)])


@pytest.fixture(scope="module")
def model() -> VectorModel:
    return VectorModel(np.random.default_rng(0).normal(size=(N, 4)))


@pytest.mark.parametrize("strategy", list(elicit.STRATEGIES))
def test_never_repeats_and_fills_until_exhausted(model, catalogue, strategy):
    rated: dict[int, float] = {}
    unseen: set[int] = set()
    asked: list[int] = []
    while True:
        films = next_films(model, catalogue, rated, unseen, 5, strategy)
        remaining = N - len(rated) - len(unseen)
        assert len(films) == min(5, remaining)  # fewer only when the catalogue runs out
        assert len(set(films)) == len(films)
        assert not set(films) & (set(rated) | unseen)
        if not films:
            break
        asked += films
        for j, item in enumerate(films):  # alternate "4 stars" and "haven't seen"
            if j % 2:
                unseen.add(item)
            else:
                rated[item] = 4.0
    assert sorted(asked) == list(range(N))


@pytest.mark.parametrize("strategy", list(elicit.STRATEGIES))
def test_deterministic_and_works_for_the_first_question(model, catalogue, strategy):
    first = next_films(model, catalogue, {}, set(), 3, strategy)
    assert len(first) == 3
    assert first == next_films(model, catalogue, {}, set(), 3, strategy)
    later = next_films(model, catalogue, {first[0]: 3.5}, {first[1]}, 3, strategy)
    assert later == next_films(model, catalogue, {first[0]: 3.5}, {first[1]}, 3, strategy)


def test_popularity_asks_the_most_rated_films_first(catalogue):
    counts = catalogue.item_counts()
    expected = np.lexsort((np.arange(N), -counts))[:4].tolist()
    assert next_films(None, catalogue, {}, set(), 4, "popularity") == expected
    assert next_films(None, catalogue, {expected[0]: 5.0}, set(), 3, "popularity") == expected[1:4]


def test_entropy_prefers_films_people_disagree_about():
    # films 0 and 1 equally popular; everyone gives film 0 four stars, film 1 splits 1★/5★
    cat = ratings_with_counts(
        [10, 10, 2], stars=lambda i, u: 4.0 if i != 1 else (1.0 if u % 2 else 5.0)
    )
    assert next_films(None, cat, {}, set(), 1, "entropy") == [1]


def test_adaptive_asks_about_what_is_still_unknown():
    # equal popularity; films 0-5 load on factor 0, films 6-11 on factor 1. After ratings on
    # factor-0 films, the most uncertain films are the factor-1 ones.
    vectors = np.zeros((12, 2))
    vectors[:6, 0] = 1.0
    vectors[6:, 1] = 1.0
    cat = ratings_with_counts([5] * 12)
    model = VectorModel(vectors)
    picks = next_films(model, cat, {0: 4.0, 1: 2.0, 2: 5.0}, set(), 3, "adaptive")
    assert set(picks) <= set(range(6, 12))
    # a batch spreads out: with no answers all films tie and film 0 comes first (by index);
    # once film 0 is assumed answered, factor 0 is half known, so the next is a factor-1 film
    assert next_films(model, cat, {}, set(), 2, "adaptive") == [0, 6]


def test_adaptive_prefers_films_the_member_has_probably_seen():
    # identical vectors; film 3 is watched by the same people as the member's rated film 0,
    # film 4 by others only. Both are equally popular overall.
    frame = pd.DataFrame(
        [(u, 1, 4.0) for u in range(6)]
        + [(u, 4, 4.0) for u in range(6)]  # film 3: same audience as film 0
        + [(u, 5, 4.0) for u in range(6, 12)],  # film 4: another audience
        columns=["userId", "movieId", "rating"],
    )
    cat = Ratings.from_frames(frame, synthetic_catalogue(5), name="seen")
    model = VectorModel(np.ones((5, 2)))
    seen = elicit.seen_probability(cat, np.array([0]))
    assert seen[3] > seen[4]
    assert next_films(model, cat, {0: 4.0}, set(), 1, "adaptive") == [3]


def test_falls_back_without_item_vectors(catalogue):
    assert next_films(None, catalogue, {}, set(), 4, "adaptive") == next_films(
        None, catalogue, {}, set(), 4, "entropy"
    )


def test_the_default_without_a_model_asks_the_films_most_probably_seen(catalogue):
    """While the room's model trains, the default strategy asks by co-watching alone: with no
    answers the most-rated films first, then the films watched with the member's own."""
    assert elicit.DEFAULT_ELICITATION == "watch-uncertainty"
    counts = catalogue.stats.counts
    first = next_films(None, catalogue, {}, set(), 3)
    assert sorted(counts[first], reverse=True) == sorted(counts, reverse=True)[:3]
    rated = {first[0]: 4.0}
    seen = elicit.seen_probability(catalogue, np.array([first[0]]))
    seen[first[0]] = -np.inf
    assert next_films(None, catalogue, rated, set(), 1)[0] == int(np.argmax(seen))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "psychic"}, "unknown elicitation strategy"),
        ({"n": 0}, "n must be"),
        ({"rated": {0: float("nan")}}, "not a number"),
        ({"rated": {N + 3: 4.0}}, "answered film indices"),
        ({"unseen": {-1}}, "answered film indices"),
        ({"rated": {0: 7.0}}, "between"),
    ],
)
def test_bad_input_gets_a_clear_error(model, catalogue, kwargs, message):
    args = {"rated": {}, "unseen": set(), "n": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        next_films(model, catalogue, **args)


def test_entropy0_by_hand():
    # 4 users. Film 0: users 0, 1 gave 4★ → p(not rated) = ½, p(4★) = ½.
    # Film 1: all four, two 5★ and two 1★ → p(5★) = p(1★) = ½, nobody "not rated".
    # Film 2: one 3★ → p(not rated) = ¾, p(3★) = ¼. Weights: ½ for "not rated", 1 per value
    # (11 categories: Σw = 10.5). Entropy0 = −Σ w p log2 p / 10.5.
    stars = {(1, 0): 5.0, (1, 1): 5.0, (1, 2): 1.0, (1, 3): 1.0, (2, 0): 3.0}
    cat = ratings_with_counts([2, 4, 1], lambda i, u: stars.get((i, u), 4.0))
    h = elicit.entropy0(cat)
    assert h[0] == pytest.approx((0.5 * 0.5 + 0.5) / 10.5)
    assert h[1] == pytest.approx(1.0 / 10.5)
    assert h[2] == pytest.approx((0.5 * 0.75 * -np.log2(0.75) + 0.25 * 2) / 10.5)
    # the divisive film everyone knows first, the obscure one last
    assert next_films(None, cat, {}, set(), 3, "entropy0") == [1, 0, 2]


def test_information_gain_by_hand():
    # 4 users in two clusters (0, 0, 1, 1): H(C) = 1 bit.
    # Film 0: cluster 0 gives 5★, cluster 1 gives 1★ → the answer names the cluster: IG = 1.
    # Film 1: everyone 4★ → says nothing: IG = 0.
    # Film 2: only user 0 (5★): "5★" → cluster 0 (H = 0, weight ¼); "not rated" → users 1, 2, 3
    # with labels (0, 1, 1): H = H(⅓, ⅔) = 0.9183, weight ¾ → IG = 1 − 0.6887 = 0.3113.
    stars = {(0, 0): 5.0, (0, 1): 5.0, (0, 2): 1.0, (0, 3): 1.0, (2, 0): 5.0}
    cat = ratings_with_counts([4, 4, 1], lambda i, u: stars.get((i, u), 4.0))
    labels = np.array([0, 0, 1, 1])
    ig = information_gain(cat, labels, np.arange(4))
    h = -(1 / 3 * np.log2(1 / 3) + 2 / 3 * np.log2(2 / 3))
    assert np.allclose(ig, [1.0, 0.0, 1.0 - 0.75 * h])
    # over users 0 and 1 alone (one cluster) no film can tell anything apart
    assert np.allclose(information_gain(cat, labels, np.array([0, 1])), 0.0)


def test_neighbours_by_hand():
    # films 0–2; user 4 rated only film 2. Centred on their own means, over films 0 and 1:
    # user 0 (5, 1, 3) → (2, −2); user 1 (1, 5, 3) → (−2, 2); user 2 (2, 1, 5), mean 8/3 →
    # (−2/3, −5/3); user 3 (5, 4.5, 5), mean 29/6 → (1/6, −1/3).
    # The member answered film 0 = 5, film 1 = 2 → (1.5, −1.5). Cosines: user 0 1, user 1 −1,
    # user 2 1.5 / (1.795 · 2.121) = 0.39, user 3 0.75 / (0.373 · 2.121) = 0.95. (Uncentred,
    # user 2 would beat user 3: 0.32 against 0.05.) User 4 shares no answered film.
    table = {0: (5.0, 1.0, 3.0), 1: (1.0, 5.0, 3.0), 2: (2.0, 1.0, 5.0), 3: (5.0, 4.5, 5.0)}
    cat = ratings_with_counts([4, 4, 5], lambda i, u: table[u][i] if u in table else 2.0)
    answered, values = np.array([0, 1]), np.array([5.0, 2.0])
    assert list(neighbours(cat, answered, values, 2)) == [0, 3]
    assert list(neighbours(cat, answered, values, 10)) == [0, 1, 2, 3]


def two_taste_groups() -> Ratings:
    """Users 0–5 love films 0–5 and hate 6–11, users 6–11 the reverse; film 12 is 3.5 for all."""

    def stars(i, u):
        if i == 12:
            return 3.5
        return 5.0 if (i < 6) == (u < 6) else 1.0

    return ratings_with_counts([12] * 13, stars)


def test_igcn_asks_what_separates_taste_groups():
    cat = two_taste_groups()
    # identical users share a cluster: exactly the two taste groups
    labels = user_clusters(cat)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]
    first = next_films(None, cat, {}, set(), 3, "igcn")
    assert 12 not in first  # every divisive film names the group (1 bit); film 12 says nothing


def test_igcn_narrows_to_the_members_neighbourhood(monkeypatch):
    cat = two_taste_groups()
    monkeypatch.setattr(elicit_igcn, "NEIGHBOURS", 6)
    before = elicit_igcn.igcn_key(cat, np.array([0, 1]), np.array([5.0, 5.0]))
    assert np.allclose(before[:12], 1.0) and before[12] == pytest.approx(0.0)
    # after WARMUP (3) answers like group A the neighbourhood is group A alone (6 users, one
    # cluster): no film tells anything apart any more
    after = elicit_igcn.igcn_key(cat, np.array([0, 1, 6]), np.array([5.0, 5.0, 1.0]))
    assert np.allclose(after, 0.0)
