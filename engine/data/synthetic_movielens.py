"""A seeded, MovieLens-like explicit dataset the code makes without a download: a second dataset
to choose defaults on, so that a default tuned on the embedded sample alone is caught out.

Shaped like the embedded ml-latest-small sample (docs/PROTOCOLS.md's data) at about its size: 600 people,
5,000 films, ~100,000 half-star ratings. What it plants, and why each piece is there:

- **taste groups**: every person belongs to one of ``n_groups`` groups and every film has a home
  group (its first genre); a person's taste vector is their group's centre plus a personal part, a
  film's likewise. People in one group agree, people in different groups do not: the structure
  collaborative filtering and group recommendation are meant to find.
- **a popularity tail**: film popularity is Zipf-like (Zipf–Mandelbrot), p ∝ (rank + 120)^−2;
  the most popular film reaches about half the people, the top 10 % of films hold about 60 % of
  the ratings, and many films have a single rating, as in the sample.
- **who rates what depends on taste**: a person picks films with probability ∝ popularity ×
  exp(β·affinity), without replacement (Gumbel top-k), so what someone chose to rate already says
  something about them, as in real data (ratings are not missing at random).
- **lognormal activity**: ratings per person lognormal (σ = 1.2, ``synthetic_scale``'s), at least
  20 each (MovieLens' own floor), at most a third of the catalogue.
- **stars**: person bias + film quality (a little higher for popular films) + taste affinity +
  noise, scaled to the sample's mean and spread (3.55 ± 1.0) and rounded to half stars in 0.5–5;
  about half the people use whole stars only (MovieLens' older ratings did), which gives the
  sample's shape: 4 the most common value, half stars rarer than whole ones.

Everything is vectorised numpy and takes well under a second at the default size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.ratings import Ratings
from engine.data.synthetic_scale import ACTIVITY_SIGMA

GENRES = (
    "Action", "Comedy", "Drama", "Romance", "Thriller", "Sci-Fi", "Animation", "Documentary",
    "Horror", "Fantasy", "Crime", "Musical",
)  # fmt: skip
MIN_PER_USER = 20  # MovieLens keeps only people with at least 20 ratings
# Zipf–Mandelbrot popularity (rank + 120)^-2: at 5,000 films and 100k ratings the top film reaches
# ~55 % of the people, the top 10 % of films hold ~63 % of the ratings, ~12 % of films have one
# rating (the sample, over 9,066 films: 51 %, 60 %, 34 %); the scale protocol's flatter
# (rank + 40)^-1 spreads 100k ratings over nearly every film (top 10 %: 43 %)
POPULARITY_EXPONENT = 2.0
POPULARITY_OFFSET = 120.0
STAR_MEAN, STAR_SPREAD = 3.55, 1.0  # the sample's mean and standard deviation
TASTE_DIM = 16


@dataclass(frozen=True)
class SyntheticMovieLens:
    """The ratings plus the planted truth a test can check against."""

    ratings: Ratings
    user_group: np.ndarray  # per user index: their taste group
    item_group: np.ndarray  # per item index: the film's home group
    popularity: np.ndarray  # per item index: the Zipf weight it was drawn with (sums to 1)


def _check_sizes(n_users: int, n_items: int, n_ratings: int, n_groups: int) -> None:
    if not 1 <= n_groups <= len(GENRES):
        raise ValueError(f"n_groups must be 1 to {len(GENRES)}, got {n_groups}")
    if n_ratings < MIN_PER_USER * n_users or n_ratings > 0.3 * n_users * n_items:
        raise ValueError(
            f"n_ratings must be between {MIN_PER_USER} per user ({MIN_PER_USER * n_users}) and "
            f"30 % of all cells ({int(0.3 * n_users * n_items)}), got {n_ratings}"
        )


def _taste(
    rng: np.random.Generator, n_users: int, n_items: int, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group centres, people and films around them: (user_group, item_group, affinity), the
    affinity [users × films] standardised to unit spread."""
    centres = rng.normal(0.0, 1.0, (n_groups, TASTE_DIM))
    user_group = rng.integers(0, n_groups, n_users)
    item_group = rng.integers(0, n_groups, n_items)
    p = centres[user_group] + rng.normal(0.0, 0.6, (n_users, TASTE_DIM))
    q = centres[item_group] + rng.normal(0.0, 0.6, (n_items, TASTE_DIM))
    affinity = (p @ q.T) / TASTE_DIM
    return user_group, item_group, (affinity - affinity.mean()) / affinity.std()


