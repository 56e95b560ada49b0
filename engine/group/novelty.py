"""Novelty: "films we probably haven't all seen", traded against predicted enjoyment.

A film a member has probably seen already is worth less to them tonight. With ``novelty`` ν in
[0, 1], each member's predicted stars for a film are shrunk towards the bottom of the scale by
the chance they have seen it::

    stars' = MIN + (stars − MIN) · (1 − ν · P(seen))

ν = 0 changes nothing; ν = 1 keeps only the "not seen" part of a film's value (a film everyone
has surely seen drops to the bottom). The strategy then blends the discounted stars as usual,
so every strategy honours the setting in its own terms. P(seen) is personal: the film's
popularity among catalogue users who saw the same films as the member (co-occurrence), damped
towards plain popularity (``seen_probability``; the elicitation uses the same estimate).
Protocol G measures what each ν costs in NDCG and gains in novelty (popularity rank of picks).
"""

from __future__ import annotations

import numpy as np

from engine.data.ratings import MIN_RATING, Ratings

SEEN_DAMPING = 20.0  # pseudo-users of plain popularity mixed into the co-occurrence estimate


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


def discount_seen(pred: np.ndarray, seen: np.ndarray, novelty: float) -> np.ndarray:
    """``pred`` [members × films] stars with each member's films shrunk by ν · P(seen)
    (``seen``, same shape): the formula in the module docstring."""
    if novelty == 0.0:
        return pred
    return MIN_RATING + (pred - MIN_RATING) * (1.0 - novelty * np.clip(seen, 0.0, 1.0))


__all__ = ["SEEN_DAMPING", "check_novelty", "discount_seen", "seen_probability"]
