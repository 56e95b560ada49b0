"""The ``Ratings`` container: one immutable, index-encoded view of a MovieLens dataset.

Every model, split and metric speaks in contiguous int32 indices; the id maps back to MovieLens
``userId`` / ``movieId`` live here and nowhere else. A split keeps the *same* index space as the
dataset it came from, so a model fitted on the train part can score films and users of the test part.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from engine.data.catalogue import MAX_RATING as MAX_RATING  # re-exported: the star scale
from engine.data.catalogue import MIN_RATING as MIN_RATING
from engine.data.catalogue import CatalogueStats

MOVIE_COLUMNS = ("movieId", "title", "year", "genres")


def _frozen(array: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=dtype)
    # a read-only array owning its memory (e.g. another Ratings' or one from ``_sealed``) is shared;
    # anything someone else may still write to is copied (copies cost seconds at 25M rows)
    if out is array and (array.base is not None or array.flags.writeable):
        out = out.copy()
    out.setflags(write=False)
    return out


def _sealed(array: np.ndarray) -> np.ndarray:
    """Mark an array this module just created read-only, so ``_frozen`` keeps it without a copy."""
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Ratings:
    """Ratings as parallel arrays plus the catalogue they refer to.

    ``movies`` has one row per item index ``0..n_items-1`` with columns ``movieId``, ``title``
    (without the year), ``year`` (nullable Int), ``genres`` ('|'-joined) and ``label``
    ("Title (Year)", what people see and type).
    """

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    user_ids: np.ndarray
    movies: pd.DataFrame
    name: str = "movielens"
    timestamps: np.ndarray | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "users", _frozen(self.users, np.int32))
        set_(self, "items", _frozen(self.items, np.int32))
        set_(self, "values", _frozen(self.values, np.float32))
        set_(self, "user_ids", _frozen(self.user_ids, np.int64))
        if self.timestamps is not None:
            set_(self, "timestamps", _frozen(self.timestamps, np.int64))
        n = len(self.users)
        if not (len(self.items) == len(self.values) == n):
            raise ValueError("users, items and values must have the same length")
        if self.timestamps is not None and len(self.timestamps) != n:
            raise ValueError("timestamps must have one entry per rating")
        missing = [c for c in MOVIE_COLUMNS if c not in self.movies.columns]
        if missing:
            raise ValueError(f"movies frame lacks columns {missing}")
        if n and (self.users.min() < 0 or self.users.max() >= len(self.user_ids)):
            raise ValueError("user index out of range of user_ids")
        if n and (self.items.min() < 0 or self.items.max() >= len(self.movies)):
            raise ValueError("item index out of range of movies")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        ratings: pd.DataFrame,
        movies: pd.DataFrame,
        name: str = "movielens",
        notes: tuple[str, ...] = (),
    ) -> Ratings:
        """Encode a ``userId, movieId, rating[, timestamp]`` frame against a movies frame.

        Films in ``movies`` nobody rated are kept (they can still be searched and shown); the
        caller has already validated and de-duplicated the ratings.

        The rows are put in canonical order, by (userId, movieId), whatever the frame's order:
        every seeded split, the id→index encoding and the fingerprint are then functions of the
        ratings alone, so the same ratings in another file order give the same figures.
        """
        movies = _normalise_movies(movies, cast(pd.Series, ratings["movieId"]))
        items = _positions(movies["movieId"].to_numpy(np.int64), ratings["movieId"].to_numpy())
        if (items < 0).any():  # _normalise_movies added every rated id, so this is a bug guard
            raise ValueError("rated movieId missing from the catalogue")
        user_ids = distinct_ids(ratings["userId"].to_numpy())
        users = _positions(user_ids, ratings["userId"].to_numpy())
        values = np.array(ratings["rating"].to_numpy(), dtype=np.float32)
        ts = None
        if "timestamp" in ratings:
            ts = np.array(ratings["timestamp"].to_numpy(), dtype=np.int64)
        order = canonical_order(users, items, len(movies), values, ts)
        if order is not None:
            users, items, values = users[order], items[order], values[order]
            ts = None if ts is None else ts[order]
        return cls(
            users=_sealed(users.astype(np.int32, copy=False)),
            items=_sealed(items.astype(np.int32, copy=False)),
            values=_sealed(values),
            user_ids=_sealed(user_ids),
            movies=movies,
            name=name,
            timestamps=None if ts is None else _sealed(ts),
            notes=tuple(notes),
        )

    def subset(self, rows: np.ndarray) -> Ratings:
        """The ratings at ``rows`` (indices or a boolean mask), in the same index space."""
        rows = np.asarray(rows)
        return Ratings(
            users=self.users[rows],
            items=self.items[rows],
            values=self.values[rows],
            user_ids=self.user_ids,
            movies=self.movies,
            name=self.name,
            timestamps=None if self.timestamps is None else self.timestamps[rows],
            notes=self.notes,
        )

    def concat(self, other: Ratings) -> Ratings:
        """This dataset's ratings plus ``other``'s, which must share the index space."""
        if other.movies is not self.movies and len(other.movies) != len(self.movies):
            raise ValueError("cannot concatenate ratings from different catalogues")
        ts = None
        if self.timestamps is not None and other.timestamps is not None:
            ts = np.concatenate([self.timestamps, other.timestamps])
        return Ratings(
            users=np.concatenate([self.users, other.users]),
            items=np.concatenate([self.items, other.items]),
            values=np.concatenate([self.values, other.values]),
            user_ids=self.user_ids,
            movies=self.movies,
            name=self.name,
            timestamps=ts,
            notes=self.notes,
        )

    # ------------------------------------------------------------------ sizes and views
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.movies)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def item_ids(self) -> np.ndarray:
        return self.movies["movieId"].to_numpy(np.int64)

    @property
    def labels(self) -> np.ndarray:
        """ "Title (Year)" per item index."""
        return self.movies["label"].to_numpy()

    def csr(self) -> sp.csr_matrix:
        """users × items sparse matrix of the rating values."""
        return sp.csr_matrix(
            (self.values, (self.users, self.items)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )

    @cached_property
    def _by_user(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.users, kind="stable")
        starts = np.searchsorted(self.users[order], np.arange(self.n_users + 1))
        return order, starts

    def user_rows(self, user: int) -> np.ndarray:
        """Positions of ``user``'s ratings in the arrays (in original order)."""
        order, starts = self._by_user
        return order[starts[user] : starts[user + 1]]

    def user_items(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, values) that ``user`` rated."""
        rows = self.user_rows(user)
        return self.items[rows], self.values[rows]

    def user_counts(self) -> np.ndarray:
        return np.bincount(self.users, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        return np.bincount(self.items, minlength=self.n_items)

    @cached_property
    def median_history(self) -> float:
        """The median number of films a user with any rating rated (1 with no ratings): how
        much of a whole history a new member's answers are (the card fold-in, the watch-aware
        elicitation strategies)."""
        counts = self.user_counts()
        return float(np.median(counts[counts > 0])) if counts.any() else 1.0

    def item_means(self) -> np.ndarray:
        """Mean rating per item (NaN where nobody rated it)."""
        sums = np.bincount(self.items, weights=self.values, minlength=self.n_items)
        counts = self.item_counts()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    def to_torch(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
        """(users, items, values) as int64/int64/float32 tensors on ``device``."""
        return (
            torch.from_numpy(self.users.astype(np.int64)).to(device),
            torch.from_numpy(self.items.astype(np.int64)).to(device),
            torch.from_numpy(self.values.copy()).to(device),
        )

    @cached_property
    def stats(self) -> CatalogueStats:
        """Per-film counts, means, priors, genres and years, computed once and shared."""
        return CatalogueStats(self.users, self.items, self.values, self.n_users, self.movies)

    @cached_property
    def fingerprint(self) -> str:
        """A content hash: two datasets with the same fingerprint encode the same ratings the same way."""
        h = hashlib.sha256()
        h.update(np.array([self.n_users, self.n_items, len(self)], dtype=np.int64).tobytes())
        for array in (self.users, self.items, self.values, self.user_ids, self.item_ids):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]

    def find(self, label: str) -> int:
        """Item index of a film by its label ("Toy Story (1995)"), or its bare title if unique.

        Raises ``KeyError`` with close matches when nothing or several films match.
        """
        key = label.strip().casefold()
        labels = self.movies["label"].str.casefold()
        hits = np.flatnonzero(labels.to_numpy() == key)
        if len(hits) == 0:
            hits = np.flatnonzero(self.movies["title"].str.casefold().to_numpy() == key)
        if len(hits) == 1:
            return int(hits[0])
        if len(hits) > 1:
            options = ", ".join(self.movies["label"].iloc[hits[:5]])
            raise KeyError(f"{label!r} matches several films: {options}; add the year")
        label_column = cast(pd.Series, self.movies["label"])
        near = label_column.loc[labels.str.contains(key[:12], regex=False)].head(5).tolist()
        if key and not near:  # a typo ("Toy Storey"): the most similar labels
            by_folded = dict(zip(labels.tolist(), self.movies["label"].tolist(), strict=True))
            near = [by_folded[c] for c in difflib.get_close_matches(key, list(by_folded), n=5)]
        hint = f"; did you mean {', '.join(near)}?" if key and near else ""
        raise KeyError(f"no film called {label!r}{hint}")


def canonical_order(
    users: np.ndarray,
    items: np.ndarray,
    n_items: int,
    values: np.ndarray | None = None,
    timestamps: np.ndarray | None = None,
) -> np.ndarray | None:
    """The permutation that sorts ratings by (user index, item index), or None if already sorted.

    Indices follow the sorted original ids, so this is the order by (userId, movieId). MovieLens
    ships its files in that order: the check costs ~0.1 s at 25M rows and nothing moves. Otherwise
    one argsort of a packed int64 key (~2.3 s at 25M shuffled rows on one core). Repeated pairs
    (only possible from a caller that skipped de-duplication) are ordered by value, then
    timestamp, so even then the order does not depend on the input's.
    """
    if len(users) < 2:
        return None
    key = users.astype(np.int64) * max(int(n_items), 1) + items.astype(np.int64)
    step = key[1:] - key[:-1]
    if bool((step > 0).all()):
        return None
    order = np.argsort(key)
    sorted_key = key[order]
    if bool((sorted_key[1:] == sorted_key[:-1]).any()):  # repeated pairs: a total order
        columns = [key]
        if values is not None:
            columns.insert(0, values)
        if timestamps is not None:
            columns.insert(0, timestamps)
        order = np.lexsort(columns)
    return order


def _int_ids(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    return ids if ids.dtype.kind in "iu" else ids.astype(np.int64)


def _dense(ids: np.ndarray) -> bool:
    """Whether a lookup table over 0..max(ids) is affordable (MovieLens ids are small ints)."""
    return bool(len(ids)) and ids.min() >= 0 and int(ids.max()) < 4 * len(ids) + (1 << 22)


def distinct_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct ids as int64. A presence table for dense ids: O(n), where numpy's
    ``np.unique`` costs seconds per call at 25M rows."""
    ids = _int_ids(ids)
    if not _dense(ids):
        return np.unique(ids.astype(np.int64))
    present = np.zeros(int(ids.max()) + 1, dtype=bool)
    present[ids] = True
    return np.flatnonzero(present).astype(np.int64)


