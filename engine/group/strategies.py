"""Ways to turn everyone's predicted stars into one list: pure functions over a matrix.

The blend is a set of pure functions over a ``[members × films]`` matrix of predicted stars, so
every strategy can be tested on hand-made matrices without a model. Strategies follow the
group-recommender literature (Masthoff 2011 for the classic aggregations; Kaya, Bridge &
Tintarev, RecSys 2020 for GFAR, the fairness-aware greedy re-ranking).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.data.ratings import MAX_RATING, MIN_RATING

LIKE_AT = 3.75  # stars from which a member is more likely than not to like a film
LIKE_WIDTH = 0.35  # stars over which P(like) goes from ~27 % to ~73 %


def top_k(key: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest keys, best first, ties broken by position (= item index)."""
    k = min(k, len(key))
    if k <= 0:
        return np.empty(0, np.int64)
    key = np.where(np.isnan(key), -np.inf, key)
    if k < len(key):
        # argpartition first so large catalogues never get a full sort; the boundary value is
        # kept inclusively so ties at the cut are settled by index below, not by partition luck
        kth = np.partition(key, len(key) - k)[len(key) - k]
        pool = np.flatnonzero(key >= kth)
    else:
        pool = np.arange(len(key))
    order = np.lexsort((pool, -key[pool]))
    return pool[order[:k]].astype(np.int64)


def average(pred: np.ndarray) -> np.ndarray:
    """Mean predicted stars: utilitarian, can leave one member with a film they dislike."""
    return pred.mean(axis=0)


def least_misery(pred: np.ndarray) -> np.ndarray:
    """The least happy member's stars: nobody suffers, but nobody's favourite wins either."""
    return pred.min(axis=0)


def most_pleasure(pred: np.ndarray) -> np.ndarray:
    """The happiest member's stars: someone will love it."""
    return pred.max(axis=0)


def average_without_misery(pred: np.ndarray, threshold: float = 3.0) -> np.ndarray:
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
    """0-based ranks (ascending) with ties sharing their mean rank, like scipy's rankdata - 1."""
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


def gfar_relevance(pred: np.ndarray, top_n: int = 20) -> np.ndarray:
    """GFAR's p(rel | member, film): normalised Borda points within each member's own top-n
    (1 for their best, falling linearly, 0 outside the top-n). Ties by film position."""
    m, n = pred.shape
    rel = np.zeros((m, n))
    top_n = min(top_n, n)
    for r in range(m):
        best = top_k(pred[r], top_n)
        rel[r, best] = (top_n - np.arange(len(best))) / top_n
    return rel


