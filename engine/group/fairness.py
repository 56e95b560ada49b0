"""Rank-aware fair re-rankers from the group-recommendation literature, as published.

Each member's own top-``N`` list (N = 20, as in Kaya, Bridge & Tintarev's runs) is the unit of
fairness. All of them are greedy or Pareto re-rankings of the group's *average* list: where a
strategy sees no difference between the films left (zero gain), they keep the average order
(then the caller's tie-break), never catalogue position.

- **GFAR** (Kaya, Bridge & Tintarev, RecSys 2020). p(rel | u, i) = Borda points of i in u's
  top-N (N − rank, rank from 1) / the sum of u's points over that list, 0 outside it;
  p(u | g) = 1/|g|. Greedy: pick the film maximising Σ_u p(u|g)·p(rel|u,i)·Π_{j chosen}
  (1 − p(rel|u,j)). The authors' reference implementation (RankSys ``AlphaGFAR`` with
  ``GFARAspectModel``) accumulates the normaliser once per candidate in the list it re-ranks,
  which scales every p(rel) down by the list length and makes the product ≈ 1; we follow the
  paper's definition (each member's relevances sum to 1).
- **GreedyLM** (Xiao et al., RecSys 2017, as run by Kaya et al. with Borda relevance and
  λ = 1): greedy on the least-served member's utility, Σ of their p(rel) over the list; a
  film's gain is how much it raises that minimum.
- **SPGreedy** (Serbos et al., WWW 2017, m = 1 and Δ = 1 as run by Kaya et al.): a member is
  satisfied once the list holds m films from their top-Δ; each pick maximises the share of
  members it newly satisfies.
- **XPO** (Sacharidis, SAC 2019), the Pareto re-ranking, is in ``engine.group.xpo``; it ranks
  within the same top-N lists and pools (``member_top_lists``, ``pool_of``) as the greedy ones.
- **fair**: this project's GFAR variant (``fair_selector``), strong coverage with P(like).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.group.strategies import (
    TIE_DECIMALS,
    Selection,
    Selector,
    fallback_keys,
    like_probability,
    top_k,
)

TOP_N = 20  # each member's own list (Kaya et al.'s N)


def member_top_lists(
    pred: np.ndarray, top_n: int = TOP_N, tiebreak: np.ndarray | None = None
) -> np.ndarray:
    """``[members × min(top_n, films)]`` each member's best candidates, best first; a member's
    ties fall back to the group's mean stars, then ``tiebreak``."""
    keys = fallback_keys(pred, tiebreak)
    n = min(top_n, pred.shape[1])
    out = np.empty((len(pred), n), np.int64)
    for r in range(len(pred)):
        out[r] = top_k(pred[r], n, keys)
    return out


def borda_relevance(lists: np.ndarray, top_n: int = TOP_N) -> np.ndarray:
    """Per member, the Borda points N − rank (rank from 1) of each film in their list, divided
    by the sum of their points over the list: ``[members × list length]``, rows sum to 1."""
    m, n = lists.shape
    points = np.tile((top_n - np.arange(1, n + 1)).astype(np.float64), (m, 1))
    total = points.sum(axis=1, keepdims=True)
    return np.divide(points, total, out=np.zeros_like(points), where=total > 0)


@dataclass(frozen=True)
class Pool:
    """The films in any member's top list, and each member's relevance for them."""

    films: np.ndarray  # candidate positions of the films in someone's top list
    rel: np.ndarray  # [members × films] relevance (0 outside a member's list)
    ranks: np.ndarray  # [members × films] 1-based rank in the member's list, top_n + 1 if absent
    length: int  # how many films each member's list holds


def pool_of(lists: np.ndarray, rel_in_list: np.ndarray, top_n: int) -> Pool:
    """Gather the members' lists into one pool of films (sorted by candidate position)."""
    films, where = np.unique(lists, return_inverse=True)
    where = where.reshape(lists.shape)
    m, n = lists.shape
    rel = np.zeros((m, len(films)))
    ranks = np.full((m, len(films)), top_n + 1, np.int64)
    rows = np.repeat(np.arange(m), n)
    rel[rows, where.ravel()] = rel_in_list.ravel()
    ranks[rows, where.ravel()] = np.tile(np.arange(1, n + 1), m)
    return Pool(films, rel, ranks, n)


# ---------------------------------------------------------------------------- greedy engine


def fallback_rank(keys: list[np.ndarray], films: np.ndarray) -> np.ndarray:
    """0-based rank of each of ``films`` among them in the fallback order (``keys`` in turn,
    larger first; candidate position only where every key ties)."""
    order = np.lexsort([films, *(-np.nan_to_num(k[films], nan=-np.inf) for k in reversed(keys))])
    rank = np.empty(len(films), np.int64)
    rank[order] = np.arange(len(films))
    return rank