def _positions(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each ``query`` id in the sorted distinct ``keys`` (-1 where absent)."""
    query = _int_ids(query)
    if len(query) == 0:
        return np.zeros(0, dtype=np.int64)
    if _dense(keys) and _dense(query) and len(keys) < np.iinfo(np.int32).max:
        table = np.full(max(int(keys.max()), int(query.max())) + 1, -1, dtype=np.int32)
        table[keys] = np.arange(len(keys), dtype=np.int32)
        return table[query]
    return pd.Index(keys).get_indexer(query.astype(np.int64))


def _normalise_movies(movies: pd.DataFrame, rated_ids: pd.Series) -> pd.DataFrame:
    """One row per film with the canonical columns; adds placeholder rows for rated ids the
    catalogue lacks so that no rating is dropped."""
    movies = movies.drop_duplicates("movieId", keep="first").copy()
    extra = np.setdiff1d(distinct_ids(rated_ids.to_numpy()), movies["movieId"].to_numpy())
    if len(extra):
        movies = pd.concat(
            [movies, pd.DataFrame({"movieId": extra, "title": None, "year": None, "genres": ""})],
            ignore_index=True,
        )
    movies["movieId"] = movies["movieId"].astype(np.int64)
    missing_title = movies["title"].isna() | (movies["title"].astype(str).str.strip() == "")
    movies["title"] = movies["title"].astype(object)
    movies.loc[missing_title, "title"] = [
        f"Untitled film #{i}" for i in movies.loc[missing_title, "movieId"]
    ]
    movies["title"] = movies["title"].astype(str).str.strip()  # "Angst " -> "Angst"
    movies["year"] = pd.array(
        cast(pd.Series, pd.to_numeric(movies["year"], errors="coerce")), dtype="Int64"
    )
    genres = movies["genres"].fillna("").astype(str)
    movies["genres"] = genres.replace("(no genres listed)", "")
    movies = movies.sort_values("movieId", kind="stable").reset_index(drop=True)
    year_text = movies["year"].astype("string").fillna("")
    movies["label"] = np.where(
        year_text != "", movies["title"] + " (" + year_text + ")", movies["title"]
    )
    return cast(pd.DataFrame, movies[[*MOVIE_COLUMNS, "label"]])
