"""Novelty: "films we probably haven't all seen", traded against predicted enjoyment.

With ``novelty`` ν in [0, 1], the strategy first ranks ``NOVELTY_POOL`` × k films as usual; that
pool is then re-ranked by::

    standing − ν · seen

where ``standing`` = 1 − j/M is the film's place in the strategy's own list of M (1 for its first
pick, falling linearly) and ``seen`` is the share of the group likely to have seen it (the mean
of the members' P(seen)). ν = 0 changes nothing; ν = 1 lets a film the whole group has surely
seen drop below one the strategy ranked anywhere in its pool that nobody has seen. The pool
bounds the cost: every pick is still among the strategy's best 5·k, in its own terms (a first
version shrank each member's stars by P(seen) before blending; on the hybrid's rank-calibrated
stars, where a member's top 1 % all sit near 5★, even ν = 0.25 swapped the whole list for
obscure films and NDCG@10 fell from 0.19 to 0.005 in protocol G).

P(seen) is personal: the film's popularity among catalogue users who saw the same films as the
member (co-occurrence), damped towards plain popularity (``seen_probability``; the elicitation
uses the same estimate). Protocol G measures what each ν costs in NDCG and gains in novelty
(popularity rank of the picks).
"""

from __future__ import annotations

import numpy as np

from engine.data.ratings import Ratings
from engine.group.strategies import Selection, top_k

SEEN_DAMPING = 20.0  # pseudo-users of plain popularity mixed into the co-occurrence estimate
NOVELTY_POOL = 5  # novelty re-ranks the strategy's best NOVELTY_POOL × k films


def check_novelty(novelty: float) -> float:
    """``novelty`` as a float in [0, 1], else a ValueError naming the field and the range."""
    if isinstance(novelty, bool) or not isinstance(novelty, (int, float, np.integer, np.floating)):
        raise ValueError(f"novelty must be a number from 0 (off) to 1 (strongest), got {novelty!r}")
    value = float(novelty)
    if not (0.0 <= value <= 1.0):  # also rejects NaN
        raise ValueError(f"novelty must be between 0 (off) and 1 (strongest), got {novelty!r}")
    return value


def seen_probability(catalogue: Ratings, items: np.ndarray) -> np.ndarray:
    """P(this member has seen each film): popularity among catalogue users who saw the member's
    rated films (weighted by how many they share), damped towards overall popularity. With no
    films rated, plain popularity (share of users who rated the film)."""
    s = catalogue.stats
    if len(items) == 0:
        return np.asarray(s.popularity, dtype=np.float64)
    # users' overlap with the member's films, then what those users watched: two sparse
    # mat-vecs (scipy.sparse), no row slicing
    member = np.zeros(s.seen_by.shape[0], np.float32)
    member[np.asarray(items, dtype=np.int64)] = 1.0
    overlap = s.seen_by.T @ member
    total = float(overlap.sum())
    co = s.seen_by @ overlap
    return (co + SEEN_DAMPING * s.popularity) / (total + SEEN_DAMPING)


def pool_size(k: int, n_candidates: int, novelty: float) -> int:
    """How many films the strategy ranks before novelty re-ranks them (k when novelty is off)."""
    return k if novelty == 0.0 else min(n_candidates, NOVELTY_POOL * k)


def novelty_rerank(picked: Selection, seen: np.ndarray, novelty: float, k: int) -> Selection:
    """Re-rank a strategy's pool (``picked``, best first) by standing − ν · seen share, keep k.

    ``seen`` is [members × candidates] P(seen). The returned scores are the re-ranking key
    (what the list is now ordered by); the strategy's own scores move to ``own_scores`` so a
    reason can still speak in the strategy's terms."""
    m = len(picked.positions)
    if novelty == 0.0 or m == 0:
        return picked
    standing = 1.0 - np.arange(m) / m
    share = np.asarray(seen, dtype=np.float64)[:, picked.positions].mean(axis=0)
    key = standing - novelty * share
    order = top_k(key, k, [standing])
    return Selection(
        picked.positions[order],
        key[order],
        picked.served[order],
        None if picked.lists is None else picked.lists[:, order],
        None if picked.filled is None else picked.filled[order],
        own_scores=np.asarray(picked.scores)[order],
        seen_share=share[order],
    )


__all__ = [
    "NOVELTY_POOL",
    "SEEN_DAMPING",
    "check_novelty",
    "novelty_rerank",
    "pool_size",
    "seen_probability",
]
