"""Novelty: trade predicted enjoyment against popularity, so a room is not always offered the
same canon (Shawshank, Star Wars, Pulp Fiction) that most of its members have already seen.

A film's *popularity* is its share of the catalogue it out-counts: the mid-rank percentile of
its number of ratings, 0 for the least rated film and 1 for the most rated (ties share the mean
of their ranks, so films with equal counts get equal popularity). Percentiles rather than raw
counts because counts are heavy-tailed: on MovieLens a linear penalty would hit only the top
few dozen films and leave everything else in the same order.

``with_novelty`` lowers each member's predicted stars for a film by ``weight × popularity ×
spread``, where *spread* is that member's gap between their best candidate and their
``DEPTH``-th best: the trade happens at the top of each list, where the picks are decided, and
in each member's own units. (A fixed number of stars would not do: the hybrid's calibrated
scores differ by hundredths of a star among a member's top films while an explicit model's
differ by tenths, so 0.25★ erased the hybrid's ranking entirely and barely moved mf's.) At
weight 1 the most rated film gives up as much as the gap between a member's 1st and
``DEPTH``-th film; 0 changes nothing. Every strategy then blends the traded stars, so the group
score it reports is the one it ranked by. Protocol G's novelty table
(``engine.evaluate.protocol_novelty``) measures what each weight costs in NDCG@10 and gains in
the picks' popularity rank.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from engine.data.ratings import MIN_RATING

MAX_NOVELTY = 2.0  # spreads: beyond this the picks are chosen by obscurity more than by taste
DEPTH = 100  # the member's n-th best candidate that sets their spread


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
        raise ValueError(f"novelty must be a number in 0..{MAX_NOVELTY:g}") from None
    if not np.isfinite(value) or not 0.0 <= value <= MAX_NOVELTY:
        raise ValueError(f"novelty must be in 0..{MAX_NOVELTY:g}, got {weight!r}")
    return value


def spread(pred: np.ndarray, depth: int = DEPTH) -> np.ndarray:
    """Per member (row): best value minus the ``depth``-th best (the last, for fewer films)."""
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    n = pred.shape[1]
    if n == 0:
        return np.zeros(pred.shape[0])
    d = min(max(int(depth), 1), n)
    top = np.partition(pred, n - d, axis=1)[:, n - d :]  # each row's d largest, unordered
    return top.max(axis=1) - top.min(axis=1)


def with_novelty(
    pred: np.ndarray, film_popularity: np.ndarray, weight: float, depth: int = DEPTH
) -> np.ndarray:
    """``pred`` ([members × films] stars) with each member's stars lowered by ``weight ×
    popularity × spread`` (``spread(pred, depth)``, per member), kept on the star scale (never
    below ``MIN_RATING``, so products and P(like) stay meaningful); a new array, or ``pred``
    itself when ``weight`` is 0."""
    weight = check_novelty(weight)
    if weight == 0.0:
        return pred
    film_popularity = np.asarray(film_popularity, dtype=np.float64).reshape(-1)
    if film_popularity.shape[0] != pred.shape[-1]:
        raise ValueError(
            f"popularity has {film_popularity.shape[0]} films but the predictions have "
            f"{pred.shape[-1]}"
        )
    penalty = weight * spread(pred, depth)[:, None] * film_popularity[None, :]
    return np.maximum(pred - penalty, MIN_RATING)
