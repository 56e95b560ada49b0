"""The evaluation splits of docs/PROTOCOLS.md, with their stated seeds.

Every split returns ``Ratings`` in the *same index space* as its input, so a model fitted on one
part scores the users and films of the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.ratings import Ratings


def split_e(ratings: Ratings, seed: int = 0, test_fraction: float = 0.2) -> tuple[Ratings, Ratings]:
    """Protocol E: shuffle all ratings with ``default_rng(seed)``; first 80 % train, rest test."""
    order = np.random.default_rng(seed).permutation(len(ratings))
    n_train = round(len(ratings) * (1.0 - test_fraction))
    return ratings.subset(np.sort(order[:n_train])), ratings.subset(np.sort(order[n_train:]))


def per_user_holdout(ratings: Ratings, seed: int = 0, fraction: float = 0.2) -> np.ndarray:
    """Boolean mask of test rows: per user, a random floor(n·fraction) (at least 1) of their ratings.

    Vectorised so it stays fast at 25M ratings: each rating draws a uniform key from
    ``default_rng(seed)`` and, within its user, the lowest keys go to test.
    """
    keys = np.random.default_rng(seed).random(len(ratings))
    order = np.lexsort((keys, ratings.users))
    users_sorted = ratings.users[order]
    counts = np.bincount(ratings.users, minlength=ratings.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[users_sorted]
    quota = np.maximum(1, np.floor(counts * fraction).astype(np.int64))
    test = np.zeros(len(ratings), dtype=bool)
    test[order[rank < quota[users_sorted]]] = True
    return test


def split_r(ratings: Ratings, seed: int = 0) -> tuple[Ratings, Ratings]:
    """Protocol R: per user ⌊n/5⌋ (at least 1) random ratings to test, ``default_rng(seed)``."""
    test = per_user_holdout(ratings, seed=seed, fraction=0.2)
    return ratings.subset(~test), ratings.subset(test)


def validation_split(
    train: Ratings, protocol: str = "R", seed: int = 100
) -> tuple[Ratings, Ratings]:
    """A validation split carved from ``train`` only, same shape as the protocol's own split."""
    return split_e(train, seed=seed) if protocol == "E" else split_r(train, seed=seed)


@dataclass(frozen=True)
class FoldInSplit:
    """Protocol F: ``train`` lacks every rating of ``new_users``; ``held`` holds exactly those."""

    train: Ratings
    held: Ratings
    new_users: np.ndarray

    def reveal_random(
        self, user: int, k: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``held`` of k revealed ratings and of the hidden rest, for one new user."""
        rows = self.held.user_rows(user)
        picked = rng.permutation(len(rows))
        return rows[np.sort(picked[:k])], rows[np.sort(picked[k:])]


def split_f(
    ratings: Ratings, seed: int = 1, fraction: float = 0.1, min_ratings: int = 25
) -> FoldInSplit:
    """Protocol F: 10 % of users with at least 25 ratings (``default_rng(seed)``) leave training."""
    counts = ratings.user_counts()
    eligible = np.flatnonzero(counts >= min_ratings)
    n_new = max(1, round(len(eligible) * fraction))
    new_users = np.sort(np.random.default_rng(seed).choice(eligible, size=n_new, replace=False))
    is_new = np.isin(ratings.users, new_users)
    return FoldInSplit(
        train=ratings.subset(~is_new), held=ratings.subset(is_new), new_users=new_users
    )
