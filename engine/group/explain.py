"""One line in plain words per pick: why *this strategy* chose it, who is predicted to like it,
and whose top match it is.

``reason`` starts with the strategy's own head (least misery names the least happy member's
stars, GFAR and fair say whose top list the pick comes from, a zero-gain fill says it follows the
group's average) and goes on with ``explain``'s member detail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.data.ratings import MIN_RATING
from engine.group.fairness import TOP_N
from engine.group.strategies import VETO_BELOW


def member_ranks(pred: np.ndarray, chosen: np.ndarray, depth: int = 10) -> np.ndarray:
    """[members × chosen] 0-based rank of each chosen film among each member's candidates,
    exact below ``depth`` and capped at ``depth`` beyond (all a reason needs): one partition
    per member instead of a full sort."""
    m, n = pred.shape
    out = np.full((m, len(chosen)), depth, np.int64)
    if n == 0 or len(chosen) == 0:
        return out
    cut = min(depth + 1, n)
    for r in range(m):
        row = pred[r]
        top = np.sort(np.partition(row, n - cut)[n - cut :])  # the member's best, ascending
        # films strictly better than each chosen one, counted among the member's best
        out[r] = np.minimum(cut - np.searchsorted(top, row[chosen], side="right"), depth)
    return out


def explain(
    names: Sequence[str],
    preds: np.ndarray,
    ranks: np.ndarray,
    chosen_for: int = -1,
    prior: tuple[float, int] | None = None,
) -> str:
    """One line in plain words: who is predicted to like it and whose top match it is."""
    if len(names) == 0:
        mean, count = prior if prior is not None else (math.nan, 0)
        if count and np.isfinite(mean):
            return f"popular and well rated: {mean:.1f}★ average from {count} ratings"
        return "a safe bet for a new room"
    parts = []
    if len(names) == 1:
        parts.append(f"{names[0]} ~{preds[0]:.1f}★")
    else:
        low = float(preds.min())
        if len(names) <= 3:
            parts.append(", ".join(f"{n} ~{p:.1f}" for n, p in zip(names, preds, strict=True)))
        elif low >= 3.5:
            parts.append(f"everyone ≥ {math.floor(low * 10) / 10:.1f}★")
        else:
            weakest = names[int(np.argmin(preds))]
            parts.append(f"most of you ≥ {np.median(preds):.1f}★ ({weakest} ~{low:.1f})")
    top = [names[int(i)] for i in np.flatnonzero(ranks == 0)]
    near = [names[int(i)] for i in np.flatnonzero((ranks > 0) & (ranks < 10))]
    if top:
        parts.append(
            _join_names(top) + "'s top match"
            if len(top) == 1
            else f"top match for {_join_names(top)}"
        )
    elif near:
        parts.append(f"in {_join_names(near[:3])}'s top 10")
    elif 0 <= chosen_for < len(names) and len(names) > 1:
        parts.append(f"picked so {names[chosen_for]} gets a film too")
    return "; ".join(parts)


def _join_names(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class Pick:
    """What a reason may say about one pick: the members' names and shown stars, the strategy's
    score, the member it was chosen for (-1: the group), whose own top list holds it, and
    whether it was a zero-gain fill taken in the group's average order."""

    names: Sequence[str]
    stars: np.ndarray
    score: float
    served: int = -1
    in_lists: np.ndarray | None = None
    filled: bool = False


def _listed(pick: Pick) -> list[str]:
    if pick.in_lists is None:
        return []
    return [pick.names[int(i)] for i in np.flatnonzero(pick.in_lists)]


def _fill(what: str) -> str:
    return f"{what}: next by the group's average"


def _average(p: Pick) -> str:
    return f"group mean ~{float(np.mean(p.stars)):.1f}★"


def _least_misery(p: Pick) -> str:
    low = int(np.argmin(p.stars))
    return f"least happy: {p.names[low]} ~{p.stars[low]:.1f}★"


def _most_pleasure(p: Pick) -> str:
    high = int(np.argmax(p.stars))
    return f"happiest: {p.names[high]} ~{p.stars[high]:.1f}★"


def _without_misery(p: Pick) -> str:
    low = int(np.argmin(p.stars))
    if p.filled:
        return f"after the films nobody vetoes ({p.names[low]} ~{p.stars[low]:.1f}★, below 3★)"
    return f"group mean ~{float(np.mean(p.stars)):.1f}★, nobody below {VETO_BELOW:.0f}★"


def _borda(p: Pick) -> str:
    return f"high in everyone's own ranking (mean Borda points {p.score:.3f} of 1)"


def _multiplicative(p: Pick) -> str:
    low = int(np.argmin(p.stars))
    geo = math.exp(float(np.mean(np.log(np.clip(p.stars, MIN_RATING, None)))))
    return f"geometric mean ~{geo:.1f}★ (lowest: {p.names[low]} ~{p.stars[low]:.1f}★)"


def _gfar(p: Pick) -> str:
    listed = _listed(p)
    if p.filled or not listed:
        return _fill(f"beyond everyone's top {TOP_N}")
    head = f"from {_join_names(listed)}'s top {TOP_N}"
    if 0 <= p.served < len(p.names) and len(listed) > 1:
        head += f", mostly for {p.names[p.served]}"
    return head


def _fair(p: Pick) -> str:
    listed = _listed(p)
    if p.filled or not listed:
        return _fill("everyone is served")
    if 0 <= p.served < len(p.names) and len(listed) == 1:
        return f"for {p.names[p.served]}: in their top {TOP_N} and likely liked"
    return f"in the top {TOP_N} of {_join_names(listed)}"


def _greedy_lm(p: Pick) -> str:
    if 0 <= p.served < len(p.names) and not p.filled:
        return f"lifts {p.names[p.served]}, the least served so far (share now {p.score:.0%})"
    listed = _listed(p)
    if listed:
        return f"from {_join_names(listed)}'s top {TOP_N} (the least served keep {p.score:.0%})"
    return _fill("no film lifts the least served")


def _sp_greedy(p: Pick) -> str:
    listed = _listed(p)
    if p.filled or not listed:
        return _fill("everyone's favourite is in")
    return f"favourite of {_join_names(listed)}"


def _xpo(p: Pick) -> str:
    if p.filled:
        return _fill("beyond the films no other beats for everyone")
    return f"in the group's top {TOP_N} under {p.score:.0%} of ways to weigh your wishes"


HEADS: dict[str, Callable[[Pick], str]] = {
    "average": _average,
    "least_misery": _least_misery,
    "most_pleasure": _most_pleasure,
    "average_without_misery": _without_misery,
    "borda": _borda,
    "multiplicative": _multiplicative,
    "gfar": _gfar,
    "fair": _fair,
    "greedy_lm": _greedy_lm,
    "sp_greedy": _sp_greedy,
    "xpo": _xpo,
}


def reason(strategy: str, pick: Pick, ranks: np.ndarray) -> str:
    """The strategy's own reason for a pick, then who is predicted to like it (``explain``)."""
    head = HEADS[strategy](pick) if strategy in HEADS and len(pick.names) else ""
    detail = explain(pick.names, pick.stars, ranks)
    return "; ".join(part for part in (head, detail) if part)