def _stars(
    rng: np.random.Generator,
    users: np.ndarray,
    items: np.ndarray,
    popularity: np.ndarray,
    affinity: np.ndarray,
    taste: float,
    noise: float,
) -> np.ndarray:
    """Each (user, item) pair's stars: biases + taste + noise, scaled to the sample's mean and
    spread; half the people give whole stars only."""
    n_users, n_items = affinity.shape
    user_bias = rng.normal(0.0, 0.4, n_users)
    quality = 0.25 * (np.log(popularity) - np.log(popularity).mean()) / np.log(popularity).std()
    quality += rng.normal(0.0, 0.35, n_items)
    latent = (
        user_bias[users]
        + quality[items]
        + taste * affinity[users, items]
        + rng.normal(0.0, noise, len(users))
    )
    stars = STAR_MEAN + STAR_SPREAD * (latent - latent.mean()) / latent.std()
    whole = rng.random(n_users) < 0.5
    step = np.where(whole[users], 1.0, 2.0)  # 1 = whole stars, 2 = half stars
    values = np.clip(np.round(stars * step) / step, 0.5, 5.0)
    return np.where(whole[users], np.clip(values, 1.0, 5.0), values)


def make_synthetic_movielens(
    n_users: int = 600,
    n_items: int = 5_000,
    n_ratings: int = 100_000,
    n_groups: int = 8,
    seed: int = 0,
    selection: float = 1.0,
    taste: float = 0.4,
    noise: float = 0.75,
) -> SyntheticMovieLens:
    """Draw the dataset (see the module docstring); the same arguments give the same ratings.

    ``selection`` is β, how strongly taste steers which films a person rates; ``taste`` scales the
    affinity's effect on the stars; ``noise`` is the star noise's standard deviation.
    """
    _check_sizes(n_users, n_items, n_ratings, n_groups)
    rng = np.random.default_rng(seed)
    user_group, item_group, affinity = _taste(rng, n_users, n_items, n_groups)

    # popularity: Zipf over a random ranking of the films
    rank = rng.permutation(n_items)
    popularity = (rank + POPULARITY_OFFSET) ** -POPULARITY_EXPONENT
    popularity /= popularity.sum()

    # activity: lognormal, floor 20, cap a third of the catalogue, total ≈ n_ratings
    activity = rng.lognormal(0.0, ACTIVITY_SIGMA, n_users)
    spare = n_ratings - MIN_PER_USER * n_users
    counts = MIN_PER_USER + np.floor(activity / activity.sum() * spare).astype(np.int64)
    counts = np.minimum(counts, max(MIN_PER_USER, n_items // 3))

    # which films: Gumbel top-k = sampling without replacement ∝ popularity · exp(β·affinity)
    keys = np.log(popularity)[None, :] + selection * affinity + rng.gumbel(size=affinity.shape)
    order = np.argsort(-keys, axis=1)
    take = np.arange(n_items)[None, :] < counts[:, None]
    users = np.nonzero(take)[0]
    items = order[take]
    values = _stars(rng, users, items, popularity, affinity, taste, noise)

    frame = pd.DataFrame({"userId": users + 1, "movieId": items + 1, "rating": values})
    ratings = Ratings.from_frames(
        frame,
        _catalogue(item_group, rng),
        name=f"synthetic-movielens-{n_users}x{n_items}-seed{seed}",
        notes=(
            f"synthetic: {n_groups} taste groups, Zipf popularity, lognormal activity, "
            f"half-star ratings (engine.data.synthetic_movielens, seed {seed})",
        ),
    )
    # ids are index + 1 and every person and film is kept, so indices are the draws' own
    return SyntheticMovieLens(ratings, user_group, item_group, popularity)


def synthetic_movielens(seed: int = 0, **sizes: int) -> Ratings:
    """Just the ratings of ``make_synthetic_movielens`` (the default size unless ``sizes``)."""
    return make_synthetic_movielens(seed=seed, **sizes).ratings


def _catalogue(item_group: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """'Film 17 (1994)'-style titles; the first genre is the film's taste group, a second genre
    (a third of the films) is drawn at random, as MovieLens films often carry several."""
    n = len(item_group)
    names = np.array(GENRES, dtype=object)
    first = names[item_group]
    extra = rng.integers(0, len(GENRES), n)
    second = np.where((rng.random(n) < 1 / 3) & (extra != item_group), "|" + names[extra], "")
    return pd.DataFrame(
        {
            "movieId": np.arange(1, n + 1),
            "title": [f"Film {i}" for i in range(n)],
            "year": rng.integers(1930, 2019, n),
            "genres": first + second,
        }
    )


__all__ = ["SyntheticMovieLens", "make_synthetic_movielens", "synthetic_movielens"]
