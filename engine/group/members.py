"""Who is in the room and what they may pick: members, filters, and their validation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings


@dataclass(frozen=True)
class Member:
    """One person in the room: their star ratings (item indices and values), the films they
    said they have seen without giving stars (``seen``), and the films they said they have not
    seen (``unseen``); item indices, each film in at most one of the three.

    A seen film is evidence of watching, not of liking, and "haven't seen it" evidence of not
    watching: implicit models (and the hybrid's implicit part) use both where they can
    (``engine.group.predict.fold_member``), explicit models only ever see star ratings. Seen and
    unseen films stay candidates for the room: someone may be happy to watch a film again, or
    for the first time.
    """

    name: str
    items: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    seen: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    unseen: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


@dataclass(frozen=True)
class Filters:
    """What the room wants tonight: any of ``genres`` (empty = all), a year range (inclusive),
    and a minimum number of ratings in the catalogue (a proxy for "people know it")."""

    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    min_ratings: int = 0


def validate_members(members: Sequence[Member], n_items: int) -> list[Member]:
    """Members with clean arrays; a clear ValueError names the member and what to fix."""
    if isinstance(members, Member):
        members = [members]
    out, seen = [], set()
    for m in members:
        if not isinstance(m, Member):
            raise ValueError(f"members must be Member objects, got {type(m).__name__}")
        name = m.name.strip() if isinstance(m.name, str) else ""
        if not name:
            raise ValueError("every member needs a non-empty name")
        if name.casefold() in seen:
            raise ValueError(f"two members are called {name!r}; names must be unique")
        seen.add(name.casefold())
        try:
            items = np.asarray(m.items).reshape(-1)
            values = np.asarray(m.values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"{name}'s ratings must be numbers") from None
        if len(items) != len(values):
            raise ValueError(f"{name} has {len(items)} films but {len(values)} ratings")
        whole = np.issubdtype(items.dtype, np.integer) or (
            np.issubdtype(items.dtype, np.floating) and np.all(items == np.round(items))
        )
        if len(items) and not whole:
            raise ValueError(f"{name}'s films must be item indices (whole numbers)")
        items = items.astype(np.int64)
        if len(items) and (items.min() < 0 or items.max() >= n_items):
            bad = items[(items < 0) | (items >= n_items)][:3].tolist()
            raise ValueError(f"{name} rated films {bad} that are not in the catalogue of {n_items}")
        if not np.isfinite(values).all():
            raise ValueError(f"{name} has a rating that is not a number")
        if len(values) and (values.min() < MIN_RATING or values.max() > MAX_RATING):
            raise ValueError(
                f"{name}'s ratings must be between {MIN_RATING} and {MAX_RATING} stars"
            )
        if len(np.unique(items)) != len(items):
            raise ValueError(f"{name} rated the same film twice")
        seen_items = _answered_items(name, "seen", m.seen, items, n_items)
        unseen_items = _answered_items(
            name, "unseen", m.unseen, np.concatenate([items, seen_items]), n_items
        )
        out.append(Member(name, items, values.astype(np.float32), seen_items, unseen_items))
    return out


def _answered_items(
    name: str, kind: str, films: object, earlier: np.ndarray, n_items: int
) -> np.ndarray:
    """A member's ``kind`` ("seen" or "unseen") films as unique int64 item indices, none of them
    among the ``earlier`` answered ones (a film is rated, seen or unseen, never two)."""
    what = f"{name}'s {kind} films"
    try:
        raw = np.asarray(films).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be item indices (whole numbers)") from None
    if not len(raw):
        return np.empty(0, np.int64)
    whole = np.issubdtype(raw.dtype, np.integer) or (
        np.issubdtype(raw.dtype, np.floating) and np.all(raw == np.round(raw))
    )
    if not whole:
        raise ValueError(f"{what} must be item indices (whole numbers)")
    items = raw.astype(np.int64)
    if items.min() < 0 or items.max() >= n_items:
        bad = items[(items < 0) | (items >= n_items)][:3].tolist()
        raise ValueError(f"{what} {bad} are not in the catalogue of {n_items}")
    if len(np.unique(items)) != len(items):
        raise ValueError(f"{name} lists the same {kind} film twice")
    both = np.intersect1d(items, earlier)
    if len(both):
        raise ValueError(
            f"{name} answered films {both[:3].tolist()} twice (rated, seen without stars or "
            "unseen); pass each film once"
        )
    return items


def candidate_mask(
    catalogue: Ratings, members: Sequence[Member], exclude: Iterable[int], filters: Filters | None
) -> np.ndarray:
    """Films that may be picked: not rated by any member, not watched, and passing the filters."""
    stats = catalogue.stats
    n = stats.n_items
    mask = np.ones(n, dtype=bool)
    for m in members:
        mask[m.items] = False
    try:
        watched = np.fromiter((int(i) for i in exclude), dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError("exclude must be film indices (whole numbers)") from None
    if len(watched) and (watched.min() < 0 or watched.max() >= n):
        raise ValueError(f"excluded films must be indices in 0..{n - 1}")
    mask[watched] = False
    if filters is None:
        return mask
    if not isinstance(filters, Filters):
        raise ValueError("filters must be a Filters object")
    if filters.genres:
        unknown = [g for g in filters.genres if g not in stats.genres]
        if unknown:
            raise ValueError(f"unknown genre(s) {unknown}; choose from {', '.join(stats.genres)}")
        mask &= np.logical_or.reduce([stats.genre_mask(g) for g in filters.genres])
    if filters.years is not None:
        try:
            lo, hi = (int(y) for y in filters.years)
        except (TypeError, ValueError):
            raise ValueError("years must be a (from, to) pair of whole years") from None
        if lo > hi:
            raise ValueError(f"year range {lo}–{hi} is empty; put the earlier year first")
        with np.errstate(invalid="ignore"):
            mask &= (stats.years >= lo) & (stats.years <= hi)
    if filters.min_ratings < 0:
        raise ValueError("min_ratings cannot be negative")
    if filters.min_ratings:
        mask &= stats.counts >= filters.min_ratings
    return mask
