"""Novelty: trade predicted enjoyment against popularity, so a room is not always offered the
same canon (Shawshank, Star Wars, Pulp Fiction) that most of its members have already seen.

A film's *popularity* is its share of the catalogue it out-counts: the mid-rank percentile of
its number of ratings, 0 for the least rated film and 1 for the most rated (ties share the mean
of their ranks, so films with equal counts get equal popularity). Percentiles rather than raw
counts because counts are heavy-tailed: on MovieLens a linear penalty would hit only the top
few dozen films and leave everything else in the same order.

``with_novelty`` subtracts ``weight × popularity`` from every member's predicted stars before a
strategy blends them, so every strategy (average, least misery, fair, …) trades the same way and
the group score it reports is the one it ranked by. ``weight`` is in stars: at 1.0 the most
rated film gives up one star against the least rated; 0 changes nothing. Protocol G's novelty
table (``engine.evaluate.protocol_novelty``) measures what each weight costs in NDCG@10 and
gains in the picks' popularity rank.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from engine.data.ratings import MIN_RATING

MAX_NOVELTY = 2.0  # stars: beyond this the picks are chosen by obscurity more than by taste


def popularity(counts: np.ndarray) -> np.ndarray:
    """Each film's mid-rank percentile of rating counts in [0, 1] (0 = least rated).

    ``scipy.stats.rankdata(method="average")`` gives ties their mean rank; ``(rank - 1) /
    (n - 1)`` maps ranks 1..n onto 0..1. A catalogue of one film (or where every film has the
    same count) has popularity 0.5 everywhere: no film is more popular than another.
    """
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    n = len(counts)
    if n == 0:
        return np.empty(0)
    if n == 1 or np.all(counts == counts[0]):
        return np.full(n, 0.5)
    return (rankdata(counts, method="average") - 1.0) / (n - 1.0)


def check_novelty(weight: float) -> float:
    """``weight`` as a float in [0, MAX_NOVELTY], or a ValueError naming the allowed range."""
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"novelty must be a number of stars in 0..{MAX_NOVELTY:g}") from None
    if not np.isfinite(value) or not 0.0 <= value <= MAX_NOVELTY:
        raise ValueError(f"novelty must be in 0..{MAX_NOVELTY:g} stars, got {weight!r}")
    return value


def with_novelty(pred: np.ndarray, film_popularity: np.ndarray, weight: float) -> np.ndarray:
    """``pred`` ([members × films] stars) minus ``weight × popularity`` per film, kept on the
    star scale (never below ``MIN_RATING``, so products and P(like) stay meaningful); a new
    array, or ``pred`` itself when ``weight`` is 0."""
    weight = check_novelty(weight)
    if weight == 0.0:
        return pred
    film_popularity = np.asarray(film_popularity, dtype=np.float64).reshape(-1)
    if film_popularity.shape[0] != pred.shape[-1]:
        raise ValueError(
            f"popularity has {film_popularity.shape[0]} films but the predictions have "
            f"{pred.shape[-1]}"
        )
    return np.maximum(pred - weight * film_popularity, MIN_RATING)
