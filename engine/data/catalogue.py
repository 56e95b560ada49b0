"""Statistics of a catalogue that many parts of the engine need: built once per ``Ratings``.

Group blending (priors, filters), elicitation (popularity, rating entropy, who has seen what),
insights (genres for colours) and the app (genre and year pickers) all read the same numbers;
they live here, computed lazily and cached on the ``Ratings`` object (``ratings.stats``), so
nobody keeps a second cache or parses genres their own way.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

MIN_RATING = 0.5
MAX_RATING = 5.0
NO_GENRE = "(no genres listed)"
# A damped mean (Bayesian average) pulls rarely rated films towards the global mean, so a film
# needs both a high mean and many ratings to lead "popular and well rated" lists.
PRIOR_DAMPING = 20.0
TYPICAL_RATING = 3.5  # the star scale's middle, for a catalogue with no ratings at all


def parse_genres(text: object) -> list[str]:
    """MovieLens ``"Action|Comedy"`` → ``["Action", "Comedy"]``; the one genre parser.

    Missing values and MovieLens's ``"(no genres listed)"`` give ``[]``: it is not a genre a
    person would filter by or a colour a map should spend.
    """
    if not isinstance(text, str):
        return []
    return [g for g in (part.strip() for part in text.split("|")) if g and g != NO_GENRE]


class CatalogueStats:
    """Per-film counts, means, priors, genres and years of one ``Ratings``.

    Built from the ratings' arrays (not the ``Ratings`` object, which owns it: no import loop).
    Arrays are indexed by item index and read-only: share them, copy before changing.
    """

    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        n_users: int,
        movies: pd.DataFrame,
    ):
        self._users, self._items, self._values = users, items, values
        self.n_users = n_users
        self.n_items = len(movies)
        self._movies = movies

    # ------------------------------------------------------------------ ratings
    @cached_property
    def counts(self) -> np.ndarray:
        """How many ratings each film has (float64, for arithmetic)."""
        return _read_only(np.bincount(self._items, minlength=self.n_items).astype(np.float64))

    @cached_property
    def sums(self) -> np.ndarray:
        return _read_only(np.bincount(self._items, self._values, self.n_items))

    @cached_property
    def typical(self) -> float:
        """The catalogue's mean rating (the middle of the star scale when it has none)."""
        values = self._values
        return float(values.mean()) if len(values) else TYPICAL_RATING

    @cached_property
    def means(self) -> np.ndarray:
        """Mean rating per film, NaN where nobody rated it."""
        counts = self.counts
        return _read_only(np.where(counts > 0, self.sums / np.maximum(counts, 1), np.nan))

    @cached_property
    def prior(self) -> np.ndarray:
        """Stars for someone we know nothing about: the damped mean rating of each film."""
        return _read_only(
            (self.sums + PRIOR_DAMPING * self.typical) / (self.counts + PRIOR_DAMPING)
        )

    @cached_property
    def popularity(self) -> np.ndarray:
        """Share of people who rated each film."""
        return _read_only(self.counts / max(self.n_users, 1))

    @cached_property
    def entropy(self) -> np.ndarray:
        """Entropy (bits) of each film's rating histogram over the ten half-star bins."""
        bins = np.clip(np.round((self._values - MIN_RATING) * 2).astype(np.int64), 0, 9)
        hist = np.zeros((self.n_items, 10))
        np.add.at(hist, (self._items, bins), 1.0)
        p = hist / np.maximum(hist.sum(1, keepdims=True), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _read_only(-np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1))

    @cached_property
    def seen_by(self) -> sp.csr_matrix:
        """items × users, 1 where the user rated the film: who has seen what."""
        return sp.csr_matrix(
            (np.ones(len(self._items), np.float32), (self._items, self._users)),
            shape=(self.n_items, self.n_users),
        )

    # ------------------------------------------------------------------ films
    @cached_property
    def genre_lists(self) -> list[list[str]]:
        """Each film's genres, parsed once (``parse_genres``)."""
        return [parse_genres(g) for g in self._movies["genres"].tolist()]

    @cached_property
    def genres(self) -> list[str]:
        """Every genre in the catalogue, sorted."""
        return sorted({g for gs in self.genre_lists for g in gs})

    @cached_property
    def _genre_masks(self) -> dict[str, np.ndarray]:
        masks = {g: np.zeros(self.n_items, dtype=bool) for g in self.genres}
        for item, gs in enumerate(self.genre_lists):
            for g in gs:
                masks[g][item] = True
        return {g: _read_only(m) for g, m in masks.items()}

    def genre_mask(self, genre: str) -> np.ndarray:
        """Films of ``genre`` (all False for a genre the catalogue lacks)."""
        mask = self._genre_masks.get(genre)
        return mask if mask is not None else np.zeros(self.n_items, dtype=bool)

    def first_genre(self) -> list[str]:
        """Each film's first genre, "" where it has none (a colour key for maps and graphs)."""
        return [gs[0] if gs else "" for gs in self.genre_lists]

    @cached_property
    def years(self) -> np.ndarray:
        """Release year per film as float64, NaN where unknown."""
        years = self._movies["year"]
        return _read_only(years.to_numpy(dtype=np.float64, na_value=np.nan))

    def year_range(self) -> tuple[int, int] | None:
        """(earliest, latest) release year, None when no film has one."""
        known = self.years[np.isfinite(self.years)]
        return (int(known.min()), int(known.max())) if len(known) else None


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
