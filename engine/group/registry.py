"""The named group strategies: what each ranks by, in words, and the one entry point ``blend``.

Each ``Strategy`` says what number it ranks by (``score_label``, ``score_unit``) and whether that
number falls down the list (``"descending"``: the usual case) or, for a greedy strategy whose
objective builds up pick by pick, rises (``"ascending"``: GreedyLM's least-served member's
share so far). The app shows the score with its label; ``engine.group.explain`` gives each
strategy its own reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.group.fairness import (
    TOP_N,
    fair_selector,
    gfar_selector,
    greedy_lm_selector,
    sp_greedy_selector,
)
from engine.group.strategies import (
    Selection,
    Selector,
    average,
    borda,
    by_key,
    least_misery,
    most_pleasure,
    multiplicative,
    select_average_without_misery,
)
from engine.group.xpo import xpo_selector


@dataclass(frozen=True)
class Strategy:
    """A named way to turn everyone's predicted stars into one list.

    ``select(pred, k, tiebreak)`` takes a [members × candidates] star matrix (and optionally a
    per-candidate tie-break, larger first) and returns a ``Selection``. ``score_label`` says in
    words what its scores are; ``score_unit`` is their unit ("★", "%" or "" for a plain
    number); ``score_order`` is "descending" when the score falls down the list and "ascending"
    when it builds up (a running total).
    """

    name: str
    label: str
    description: str
    select: Selector
    score_label: str
    score_unit: str = "★"
    score_order: str = "descending"


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "average",
            "Average",
            "Highest mean predicted rating. Best on the whole, but one person may sit through a "
            "film they dislike.",
            by_key(average),
            "mean predicted stars",
        ),
        Strategy(
            "least_misery",
            "Least misery",
            "Highest rating of the least happy member: nobody suffers, but favourites rarely win.",
            by_key(least_misery),
            "least happy member's predicted stars",
        ),
        Strategy(
            "most_pleasure",
            "Most pleasure",
            "Highest rating of the happiest member: someone will love every pick.",
            by_key(most_pleasure),
            "happiest member's predicted stars",
        ),
        Strategy(
            "average_without_misery",
            "Average without misery",
            "Highest mean rating among films nobody is predicted to rate below 3★; films "
            "someone would rate lower come only after all of those.",
            select_average_without_misery,
            "mean predicted stars (films someone rates below 3★ come last)",
        ),
        Strategy(
            "borda",
            "Borda count",
            "Each member ranks the films; points by position are averaged. Nobody's rating "
            "scale dominates.",
            by_key(borda),
            "mean Borda points (1 = everyone's favourite, 0 = everyone's last)",
            score_unit="",
        ),
        Strategy(
            "multiplicative",
            "Multiplicative",
            "Product of everyone's ratings: one low rating pulls a film down hard.",
            by_key(multiplicative),
            "geometric mean of predicted stars",
        ),
        Strategy(
            "gfar",
            "Fair share (GFAR)",
            f"Greedy picks so that every member gets films from their own top {TOP_N}, each "
            "film weighted by its place in their list (Kaya, Bridge & Tintarev 2020).",
            gfar_selector(),
            f"GFAR marginal gain (share of the group's top-{TOP_N} points the pick adds)",
            score_unit="",
        ),
        Strategy(
            "fair",
            "Fair share",
            "Films in several people's top lists first, then picks that give each member not yet "
            "served a film from their own top list that they will probably like (GFAR-style).",
            fair_selector(),
            "fair-share gain (chance the pick serves a member not yet served, summed)",
            score_unit="",
        ),
        Strategy(
            "greedy_lm",
            "Least-served first (GreedyLM)",
            f"Each pick raises the share of their own top {TOP_N} that the least-served member "
            "gets (Xiao et al. 2017).",
            greedy_lm_selector(),
            f"least-served member's share of their top-{TOP_N} points so far",
            score_unit="",
            score_order="ascending",
        ),
        Strategy(
            "sp_greedy",
            "Everyone's favourite (SPGreedy)",
            "Each member's single favourite film first, then the group's average (Serbos et al. "
            "2017, as Kaya et al. ran it).",
            sp_greedy_selector(),
            "share of members whose favourite this pick is (newly served)",
            score_unit="",
        ),
        Strategy(
            "xpo",
            "Pareto-optimal (XPO)",
            f"Films no other film beats for every member, ranked by how often they make the "
            f"group's top {TOP_N} when members' wishes are weighed at random (Sacharidis 2019).",
            xpo_selector(),
            f"share of random weightings of your wishes that put it in the group's top {TOP_N}",
            score_unit="",
        ),
    )
}

# Chosen by ``python -m engine tune fair`` (docs/tuning/fair.txt): on the tuning splits of the
# embedded and the synthetic MovieLens-like data, over hybrid, als and ease, published GFAR's worst
# case was +9.1 % min-member nDCG@20 against the average (nDCG@20 +2.2 % at worst); fair's best
# setting managed +7.5 % (nDCG@20 −1.6 % at worst), so fair is no longer the default.
DEFAULT_STRATEGY = "gfar"


def blend(
    pred: np.ndarray,
    strategy: str = DEFAULT_STRATEGY,
    k: int = 10,
    tiebreak: np.ndarray | None = None,
) -> Selection:
    """Pure entry point: choose k of the columns of ``pred`` [members × films] (stars)."""
    pred = _check_matrix(pred)
    if tiebreak is not None:
        tiebreak = np.asarray(tiebreak, dtype=np.float64)
        if tiebreak.shape != (pred.shape[1],):
            raise ValueError(f"tiebreak must have one value per film ({pred.shape[1]})")
    return strategy_named(strategy).select(pred, check_k(k), tiebreak)


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
    if pred.shape[0] == 0:
        raise ValueError("predictions need at least one member (row)")
    if not np.isfinite(pred).all():
        raise ValueError("predictions must be finite numbers")
    return pred


__all__ = ["DEFAULT_STRATEGY", "STRATEGIES", "Strategy", "blend", "check_k", "strategy_named"]
