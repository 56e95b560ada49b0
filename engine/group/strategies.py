"""Ways to turn everyone's predicted stars into one list: the classic aggregations, and the
pieces every strategy shares (ordering with meaningful ties, a selection's shape).

Every strategy is a pure function over a ``[members × candidates]`` matrix of predicted stars,
so each can be tested on hand-made matrices without a model. The classic aggregations follow
Masthoff (2011); the rank-aware fair re-rankers (GFAR, XPO, GreedyLM, SPGreedy) are in
``engine.group.fairness`` and the named registry in ``engine.group.registry``.

Ties never fall to catalogue position: a strategy's own key is followed by the group's mean
stars, then by a ``tiebreak`` the caller supplies (``recommend`` passes each film's damped mean
rating), and only films equal on all of those (indistinguishable to the model and the catalogue)
keep their candidate order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.data.ratings import MAX_RATING, MIN_RATING

LIKE_AT = 3.75  # stars from which a member is more likely than not to like a film
LIKE_WIDTH = 0.35  # stars over which P(like) goes from ~27 % to ~73 %
TIE_DECIMALS = 12  # keys equal to this many decimals are ties (greedy gains carry float noise)


def top_k(
    key: np.ndarray, k: int, tiebreak: np.ndarray | Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """Positions of the k largest keys, best first.

    Ties are settled by each array in ``tiebreak`` in turn (larger first), and only then by
    position. NaN keys rank last. ``argpartition`` first, so large catalogues never get a full
    sort; the boundary value is kept inclusively so ties at the cut are settled by the
    tie-breaks, not by partition luck.
    """
    key = np.where(np.isnan(key), -np.inf, np.asarray(key, dtype=np.float64))
    k = min(k, len(key))
    if k <= 0:
        return np.empty(0, np.int64)
    if k < len(key):
        kth = np.partition(key, len(key) - k)[len(key) - k]
        pool = np.flatnonzero(key >= kth)
    else:
        pool = np.arange(len(key))
    breaks = _as_keys(tiebreak)
    # np.lexsort sorts by its last key first: position last-resort, then tie-breaks, then key
    keys = [pool, *(-np.nan_to_num(b[pool], nan=-np.inf) for b in reversed(breaks)), -key[pool]]
    return pool[np.lexsort(keys)[:k]].astype(np.int64)


def _as_keys(tiebreak: np.ndarray | Sequence[np.ndarray] | None) -> list[np.ndarray]:
    if tiebreak is None:
        return []
    if isinstance(tiebreak, np.ndarray) and tiebreak.ndim == 1:
        return [tiebreak.astype(np.float64)]
    return [np.asarray(b, dtype=np.float64) for b in tiebreak]


def fallback_keys(pred: np.ndarray, tiebreak: np.ndarray | None) -> list[np.ndarray]:
    """What settles a strategy's ties: the group's mean stars, then the caller's tie-break."""
    mean = pred.mean(axis=0) if len(pred) else np.zeros(pred.shape[1])
    return [mean] if tiebreak is None else [mean, np.asarray(tiebreak, dtype=np.float64)]