def greedy_rerank(
    pool: Pool,
    k: int,
    keys: list[np.ndarray],
    gains: Callable[[np.ndarray], np.ndarray],
    update: Callable[[int], None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy selection over a pool of films; ties, zero gain included, in the fallback order.

    ``keys`` are the fallback keys over every candidate (``fallback_keys``). ``gains(free)``
    returns the gain (≥ 0) of every pool film (``free`` masks those not yet chosen);
    ``update(j)`` records that pool film j was chosen. Films outside the pool gain nothing, so
    when no pool film gains anything the next pick is the first film left in the fallback
    order, in the pool or not. Returns (positions, gain of each pick, True where it was 0).
    """
    order = top_k(keys[0], k + len(pool.films), keys[1:])  # ≥ k films outside the pool
    outside = order[~np.isin(order, pool.films)]
    union = np.concatenate([pool.films, outside])
    rank = fallback_rank(keys, union)
    pool_rank, outside_rank = rank[: len(pool.films)], rank[len(pool.films) :]
    free = np.ones(len(pool.films), bool)
    next_out = 0
    picks: list[int] = []
    step_gains: list[float] = []
    for _ in range(k):
        if free.any():
            gain = np.where(free, np.round(gains(free), TIE_DECIMALS), -np.inf)
            best = float(gain.max())
            tied = np.flatnonzero(gain == best)
            j = int(tied[np.argmin(pool_rank[tied])])
        else:
            best, j = 0.0, -1
        out_first = next_out < len(outside) and (
            j < 0 or (best <= 0 and outside_rank[next_out] < pool_rank[j])
        )
        if out_first:  # zero gain everywhere and the fallback's next film is outside the pool
            picks.append(int(outside[next_out]))
            step_gains.append(0.0)
            next_out += 1
            continue
        if j < 0:
            break  # nothing left anywhere
        picks.append(int(pool.films[j]))
        step_gains.append(max(best, 0.0))
        free[j] = False
        update(j)
    gains_out = np.array(step_gains)
    return np.array(picks, np.int64), gains_out, gains_out <= 0


def in_lists(pool: Pool, picks: np.ndarray) -> np.ndarray:
    """[members × picks] True where the pick is in that member's own top list."""
    where = np.searchsorted(pool.films, picks)
    where = np.minimum(where, max(len(pool.films) - 1, 0))
    found = (pool.films[where] == picks) if len(pool.films) else np.zeros(len(picks), bool)
    out = np.zeros((pool.ranks.shape[0], len(picks)), bool)
    out[:, found] = pool.ranks[:, where[found]] <= pool.length
    return out


# ---------------------------------------------------------------------------- GFAR


def gfar_selector(top_n: int = TOP_N) -> Selector:
    """GFAR as Kaya, Bridge & Tintarev define it (module docstring); score = the marginal gain,
    which never rises down the list (the objective is a coverage function: submodular)."""

    def select(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> Selection:
        lists = member_top_lists(pred, top_n, tiebreak)
        pool = pool_of(lists, borda_relevance(lists, top_n), top_n)
        return coverage_greedy(pred, k, pool, tiebreak, member_weight=1.0 / len(pred))

    return select


def coverage_greedy(
    pred: np.ndarray, k: int, pool: Pool, tiebreak: np.ndarray | None, member_weight: float
) -> Selection:
    """Greedy on Σ_u w·rel[u,i]·Π_{j chosen}(1 − rel[u,j]): each pick's gain, and the member
    it served most."""
    unmet = np.ones(len(pred))
    served: dict[int, int] = {}

    def gains(free: np.ndarray) -> np.ndarray:
        return member_weight * (pool.rel * unmet[:, None]).sum(axis=0)

    def update(j: int) -> None:
        nonlocal unmet
        contribution = pool.rel[:, j] * unmet
        served[int(pool.films[j])] = int(np.argmax(contribution)) if contribution.max() > 0 else -1
        unmet = unmet * (1.0 - pool.rel[:, j])

    keys = fallback_keys(pred, tiebreak)
    picks, step, zero = greedy_rerank(pool, k, keys, gains, update)
    whom = np.array(
        [-1 if z else served.get(c, -1) for c, z in zip(picks.tolist(), zero, strict=True)]
    )
    return Selection(picks, step, whom.astype(np.int64), in_lists(pool, picks), zero)


# ---------------------------------------------------------------------------- GreedyLM


def greedy_lm_selector(top_n: int = TOP_N) -> Selector:
    """GreedyLM (module docstring). Score = the least-served member's utility after the pick
    (their share of their own top-N points, 0–1): it never falls down the list. The pick is
    "for" the member who was least served before it, where it is in their list."""

    def select(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> Selection:
        lists = member_top_lists(pred, top_n, tiebreak)
        pool = pool_of(lists, borda_relevance(lists, top_n), top_n)
        utility = np.zeros(len(pred))
        after: dict[int, tuple[float, int]] = {}

        def gains(free: np.ndarray) -> np.ndarray:
            return (utility[:, None] + pool.rel).min(axis=0) - utility.min()

        def update(j: int) -> None:
            nonlocal utility
            lowest = int(np.argmin(utility))
            helped = lowest if pool.rel[lowest, j] > 0 else -1
            utility = utility + pool.rel[:, j]
            after[int(pool.films[j])] = (float(utility.min()), helped)

        keys = fallback_keys(pred, tiebreak)
        picks, _, zero = greedy_rerank(pool, k, keys, gains, update)
        scores, whom, level = [], [], 0.0
        for c in picks.tolist():  # a fill outside every list leaves the minimum where it was
            level, helped = after.get(c, (level, -1))
            scores.append(level)
            whom.append(helped)
        whom = np.where(zero, -1, np.array(whom, np.int64))  # a zero-gain fill serves nobody
        return Selection(picks, np.array(scores), whom, in_lists(pool, picks), zero)

    return select


# ---------------------------------------------------------------------------- SPGreedy


def sp_greedy_selector(m: int = 1, delta: int = 1) -> Selector:
    """SPGreedy (module docstring): score = share of members the pick newly satisfies, which
    never rises down the list for m = 1 (a coverage count)."""
    if m < 1 or delta < 1:
        raise ValueError("SPGreedy needs m ≥ 1 and delta ≥ 1")

    def select(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> Selection:
        lists = member_top_lists(pred, delta, tiebreak)
        pool = pool_of(lists, np.ones(lists.shape), delta)
        count = np.zeros(len(pred))
        served: dict[int, int] = {}

        def gains(free: np.ndarray) -> np.ndarray:
            newly = (count[:, None] < m) & (count[:, None] + pool.rel >= m)
            return newly.sum(axis=0) / len(pred)

        def update(j: int) -> None:
            nonlocal count
            newly = (count < m) & (count + pool.rel[:, j] >= m)
            served[int(pool.films[j])] = int(np.argmax(newly)) if newly.any() else -1
            count = count + pool.rel[:, j]

        keys = fallback_keys(pred, tiebreak)
        picks, step, zero = greedy_rerank(pool, k, keys, gains, update)
        whom = np.array(
            [-1 if z else served.get(c, -1) for c, z in zip(picks.tolist(), zero, strict=True)]
        )
        return Selection(picks, step, whom.astype(np.int64), in_lists(pool, picks), zero)

    return select


# ---------------------------------------------------------------------------- fair

# Chosen by ``python -m engine tune fair`` (``engine.tuning.groups``, docs/tuning/fair.txt):
# of top_n {10, 20, 40} × like_at {3.5, 3.75, 4}, (20, 3.75) had fair's best worst case over the
# embedded and the synthetic data (+7.5 % min-member nDCG@20 against the average), still below
# published GFAR's +9.1 %: GFAR is the default and fair stays as a named alternative.
FAIR_TOP_N = 20  # the member's own list length
FAIR_LIKE_AT = 3.75  # stars at which P(like) is one half


def coverage_relevance(
    pred: np.ndarray, lists: np.ndarray, top_n: int, like_at: float = FAIR_LIKE_AT
) -> np.ndarray:
    """``fair``'s relevance within each member's list: rank points 1 (their best) falling
    linearly to 1/top_n, times P(they like it) from the predicted stars."""
    m, n = lists.shape
    points = np.tile((top_n - np.arange(n)) / top_n, (m, 1))
    return points * like_probability(np.take_along_axis(pred, lists, axis=1), at=like_at)


def fair_selector(top_n: int = FAIR_TOP_N, like_at: float = FAIR_LIKE_AT) -> Selector:
    """GFAR's greedy coverage with strong relevance and P(like).

    A member's relevance for a film is its rank points within their top ``top_n`` (1 for their
    best) *times* P(they like it) from the predicted stars (one half at ``like_at``), so a film
    ranked high among films someone dislikes anyway does not count as serving them. Unlike
    GFAR's Borda shares (at most 2/N each), one good film nearly covers a member, so later picks
    go to whoever is not yet served. Score = the gain, which never rises down the list.
    """
    if top_n < 1:
        raise ValueError(f"fair needs top_n ≥ 1 (got {top_n})")

    def select(pred: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> Selection:
        lists = member_top_lists(pred, top_n, tiebreak)
        pool = pool_of(lists, coverage_relevance(pred, lists, top_n, like_at), top_n)
        return coverage_greedy(pred, k, pool, tiebreak, member_weight=1.0)

    return select


__all__ = [
    "FAIR_LIKE_AT",
    "FAIR_TOP_N",
    "TOP_N",
    "Pool",
    "borda_relevance",
    "coverage_greedy",
    "coverage_relevance",
    "fair_selector",
    "fallback_rank",
    "gfar_selector",
    "greedy_lm_selector",
    "greedy_rerank",
    "in_lists",
    "member_top_lists",
    "pool_of",
    "sp_greedy_selector",
]
