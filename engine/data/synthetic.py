"""Synthetic ratings with a known answer, for tests and for checking that models can learn.

``planted_explicit`` draws a rank-r matrix plus biases and observes a random subset with Gaussian
noise: a model that learns the structure reaches a test RMSE near ``noise``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.ratings import Ratings


@dataclass(frozen=True)
class Planted:
    ratings: Ratings
    truth: np.ndarray  # [n_users, n_items] noiseless scores
    user_factors: np.ndarray
    item_factors: np.ndarray


def catalogue(n_items: int) -> pd.DataFrame:
    """A movies frame for synthetic items: 'Film 0 (2000)', ... with a few genres."""
    genres = np.array(["Comedy", "Drama", "Action", "Romance", "Horror"])
    idx = np.arange(n_items)
    return pd.DataFrame(
        {
            "movieId": idx + 1,
            "title": [f"Film {i}" for i in idx],
            "year": 1950 + idx % 70,
            "genres": genres[idx % len(genres)],
        }
    )


def planted_explicit(
    n_users: int = 300,
    n_items: int = 200,
    rank: int = 3,
    density: float = 0.2,
    noise: float = 0.25,
    seed: int = 0,
    mean: float = 3.5,
) -> Planted:
    """Ratings r = mean + b_u + b_i + p_u·q_i + noise on a random subset of cells (not rounded)."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.6, (n_users, rank))
    q = rng.normal(0, 0.6, (n_items, rank))
    bu = rng.normal(0, 0.3, n_users)
    bi = rng.normal(0, 0.3, n_items)
    truth = mean + bu[:, None] + bi[None, :] + p @ q.T
    mask = rng.random((n_users, n_items)) < density
    users, items = np.nonzero(mask)
    values = truth[users, items] + rng.normal(0, noise, len(users))
    frame = pd.DataFrame({"userId": users + 1, "movieId": items + 1, "rating": values})
    ratings = Ratings.from_frames(frame, catalogue(n_items), name=f"planted-{seed}")
    # from_frames re-encodes users by sorted userId, which preserves the order used here
    return Planted(ratings=ratings, truth=truth, user_factors=p, item_factors=q)


def planted_implicit(
    n_users: int = 300, n_items: int = 200, n_clusters: int = 4, per_user: int = 20, seed: int = 0
) -> Ratings:
    """Users and films fall into clusters; each user rates films from their own cluster only.

    A model that finds the structure ranks a user's unseen same-cluster films first.
    """
    rng = np.random.default_rng(seed)
    user_cluster = np.arange(n_users) % n_clusters
    item_cluster = np.arange(n_items) % n_clusters
    rows = []
    for u in range(n_users):
        pool = np.flatnonzero(item_cluster == user_cluster[u])
        chosen = rng.choice(pool, size=min(per_user, len(pool)), replace=False)
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": chosen + 1, "rating": 4.0}))
    frame = pd.concat(rows, ignore_index=True)
    return Ratings.from_frames(frame, catalogue(n_items), name=f"planted-implicit-{seed}")


@dataclass(frozen=True)
class PlantedTastes:
    ratings: Ratings
    user_cluster: np.ndarray  # [n_users] the taste each person has
    item_cluster: np.ndarray  # [n_items] the taste each film serves


def planted_tastes(
    n_users: int = 120,
    n_items: int = 60,
    n_clusters: int = 3,
    liked: int = 10,
    disliked: int = 3,
    seed: int = 0,
) -> PlantedTastes:
    """People and films fall into ``n_clusters`` tastes (index mod ``n_clusters``). Each person
    rates ``liked`` films of their own taste 4–5★ and ``disliked`` films of other tastes 1–2★.

    Both kinds of model can find the structure: explicit ones from the stars, implicit ones from
    what each person chose to watch. A model that learned it ranks a person's unseen films of
    their own taste above the unseen films of the others.
    """
    rng = np.random.default_rng(seed)
    user_cluster = np.arange(n_users) % n_clusters
    item_cluster = np.arange(n_items) % n_clusters
    rows = []
    for u in range(n_users):
        own = np.flatnonzero(item_cluster == user_cluster[u])
        other = np.flatnonzero(item_cluster != user_cluster[u])
        good = rng.choice(own, size=min(liked, len(own)), replace=False)
        bad = rng.choice(other, size=min(disliked, len(other)), replace=False)
        stars = np.concatenate(
            [rng.choice([4.0, 4.5, 5.0], len(good)), rng.choice([1.0, 1.5, 2.0], len(bad))]
        )
        films = np.concatenate([good, bad])
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": films + 1, "rating": stars}))
    frame = pd.concat(rows, ignore_index=True)
    ratings = Ratings.from_frames(frame, catalogue(n_items), name=f"planted-tastes-{seed}")
    return PlantedTastes(ratings, user_cluster, item_cluster)
