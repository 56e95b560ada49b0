"""What a member has answered so far, checked once, and the one way every strategy picks films.

Every elicitation strategy reads the same things (the model, the catalogue, the films rated
with their stars, every film answered) and ends the same way (the ``n`` best films by a score,
never one already answered, ties to the more rated film). Holding them in one ``Answers`` keeps
each strategy down to what it alone decides: its score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.group.strategies import top_k


class ElicitModel(Protocol):
    """What elicitation reads of a model: its catalogue size and film vectors (None where it
    has none; ``adaptive`` then falls back to ``entropy``). Every ``Recommender`` is one."""

    @property
    def n_items(self) -> int: ...

    def item_vectors(self) -> np.ndarray | None: ...


def checked_answers(
    rated: Mapping[int, float],
    unseen: Iterable[int],
    n_items: int,
    passed: Iterable[int] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(rated items, their stars, every film shown, how many of those were answered) validated,
    with clear errors. The films shown are the rated ones, then the "haven't seen it" ones, then
    the ``passed`` ones (shown, never to be asked again, but no evidence either way)."""
    if not isinstance(rated, Mapping):
        raise ValueError("rated must map film index → stars")
    try:
        items = np.array([int(i) for i in rated], dtype=np.int64)
        values = np.array([float(v) for v in rated.values()], dtype=np.float64)
        skipped = np.array(sorted(int(i) for i in unseen), dtype=np.int64)
        gone = np.array(sorted(int(i) for i in passed), dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError("film indices must be whole numbers and ratings numbers") from None
    every = np.concatenate([items, skipped, gone])
    if len(every) and (every.min() < 0 or every.max() >= n_items):
        raise ValueError(f"answered film indices must be in 0..{n_items - 1}")
    if not np.isfinite(values).all():
        raise ValueError("a rating is not a number")
    if len(values) and (values.min() < MIN_RATING or values.max() > MAX_RATING):
        raise ValueError(f"ratings must be between {MIN_RATING} and {MAX_RATING} stars")
    return items, values, every, len(items) + len(skipped)


def pick(key: np.ndarray, answered: np.ndarray, n: int, catalogue: Ratings) -> list[int]:
    """The n best films by ``key`` not yet answered; ties go to the more rated film, never to
    catalogue position (unless the counts tie too)."""
    key = np.nan_to_num(np.asarray(key, dtype=np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    key[answered] = -np.inf
    available = len(key) - len(np.unique(answered))
    return [int(i) for i in top_k(key, min(n, available), catalogue.stats.counts)]


@dataclass(frozen=True)
class Answers:
    """A member's answers as the strategies read them: ``items`` rated with ``values`` stars,
    and ``answered``, every film shown: the rated films, the "haven't seen it" ones, then any
    passed over without an answer (``checked_answers``; ``n_answered`` of them answered)."""

    model: ElicitModel | None
    catalogue: Ratings
    items: np.ndarray
    values: np.ndarray
    answered: np.ndarray
    n_answered: int | None = None  # None: every film in ``answered`` was answered

    @property
    def skipped(self) -> np.ndarray:
        """The "haven't seen it" answers: ``answered`` past the rated films, before any passed."""
        return self.answered[len(self.items) : self.n_answered]

    def vectors(self) -> np.ndarray | None:
        """The model's film vectors, None without a model or where it has none."""
        return self.model.item_vectors() if self.model is not None else None

    def pick(self, key: np.ndarray, n: int) -> list[int]:
        """The ``n`` best films by ``key`` not yet answered (``pick``)."""
        return pick(key, self.answered, n, self.catalogue)


__all__ = ["Answers", "ElicitModel", "checked_answers", "pick"]
