"""XPO (Sacharidis, SAC 2019): the Pareto re-ranking among the group's fair re-rankers.

Films in the members' top-N lists (``fairness.member_top_lists``), described by their rank
vectors (N + 1 where absent). Keep the smallest x-level Pareto-optimal set (films dominated by at
most x others) with at least N films, then rank by the probability that a film is in the group
top-N under a random linear weighting of the members' ranks (weights uniform on the simplex,
estimated with seeded Monte Carlo). Where XPO sees no difference between films it keeps the
average order (then the caller's tie-break), as the greedy re-rankers of ``fairness`` do.
"""

from __future__ import annotations

import numpy as np

from engine.group.fairness import TOP_N, fallback_rank, in_lists, member_top_lists, pool_of
from engine.group.strategies import Selection, Selector, fallback_keys, top_k

XPO_TRIALS = 2000  # Monte Carlo weightings of the members' ranks
XPO_SEED = 0


def dominated_counts(ranks: np.ndarray) -> np.ndarray:
    """For each film (column of ``ranks``, [members × films], lower is better), how many other
    films dominate it: at least as good for every member and better for one."""
    r = ranks.T  # [films × members]
    no_worse = (r[:, None, :] <= r[None, :, :]).all(axis=2)  # [j, i]: j no worse than i
    better = (r[:, None, :] < r[None, :, :]).any(axis=2)
    return (no_worse & better).sum(axis=0)


def pareto_candidates(ranks: np.ndarray, top_n: int) -> np.ndarray:
    """Columns of the smallest x-level Pareto-optimal set (films dominated by at most x others)
    that holds at least ``top_n`` films (all of them when there are fewer)."""
    count = dominated_counts(ranks)
    if len(count) == 0:
        return np.empty(0, np.int64)
    level = np.sort(count)[min(top_n, len(count)) - 1]
    return np.flatnonzero(count <= level)


def xpo_probability(ranks: np.ndarray, top_n: int, trials: int, seed: int) -> np.ndarray:
    """Share of ``trials`` random weightings (uniform on the simplex) under which each film
    (column of ``ranks``, [members × films]) has one of the ``top_n`` lowest weighted rank sums.
    Seeded, so the same room always gets the same list."""
    m, c = ranks.shape
    if c <= top_n:
        return np.ones(c)
    weights = np.random.default_rng(seed).dirichlet(np.ones(m), size=trials)  # [trials × m]
    # a tiny per-column offset settles exact ties in a fixed order
    total = weights @ ranks.astype(np.float64) + np.arange(c) * 1e-9
    best = np.argpartition(total, top_n - 1, axis=1)[:, :top_n]
    return np.bincount(best.ravel(), minlength=c) / trials


def xpo_selector(top_n: int = TOP_N, trials: int = XPO_TRIALS, seed: int = XPO_SEED) -> Selector:
    """XPO (module docstring): score = estimated P(in the group top-N | random member weights);
    films with equal probability keep the fallback order, and when the Pareto candidates run
    out the rest follow the fallback order with score 0."""

    def select(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> Selection:
        lists = member_top_lists(pred, top_n, tiebreak)
        pool = pool_of(lists, np.ones(lists.shape), top_n)
        keep = pareto_candidates(pool.ranks, top_n)
        films = pool.films[keep]
        prob = xpo_probability(pool.ranks[:, keep], top_n, trials, seed)
        keys = fallback_keys(pred, tiebreak)
        chosen = top_k(prob, k, [-fallback_rank(keys, films).astype(np.float64)])
        picks, scores = films[chosen], prob[chosen]
        if len(picks) < k:
            order = top_k(keys[0], k + len(films), keys[1:])
            rest = order[~np.isin(order, picks)][: k - len(picks)]
            picks = np.concatenate([picks, rest]).astype(np.int64)
            scores = np.concatenate([scores, np.zeros(len(rest))])
        return Selection(
            picks, scores, np.full(len(picks), -1, np.int64), in_lists(pool, picks), scores <= 0
        )

    return select


__all__ = [
    "XPO_SEED",
    "XPO_TRIALS",
    "dominated_counts",
    "pareto_candidates",
    "xpo_probability",
    "xpo_selector",
]