def greedy_coverage(
    rel: np.ndarray, k: int, base: np.ndarray | None = None, weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GFAR's greedy: pick the film that most raises Σ_members P(at least one relevant film).

    ``rel`` is [members × films] relevance probabilities. Each step's gain for film i is
    Σ_u rel[u,i] · Π_{j chosen} (1 - rel[u,j]): a member already served counts for less.
    ``base`` (optional, [films]) is added times ``weight`` to each gain, trading coverage
    against plain quality. Returns (positions, gains, beneficiary member per pick).
    """
    m, n = rel.shape
    k = min(k, n)
    unmet = np.ones(m)  # Π (1 - rel) over chosen films, per member
    free = np.ones(n, dtype=bool)
    picks, gains, whom = [], [], []
    for _ in range(k):  # k steps over the whole candidate vector each; no per-film Python
        per_member = rel * unmet[:, None]
        gain = per_member.sum(axis=0)
        if base is not None:
            gain = gain + weight * base
        gain = np.where(free, gain, -np.inf)
        best = int(top_k(gain, 1)[0])
        picks.append(best)
        gains.append(gain[best])
        whom.append(int(np.argmax(per_member[:, best])) if m else -1)
        free[best] = False
        unmet = unmet * (1.0 - rel[:, best])
    return np.array(picks, np.int64), np.array(gains), np.array(whom, np.int64)


# ---------------------------------------------------------------------------- strategies

Selector = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Strategy:
    """A named way to turn everyone's predicted stars into one list.

    ``select(pred, k)`` takes a [members × candidates] star matrix and returns (positions of the
    chosen candidates best first, their group scores, the member each was chosen for or -1).
    """

    name: str
    label: str
    description: str
    select: Selector
    score_unit: str = "★"


def _by_key(key_fn: Callable[[np.ndarray], np.ndarray]) -> Selector:
    def select(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = key_fn(pred)
        chosen = top_k(key, k)
        return chosen, key[chosen], np.full(len(chosen), -1, np.int64)

    return select


def _gfar(top_n: int = 20) -> Selector:
    def select(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return greedy_coverage(gfar_relevance(pred, top_n), k)

    return select


# Chosen by ``python -m engine tune fair``: protocol G on five tuning splits and groups that the
# benchmark never reports (``engine.evaluate.protocol_g.tune_fair``). Of top_n 20–100 and weights
# 0–0.1, seven settings met the G target for every model (hybrid, als, ease, mf with and without
# the popularity floor); (20, 0) had the largest worst-case gain in min-member NDCG, +8.3 %
# (the table: docs/tuning/fair.txt).
FAIR_TOP_N = 20  # GFAR's per-member list length
FAIR_WEIGHT = 0.0  # weight of the members' summed star share against coverage


def fair_selector(top_n: int = FAIR_TOP_N, weight: float = FAIR_WEIGHT) -> Selector:
    """GFAR's greedy coverage with P(like), plus a little of the plain average.

    A member's relevance for a film is its GFAR rank points within their top ``top_n`` *times*
    P(they like it) from the predicted stars, so a film ranked high among films someone dislikes
    anyway does not count as serving them. Films in several members' top lists come first
    (their gain sums over members); each later pick favours whoever is not yet served.

    ``weight`` > 0 adds the members' star share (0–1 of the star range, summed over members) to
    every gain, trading coverage for the plain average; tuning kept it at 0. A single draw of
    ~60 members swings these comparisons by several per cent, so the tuning pools five splits.
    """
    if top_n < 1 or weight < 0:
        raise ValueError("fair needs top_n ≥ 1 and weight ≥ 0")

    def select(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rel = gfar_relevance(pred, top_n) * like_probability(pred)
        quality = ((pred - MIN_RATING) / (MAX_RATING - MIN_RATING)).sum(axis=0)
        chosen, _, whom = greedy_coverage(rel, k, base=quality, weight=weight)
        return chosen, pred.mean(axis=0)[chosen], whom

    return select


def _awm(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chosen = top_k(average_without_misery(pred), k)
    return chosen, pred.mean(axis=0)[chosen], np.full(len(chosen), -1, np.int64)


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "average",
            "Average",
            "Highest mean predicted rating. Best on the whole, but one person may sit through a film they dislike.",
            _by_key(average),
        ),
        Strategy(
            "least_misery",
            "Least misery",
            "Highest rating of the least happy member: nobody suffers, but favourites rarely win.",
            _by_key(least_misery),
        ),
        Strategy(
            "most_pleasure",
            "Most pleasure",
            "Highest rating of the happiest member: someone will love every pick.",
            _by_key(most_pleasure),
        ),
        Strategy(
            "average_without_misery",
            "Average without misery",
            "Highest mean rating among films nobody is predicted to rate below 3★.",
            _awm,
        ),
        Strategy(
            "borda",
            "Borda count",
            "Each member ranks the films; points by position are summed. Nobody's rating scale dominates.",
            _by_key(borda),
            score_unit=" pts",
        ),
        Strategy(
            "multiplicative",
            "Multiplicative",
            "Product of everyone's ratings: one low rating pulls a film down hard.",
            _by_key(multiplicative),
        ),
        Strategy(
            "gfar",
            "Fair share (GFAR)",
            "Greedy picks so that every member gets films from their own top 20 (Kaya et al. 2020).",
            _gfar(20),
            score_unit=" gain",
        ),
        Strategy(
            "fair",
            "Fair share",
            "Films in several people's top lists first, then picks that give each member not yet "
            "served a film from their own top list that they will probably like (GFAR-style).",
            fair_selector(),
        ),
    )
}

DEFAULT_STRATEGY = "fair"


def blend(
    pred: np.ndarray, strategy: str = DEFAULT_STRATEGY, k: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pure entry point: choose k of the columns of ``pred`` [members × films] (stars)."""
    return strategy_named(strategy).select(_check_matrix(pred), check_k(k))


def strategy_named(name: str) -> Strategy:
    """The strategy called ``name``; a clear error lists the known ones."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown group strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


def check_k(k: int) -> int:
    """``k`` as a whole number ≥ 1, else a ValueError saying so."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number ≥ 1 (got {k!r})")
    return int(k)


def _check_matrix(pred: np.ndarray) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim != 2:
        raise ValueError(f"predictions must be a [members × films] matrix, got shape {pred.shape}")
    if not np.isfinite(pred).all():
        raise ValueError("predictions must be finite numbers")
    return pred
