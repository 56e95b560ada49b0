"""One line in plain words per pick: who is predicted to like it and whose top match it is."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


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