def fallback_order(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """The first k candidates in the order ties fall back to (mean stars, then ``tiebreak``)."""
    keys = fallback_keys(pred, tiebreak)
    return top_k(keys[0], k, keys[1:])


def average(pred: np.ndarray) -> np.ndarray:
    """Mean predicted stars: utilitarian, can leave one member with a film they dislike."""
    return pred.mean(axis=0)


def least_misery(pred: np.ndarray) -> np.ndarray:
    """The least happy member's stars: nobody suffers, but nobody's favourite wins either."""
    return pred.min(axis=0)


def most_pleasure(pred: np.ndarray) -> np.ndarray:
    """The happiest member's stars: someone will love it."""
    return pred.max(axis=0)


VETO_BELOW = 3.0  # average without misery: stars under which a member vetoes a film


def average_without_misery(pred: np.ndarray, threshold: float = VETO_BELOW) -> np.ndarray:
    """Mean stars, but films anyone is predicted to rate below ``threshold`` rank after all others
    (shifted down by the whole star range, so the order within each part is still the mean)."""
    mean = pred.mean(axis=0)
    vetoed = pred.min(axis=0) < threshold
    return np.where(vetoed, mean - (MAX_RATING - MIN_RATING + 1.0), mean)


def borda(pred: np.ndarray) -> np.ndarray:
    """Mean Borda points: each member ranks the films and gives 0 (worst) .. 1 (best); ties share
    the average points. Insensitive to each member's scale."""
    return rank_points(pred).mean(axis=0)


def multiplicative(pred: np.ndarray) -> np.ndarray:
    """Product of stars, shown as their geometric mean (same order, stays on the star scale)."""
    return np.exp(np.log(np.clip(pred, 1e-6, None)).mean(axis=0))


def rank_points(pred: np.ndarray) -> np.ndarray:
    """Per row, average-rank points in [0, 1] (1 = that member's best film)."""
    m, n = pred.shape
    if n <= 1:
        return np.ones_like(pred, dtype=np.float64)
    out = np.empty((m, n))
    for r in range(m):  # one vectorised ranking per member, never per film
        out[r] = _average_ranks(pred[r])
    return out / (n - 1)


def _average_ranks(row: np.ndarray) -> np.ndarray:
    """0-based ranks (ascending) with ties sharing their mean rank, like scipy's rankdata - 1
    (written out because it runs once per member per blend and scipy's copy costs more)."""
    order = np.argsort(row, kind="stable")
    sorted_ = row[order]
    new = np.concatenate([[True], sorted_[1:] != sorted_[:-1]])
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.concatenate([starts[1:], [len(row)]])
    mean_rank = (starts + ends - 1) / 2.0
    ranks = np.empty(len(row))
    ranks[order] = mean_rank[group]
    return ranks


def like_probability(
    pred: np.ndarray, at: float = LIKE_AT, width: float = LIKE_WIDTH
) -> np.ndarray:
    """P(member likes film) from predicted stars: a logistic around ``at`` stars."""
    return 1.0 / (1.0 + np.exp(-(pred - at) / width))


# ---------------------------------------------------------------------------- selections


@dataclass(frozen=True)
class Selection:
    """What a strategy chose, and why, for k picks.

    ``positions``: chosen candidate columns, best first. ``scores``: the number the strategy
    ranked by at each pick, in its own unit (see ``Strategy.score_label``). ``served``: the
    member each pick was chosen for, or -1 where it was chosen for the group as a whole.
    ``lists``: ``[members × picks]``, True where the pick comes from that member's own top list
    (rank-aware strategies; None for the classic ones). ``filled``: True for picks made when the
    strategy saw no difference between the films left (zero gain), taken in the fallback order.
    After a novelty re-ranking (``engine.group.novelty``), ``scores`` is its key and
    ``own_scores`` the strategy's scores, with ``seen_share`` per pick.
    """

    positions: np.ndarray
    scores: np.ndarray
    served: np.ndarray
    lists: np.ndarray | None = None
    filled: np.ndarray | None = None
    own_scores: np.ndarray | None = None  # the strategy's scores when novelty re-ranked the list
    seen_share: np.ndarray | None = None  # share of the group likely to have seen each pick


Selector = Callable[[np.ndarray, int, "np.ndarray | None"], Selection]


def by_key(key_fn: Callable[[np.ndarray], np.ndarray]) -> Selector:
    """A strategy that ranks by one number per film, ties by the fallback order."""

    def select(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> Selection:
        key = key_fn(pred)
        chosen = top_k(key, k, fallback_keys(pred, tiebreak))
        return Selection(chosen, key[chosen], np.full(len(chosen), -1, np.int64))

    return select


def select_average_without_misery(
    pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None
) -> Selection:
    """Average without misery ranks by (not vetoed, mean stars); its score is the mean, which
    falls down each part of the list (vetoed films come after every film nobody vetoes)."""
    key = average_without_misery(pred)
    chosen = top_k(key, k, fallback_keys(pred, tiebreak))
    vetoed = pred.min(axis=0)[chosen] < VETO_BELOW
    return Selection(
        chosen, pred.mean(axis=0)[chosen], np.full(len(chosen), -1, np.int64), filled=vetoed
    )


__all__ = [
    "LIKE_AT",
    "LIKE_WIDTH",
    "VETO_BELOW",
    "Selection",
    "Selector",
    "average",
    "average_without_misery",
    "borda",
    "by_key",
    "fallback_keys",
    "fallback_order",
    "least_misery",
    "like_probability",
    "most_pleasure",
    "multiplicative",
    "rank_points",
    "select_average_without_misery",
    "top_k",
]
