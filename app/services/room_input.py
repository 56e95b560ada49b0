"""A room as the engine's input: the one way from the store to ``engine.group``.

Every caller that asks the engine about a room (the Picks list, the note "X gives the same films
as Y", the load test in ``tools/loadtest.py``) builds its input here, so they cannot disagree
about who is in the room, what they answered, or which films are out tonight (watched together,
skipped in a vote, or rejected by a closed vote without a match: ``tonight.ruled_out``).

Streamlit-free: it takes the store and the catalogue's movieId index as arguments, so a tool or a
test can call it without a running app.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from app.services.tonight import ruled_out
from app.store import Store
from engine.group import Filters, Member


@dataclass(frozen=True)
class PicksOptions:
    """What a person chose on the Picks page (all hashable: part of the picks cache key)."""

    model_name: str | None = None
    strategy: str | None = None
    k: int = 10
    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    min_ratings: int = 0
    novelty: float = 0.0

    def filters(self) -> Filters:
        """The catalogue filters these options ask for, as ``engine.group.Filters``."""
        return Filters(genres=tuple(self.genres), years=self.years, min_ratings=self.min_ratings)


@dataclass(frozen=True)
class RoomInput:
    """What ``engine.group.recommend`` needs about a room: its members (names in join order),
    the item indices no list may show tonight, and the catalogue filters."""

    names: list[str]
    members: list[Member]
    exclude: list[int]
    filters: Filters


def room_members(store: Store, room_code: str, index: pd.Index) -> tuple[list[str], list[Member]]:
    """Every member of the room (join order) with their star ratings as item indices of
    ``index`` (movieId -> position), the films they said they have seen without stars
    (``Member.seen``) and those they said they have not (``Member.unseen``, which the room's
    model reads as evidence: ``engine.group.predict.fold_member``). Members who answered nothing
    are kept (the engine counts them as average taste); films not in ``index`` are dropped."""
    names = [m.name for m in store.members(room_code)]
    answers = store.room_answers(room_code)
    seen_by = store.tonight.room_seen(room_code)
    members = []
    for name in names:
        mine = answers.loc[answers["member"] == name]
        rated = mine.loc[mine["rating"].notna()]
        items = _indices(index, rated["movie_id"])
        keep = items >= 0
        items, values = items[keep], rated["rating"].to_numpy(np.float32)[keep]
        seen = _indices(index, sorted(seen_by.get(name, ())))
        seen = np.setdiff1d(seen[seen >= 0], items)  # a rated film counts by its stars
        unseen = _indices(index, mine.loc[mine["rating"].isna(), "movie_id"])
        unseen = np.setdiff1d(unseen[unseen >= 0], np.concatenate([items, seen]))
        members.append(Member(name, items, values, seen, unseen))
    return names, members


def _indices(index: pd.Index, movie_ids: Iterable[int]) -> np.ndarray:
    """Positions of ``movie_ids`` in ``index`` (-1 where a film is not in it)."""
    return index.get_indexer(np.fromiter(movie_ids, dtype=np.int64)).astype(np.int64)


def excluded_items(
    store: Store, room_code: str, index: pd.Index, now: datetime | None = None
) -> list[int]:
    """Item indices (sorted) out of the room's lists: watched together, or ruled out by
    tonight's votes (``tonight.ruled_out``)."""
    movie_ids = store.watched(room_code) | ruled_out(store, room_code, now)
    idx = index.get_indexer(np.fromiter(sorted(movie_ids), dtype=np.int64, count=len(movie_ids)))
    return [int(i) for i in idx if i >= 0]


def room_input(
    store: Store,
    room_code: str,
    index: pd.Index,
    options: PicksOptions | None = None,
    now: datetime | None = None,
) -> RoomInput:
    """The room as the engine's input for ``options`` (filters; strategy, k and novelty are
    passed to ``recommend`` by the caller): members, exclusions, filters."""
    names, members = room_members(store, room_code, index)
    filters = (options or PicksOptions()).filters()
    return RoomInput(names, members, excluded_items(store, room_code, index, now), filters)
