"""The arithmetic of protocol Similar: neighbourhoods of a film-similarity, and what a fan would
check in them (a sequel found, genres shared, blockbusters crowding every list).

Pure functions over a ``score(item) -> scores over all films`` callable, so each is tested on a
hand-built example (tests/engine/test_similar_metrics.py) and every similarity is measured the
same way (``engine.evaluate.protocol_similar``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Score = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class Neighbourhoods:
    """``top`` [queries, k] film indices, best first (-1 where fewer than k films qualify);
    ``sequel_ranks`` the 1-based rank of each pair's second film among the first film's
    candidates (ties broken by film index, as the lists are)."""

    queries: np.ndarray
    top: np.ndarray
    sequel_ranks: np.ndarray


def _rank_of(scores: np.ndarray, target: int) -> int:
    """1-based position of ``target`` in the list ordered by score (desc) then index (asc)."""
    s = scores[target]
    better = np.count_nonzero(scores > s)
    tied_before = np.count_nonzero(scores[:target] == s)
    return int(better + tied_before + 1)


def neighbourhoods(
    score: Score,
    eligible: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    k: int = 10,
) -> Neighbourhoods:
    """Each eligible film's ``k`` best eligible neighbours, and each pair's rank.

    ``eligible`` is a boolean mask over films: both the films asked about and the films that may
    appear (one rating threshold for both, as the app uses). A film never scores itself; a
    non-finite score (no evidence) never makes a list.
    """
    queries = np.flatnonzero(eligible)
    wanted: dict[int, list[int]] = {}
    for a, b in pairs:
        wanted.setdefault(int(a), []).append(int(b))
    top = np.full((len(queries), k), -1, dtype=np.int64)
    ranks: dict[tuple[int, int], int] = {}
    for row, q in enumerate(queries.tolist()):
        s = np.asarray(score(q), dtype=np.float64).copy()
        s[~eligible] = -np.inf
        s[q] = -np.inf
        s[~np.isfinite(s)] = -np.inf
        finite = np.flatnonzero(np.isfinite(s))
        best = finite[np.lexsort((finite, -s[finite]))][:k]
        top[row, : len(best)] = best
        for b in wanted.get(q, []):
            ranks[(q, b)] = _rank_of(s, b)
    sequel = np.array([ranks.get((int(a), int(b)), 0) for a, b in pairs], dtype=np.int64)
    return Neighbourhoods(queries, top, sequel)


def genre_overlap(top: np.ndarray, queries: np.ndarray, genres: Sequence[Sequence[str]]) -> float:
    """Mean Jaccard overlap of genre sets between each query and each of its neighbours."""
    values = []
    for q, row in zip(queries.tolist(), top, strict=True):
        gq = set(genres[q])
        for j in row[row >= 0].tolist():
            gj = set(genres[j])
            union = gq | gj
            values.append(len(gq & gj) / len(union) if union else 0.0)
    return float(np.mean(values)) if values else float("nan")


def popular_share(top: np.ndarray, popular: np.ndarray) -> float:
    """Share of all filled neighbour slots taken by ``popular`` films (a boolean mask)."""
    filled = top[top >= 0]
    return float(popular[filled].mean()) if len(filled) else float("nan")


def hub_share(top: np.ndarray, popular: np.ndarray) -> tuple[int, float]:
    """The popular film found in most neighbourhoods, and the share of neighbourhoods it is in
    (-1, 0.0 when no popular film appears)."""
    counts: dict[int, int] = {}
    for row in top:
        for j in set(row[row >= 0].tolist()):
            if popular[j]:
                counts[j] = counts.get(j, 0) + 1
    if not counts or len(top) == 0:
        return -1, 0.0
    film = min(counts, key=lambda j: (-counts[j], j))
    return film, counts[film] / len(top)


def hit_rate(ranks: np.ndarray, k: int = 10) -> tuple[float, float, float]:
    """Share of ranks within ``k`` and its 95 % Wilson interval (low, high)."""
    n = len(ranks)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    p = float(np.mean((ranks >= 1) & (ranks <= k)))
    z = 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, float(centre - half), float(centre + half)
