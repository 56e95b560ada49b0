"""Evaluation splits E, R, F (docs/PROTOCOLS.md): seeded, disjoint, complete, same index space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import Ratings, split_e, split_f, split_r, validation_split
from engine.data.splits import per_user_holdout
from engine.data.synthetic import catalogue

# users with every interesting count: 1 (the whole user goes to test under R), 4 (⌊4/5⌋ = 0 -> 1),
# 5, 9, 24 (not eligible for F), 25 (eligible), 26, 60, ...
COUNTS = [1, 2, 4, 5, 9, 10, 24, 25, 26, 30, 49, 50, 60, 3, 7, 25, 40, 80, 1, 33] * 3


@pytest.fixture(scope="module")
def r() -> Ratings:
    rng = np.random.default_rng(7)
    n_items = 120
    frames = []
    for u, n in enumerate(COUNTS):
        items = rng.choice(n_items, size=n, replace=False)
        stars = rng.integers(1, 11, size=n) / 2
        frames.append(pd.DataFrame({"userId": 1000 + u, "movieId": items + 1, "rating": stars}))
    return Ratings.from_frames(pd.concat(frames, ignore_index=True), catalogue(n_items), name="s")


def pairs(r: Ratings) -> set[tuple[int, int]]:
    """Each rating as its (user, item) pair: unique in the fixture, so it identifies the row."""
    return set(zip(r.users.tolist(), r.items.tolist(), strict=True))


def assert_partition(whole: Ratings, *parts: Ratings) -> None:
    sets = [pairs(p) for p in parts]
    assert sum(len(p) for p in parts) == len(whole)
    assert set().union(*sets) == pairs(whole)
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            assert not sets[i] & sets[j]
    for p in parts:  # same index space: a model fitted on one part scores the others
        assert p.movies is whole.movies
        assert p.user_ids.tolist() == whole.user_ids.tolist()
        assert (p.n_users, p.n_items) == (whole.n_users, whole.n_items)


def same(a: Ratings, b: Ratings) -> bool:
    return pairs(a) == pairs(b) and a.fingerprint == b.fingerprint


# ------------------------------------------------------------------------------------------ E


def test_e_is_a_seeded_80_20_partition(r):
    train, test = split_e(r)
    assert_partition(r, train, test)
    assert len(train) == round(0.8 * len(r))
    again_train, again_test = split_e(r, seed=0)
    assert same(train, again_train) and same(test, again_test)
    assert not same(test, split_e(r, seed=1)[1])


def test_e_follows_the_design_seed_contract(r):
    """Shuffle with default_rng(0); the first 80 % are train (peers run on the same split)."""
    order = np.random.default_rng(0).permutation(len(r))
    n_train = round(0.8 * len(r))
    expected = set(
        zip(r.users[order[n_train:]].tolist(), r.items[order[n_train:]].tolist(), strict=True)
    )
    assert pairs(split_e(r)[1]) == expected


# ------------------------------------------------------------------------------------------ R


def test_r_holds_out_floor_n_over_5_at_least_one_per_user(r):
    train, test = split_r(r)
    assert_partition(r, train, test)
    counts = r.user_counts()
    assert test.user_counts().tolist() == np.maximum(1, counts // 5).tolist()
    assert train.user_counts().tolist() == (counts - np.maximum(1, counts // 5)).tolist()
    assert (train.user_counts()[counts == 1] == 0).all()


def test_r_is_deterministic_for_its_seed(r):
    a, b = split_r(r), split_r(r, seed=0)
    assert same(a[1], b[1])
    other = split_r(r, seed=3)[1]
    assert not same(a[1], other)
    assert other.user_counts().tolist() == a[1].user_counts().tolist()  # same quotas, other films


def test_per_user_holdout_fraction(r):
    mask = per_user_holdout(r, seed=0, fraction=0.5)
    held = np.bincount(r.users[mask], minlength=r.n_users)
    assert held.tolist() == np.maximum(1, r.user_counts() // 2).tolist()


def test_validation_split_is_carved_from_train_only(r):
    train, test = split_r(r)
    fit, val = validation_split(train)
    assert_partition(train, fit, val)
    assert not pairs(val) & pairs(test)
    fit_e, val_e = validation_split(train, protocol="E")
    assert_partition(train, fit_e, val_e)
    assert len(fit_e) == round(0.8 * len(train))


# ------------------------------------------------------------------------------------------ F


def test_f_removes_exactly_the_chosen_users_all_with_25_or_more(r):
    split = split_f(r)
    counts = r.user_counts()
    eligible = np.flatnonzero(counts >= 25)
    assert len(split.new_users) == max(1, round(0.1 * len(eligible)))
    assert set(split.new_users.tolist()) <= set(eligible.tolist())
    assert_partition(r, split.train, split.held)
    assert set(np.unique(split.held.users).tolist()) == set(split.new_users.tolist())
    assert not np.isin(split.train.users, split.new_users).any()
    assert (split.held.user_counts()[split.new_users] == counts[split.new_users]).all()


def test_f_is_deterministic_for_its_seed_and_threshold_is_respected(r):
    a, b = split_f(r), split_f(r, seed=1)
    assert a.new_users.tolist() == b.new_users.tolist()
    assert same(a.held, b.held)
    others = {tuple(split_f(r, seed=s).new_users.tolist()) for s in range(2, 8)}
    assert len(others | {tuple(a.new_users.tolist())}) > 1
    strict = split_f(r, min_ratings=50, fraction=1.0)
    assert sorted(strict.new_users.tolist()) == np.flatnonzero(r.user_counts() >= 50).tolist()


def test_reveal_random_partitions_one_users_held_ratings(r):
    split = split_f(r)
    user = int(split.new_users[0])
    rows = set(split.held.user_rows(user).tolist())
    shown, hidden = split.reveal_random(user, 10, np.random.default_rng(2))
    assert len(shown) == 10 and set(shown.tolist()) | set(hidden.tolist()) == rows
    assert not set(shown.tolist()) & set(hidden.tolist())
    again, _ = split.reveal_random(user, 10, np.random.default_rng(2))
    assert again.tolist() == shown.tolist()


def test_splits_on_the_embedded_sample(embedded):
    _, test = split_r(embedded)
    assert len(test) == int(np.maximum(1, embedded.user_counts() // 5).sum())
    split = split_f(embedded)
    assert (embedded.user_counts()[split.new_users] >= 25).all()
    assert len(split.train) + len(split.held) == len(embedded)
