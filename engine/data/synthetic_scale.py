"""A seeded synthetic dataset at MovieLens-25M size, for the scale benchmark (protocol S).

162,541 people, 59,047 films, 25,000,000 distinct (person, film) pairs, like ml-25m. Film popularity
is Zipf-like (p ∝ (rank + 40)^−1: the top film gets ~0.34 % of all interactions, about ml-25m's 81k
ratings), person activity is lognormal (σ = 1.2, median ≈ 75, mean ≈ 154 ratings, as in ml-25m).
Star values 0.5–5 in half steps come from a person bias + film quality + noise, so explicit models
can train on it too. Fully vectorised numpy: no per-user loop; well under 2 minutes and 6 GiB.

``write_movielens_folder`` writes it as an ml-25m-style ``ratings.csv`` + ``movies.csv`` folder so
that loading a 25M-row csv can be timed with the real loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue

ML25M_USERS = 162_541
ML25M_ITEMS = 59_047
ML25M_RATINGS = 25_000_000
ZIPF_EXPONENT = 1.0
ZIPF_OFFSET = 40.0
ACTIVITY_SIGMA = 1.2


def _draw_pairs(
    rng: np.random.Generator, counts: np.ndarray, cdf: np.ndarray, rank_to_item: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """counts[u] film draws per user from the popularity cdf (duplicates possible)."""
    users = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    ranks = np.searchsorted(cdf, rng.random(len(users), dtype=np.float32), side="right")
    items = rank_to_item[np.minimum(ranks, len(cdf) - 1)]
    return users, items


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sort in place and drop repeats (numpy 2.3's hash-based ``np.unique`` is ~15x slower here)."""
    keys.sort()
    if len(keys) == 0:
        return keys
    fresh = np.empty(len(keys), dtype=bool)
    fresh[0] = True
    np.not_equal(keys[1:], keys[:-1], out=fresh[1:])
    return keys[fresh]


def _distinct_keys(
    rng: np.random.Generator,
    counts: np.ndarray,
    cdf: np.ndarray,
    rank_to_item: np.ndarray,
    n_ratings: int,
) -> np.ndarray:
    """Sorted distinct ``user · n_items + item`` keys, at least ``n_ratings`` of them: draws of
    ``counts[u]`` films per user, topped up while duplicates leave too few."""
    n_items = len(rank_to_item)
    keys = np.empty(0, np.int64)
    for _ in range(20):  # top up until enough distinct pairs (normally 1–2 rounds)
        users, items = _draw_pairs(rng, counts, cdf, rank_to_item)
        new = users.astype(np.int64) * n_items + items
        del users, items
        keys = _sorted_unique(np.concatenate([keys, new]))
        del new
        if len(keys) >= n_ratings:
            return keys
        counts = np.maximum(1, (counts * (n_ratings - len(keys)) / len(keys) + 1).astype(np.int64))
    raise RuntimeError("could not draw enough distinct pairs")  # pragma: no cover - absurd sizes


def _trim(
    rng: np.random.Generator, keys: np.ndarray, n_items: int, n_ratings: int
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) of exactly ``n_ratings`` of the sorted ``keys``, keeping each user's first
    pair so nobody disappears."""
    users = (keys // n_items).astype(np.int32)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = users[1:] != users[:-1]
    optional = np.flatnonzero(~first)
    drop = rng.choice(optional, size=len(keys) - n_ratings, replace=False)
    keep = np.ones(len(keys), dtype=bool)
    keep[drop] = False
    del first, optional, drop
    return users[keep], (keys[keep] % n_items).astype(np.int32)


def synthetic_scale(
    n_users: int = ML25M_USERS,
    n_items: int = ML25M_ITEMS,
    n_ratings: int = ML25M_RATINGS,
    seed: int = 0,
) -> Ratings:
    """The dataset, sorted by (user, item). ``quick`` variants just pass smaller sizes."""
    if n_ratings < n_users:
        raise ValueError("need at least one rating per user")
    if n_ratings > 0.5 * n_users * n_items:
        raise ValueError("n_ratings too dense for sampling without replacement; lower it")
    rng = np.random.default_rng(seed)
    popularity = (np.arange(n_items) + ZIPF_OFFSET) ** -ZIPF_EXPONENT
    cdf = np.cumsum(popularity / popularity.sum()).astype(np.float64)
    rank_to_item = rng.permutation(n_items).astype(np.int32)  # popular films spread over ids

    activity = rng.lognormal(0.0, ACTIVITY_SIGMA, n_users)
    cap = max(1, n_items // 3)
    # a little over the target: duplicate draws are dropped below, then trimmed to exactly n
    counts = np.clip(np.round(activity / activity.sum() * n_ratings * 1.1), 1, cap).astype(np.int64)

    keys = _distinct_keys(rng, counts, cdf, rank_to_item, n_ratings)
    users, items = _trim(rng, keys, n_items, n_ratings)
    del keys

    user_bias = rng.normal(0.0, 0.4, n_users).astype(np.float32)
    quality = rng.normal(0.0, 0.5, n_items).astype(np.float32)
    noise = rng.normal(0.0, 0.9, len(users)).astype(np.float32)
    stars = 3.5 + user_bias[users] + quality[items] + noise
    values = np.clip(np.round(stars * 2.0) / 2.0, 0.5, 5.0).astype(np.float32)
    del noise, stars
    return Ratings(
        users=users,
        items=items,
        values=values,
        user_ids=np.arange(1, n_users + 1, dtype=np.int64),
        movies=scale_movies(n_items),
        name=f"synthetic-{n_users}x{n_items}-{n_ratings}-seed{seed}",
        notes=("synthetic: Zipf film popularity, lognormal activity (protocol S)",),
    )


def scale_movies(n_items: int) -> pd.DataFrame:
    """The films frame of ``synthetic_scale`` (also what protocol S rebuilds from saved arrays)."""
    movies = catalogue(n_items)
    movies["label"] = movies["title"] + " (" + movies["year"].astype(str) + ")"
    movies["year"] = pd.array(cast(pd.Series, movies["year"]), dtype="Int64")
    return cast(pd.DataFrame, movies[["movieId", "title", "year", "genres", "label"]])


def quick_sizes(fraction: float = 0.01) -> dict[str, int]:
    """Sizes scaled down by ``fraction`` (same shape of data), for CI."""
    return {
        "n_users": max(10, int(ML25M_USERS * fraction)),
        "n_items": max(10, int(ML25M_ITEMS * fraction**0.5)),  # keep films plentiful
        "n_ratings": max(100, int(ML25M_RATINGS * fraction)),
    }


def write_movielens_folder(ratings: Ratings, folder: str | Path, seed: int = 0) -> Path:
    """Write ``ratings.csv`` (userId,movieId,rating,timestamp) and ``movies.csv``
    (movieId,title,genres) in the ml-25m layout, with pyarrow's fast csv writer."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    timestamps = rng.integers(789_652_009, 1_574_327_703, len(ratings), dtype=np.int64)
    table = pa.table(
        {
            "userId": pa.array(ratings.user_ids[ratings.users]),
            "movieId": pa.array(ratings.item_ids[ratings.items]),
            "rating": pa.array(ratings.values.astype(np.float64)),
            "timestamp": pa.array(timestamps),
        }
    )
    pacsv.write_csv(table, folder / "ratings.csv")
    del table
    movies = ratings.movies
    title = movies["label"].astype(str)
    genres = movies["genres"].replace("", "(no genres listed)")
    frame = pd.DataFrame({"movieId": movies["movieId"], "title": title, "genres": genres})
    frame.to_csv(folder / "movies.csv", index=False)
    return folder
