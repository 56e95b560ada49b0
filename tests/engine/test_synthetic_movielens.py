"""The seeded MovieLens-like dataset: its size, star scale, popularity tail, activity and the taste
groups it plants are all there, and the same seed gives the same ratings."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.synthetic_movielens import (
    GENRES,
    MIN_PER_USER,
    make_synthetic_movielens,
    synthetic_movielens,
)


@pytest.fixture(scope="module")
def data():
    return make_synthetic_movielens()


def test_default_size_is_the_embedded_samples(data):
    r = data.ratings
    assert (r.n_users, r.n_items) == (600, 5_000)
    assert 95_000 <= len(r) <= 100_000
    assert r.user_counts().min() >= MIN_PER_USER
    key = r.users.astype(np.int64) * r.n_items + r.items
    assert (np.diff(key) > 0).all()  # canonical order, no repeated (person, film) pair


def test_seeded():
    small = {"n_users": 80, "n_items": 300, "n_ratings": 3_000}
    assert synthetic_movielens(seed=1, **small).fingerprint == (
        synthetic_movielens(seed=1, **small).fingerprint
    )
    assert synthetic_movielens(seed=2, **small).fingerprint != (
        synthetic_movielens(seed=1, **small).fingerprint
    )


def test_half_stars_on_the_movielens_scale_with_its_shape(data):
    values = data.ratings.values
    assert values.min() >= 0.5 and values.max() <= 5.0
    assert np.array_equal(values * 2, np.round(values * 2))
    assert 3.3 < values.mean() < 3.8
    share = {v: float(np.mean(values == v)) for v in np.arange(0.5, 5.01, 0.5)}
    # like the sample: 4 (then 3) the most common value
    assert max(share, key=share.__getitem__) in (3.0, 4.0)
    assert share[4.0] > share[4.5] and share[3.0] > share[3.5]  # whole stars more common


def test_popularity_tail_and_lognormal_activity(data):
    r = data.ratings
    counts = np.sort(r.item_counts())[::-1]
    assert counts[: len(counts) // 10].sum() > 0.5 * len(r)  # the top 10 % hold most ratings
    assert (counts == 1).sum() > 0.05 * r.n_items  # and a long tail of films rated once
    assert 0.3 * r.n_users < counts[0] < 0.8 * r.n_users  # the top film: about half the people
    # the drawn popularity explains the counts (rank correlation)
    drawn = np.argsort(np.argsort(data.popularity))
    seen = np.argsort(np.argsort(r.item_counts()))
    assert np.corrcoef(drawn, seen)[0, 1] > 0.8
    activity = r.user_counts()
    assert activity.mean() > 1.4 * np.median(activity)  # right-skewed, as a lognormal is


def test_taste_groups_steer_what_people_rate_and_how(data):
    r = data.ratings
    own = data.user_group[r.users] == data.item_group[r.items]
    n_groups = len(np.unique(data.user_group))
    assert own.mean() > 2.0 / n_groups  # chance would be 1 / n_groups
    # a person likes their own group's films better: compare each person's own means
    per_user = []
    for u in range(r.n_users):
        rows = r.user_rows(u)
        mine = own[rows]
        if mine.any() and (~mine).any():
            per_user.append(r.values[rows][mine].mean() - r.values[rows][~mine].mean())
    assert np.mean(per_user) > 0.3 and np.mean(np.array(per_user) > 0) > 0.8


def test_genres_name_the_taste_group(data):
    first = data.ratings.movies["genres"].str.split("|").str[0].to_numpy()

    assert (first == np.array(GENRES, dtype=object)[data.item_group]).all()


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="n_ratings"):
        make_synthetic_movielens(n_users=100, n_items=100, n_ratings=500)
    with pytest.raises(ValueError, match="n_groups"):
        make_synthetic_movielens(n_groups=40)
