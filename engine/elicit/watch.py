"""Asking what a member can answer: their chance of having seen each film after the answers so
far, and the strategies that weigh it against what an answer would teach.

A card costs a tap whether the member rates it or taps "haven't seen it", so a strategy should
ask films this member has probably seen. The hybrid already knows who watches what: its implicit
part (ALS, Hu, Koren & Volinsky 2008) gives P(watch | member) as a softmax over the catalogue
(``Hybrid.watch_probability``). Here that member is folded in from their answers so far the way
the room folds them in (``AnswersFoldIn``, ``engine.models.answers_fold_in``: the trained
members as the prior, "haven't seen it" as an answer at preference 0), so the member's vector
moves away from the audience of the films they said they had not seen.

P(watch) is a distribution of one viewing over the catalogue; a member who has watched ``m``
films has seen film i with probability ``1 − (1 − p_i)^m`` (``seen_from_watch``; m = the median
number of films a training user rated). Strategies:

- ``watch-uncertainty``: P(seen) × the posterior variance of the member's predicted rating
  (ridge fold-in in the explicit part's factor space, as ``adaptive``), i.e. the expected share
  of a film's uncertainty an answer removes; batches are chosen greedily with each pick assumed
  answered with its P(seen) (Sherman–Morrison), as ``adaptive`` does.
- ``watch-entropy``: Rashid et al. (IUI 2002)'s log-popularity × entropy, with the film's
  popularity replaced by this member's expected audience for it, ``n_users · P(seen)``; with no
  answers yet it ranks like their Pop*Ent.

Models without a P(watch) (not a ``WatchModel``) use ``seen_probability`` (co-occurrence with the
member's rated films, damped towards popularity); models without film vectors rank
``watch-uncertainty`` by P(seen) × 1.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.group.novelty import seen_probability
from engine.group.strategies import top_k
from engine.models.answers_fold_in import CardAnswers

RIDGE = 1.0  # prior precision of the fold-in, in units of the mean squared item-vector norm


@runtime_checkable
class WatchModel(Protocol):
    """A model that says how likely a new member is to watch each film next, from their card
    answers (the hybrid: ``Hybrid.watch_probability_after``)."""

    def watch_probability_after(self, answers: CardAnswers) -> torch.Tensor: ...


def ridge_posterior(vectors: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(covariance, per-film predictive variance) of a ridge fold-in from the films ``items``.

    ``x = [film vector, 1]`` (the member's bias is unknown too); the prior precision is
    ``RIDGE`` × the mean ‖x‖², so the figures do not depend on the factors' scale."""
    X = np.empty((len(vectors), vectors.shape[1] + 1))
    X[:, :-1] = vectors
    X[:, -1] = 1.0
    scale = float(np.mean(np.sum(X * X, axis=1)))
    precision = RIDGE * scale * np.eye(X.shape[1]) + X[items].T @ X[items]
    cov = np.linalg.inv(precision)
    return cov, np.sum((X @ cov) * X, axis=1)


def seen_from_watch(p_watch: np.ndarray, films_watched: float) -> np.ndarray:
    """P(seen film i) = 1 − (1 − P(watch i))^m for a member who watched ``m`` films."""
    p = np.clip(np.asarray(p_watch, dtype=np.float64), 0.0, 1.0)
    return -np.expm1(films_watched * np.log1p(-np.minimum(p, 1.0 - 1e-12)))


def member_seen(
    model: object, catalogue: Ratings, items: np.ndarray, values: np.ndarray, unseen: np.ndarray
) -> np.ndarray:
    """P(seen) per film for this member after their answers (module docstring)."""
    if not isinstance(model, WatchModel):
        return seen_probability(catalogue, items)
    p_watch = model.watch_probability_after(CardAnswers(items, values, unseen=unseen))
    p_watch = p_watch.detach().cpu().numpy().astype(np.float64)
    return seen_from_watch(p_watch, catalogue.median_history)


def uncertainty_batch(
    vectors: np.ndarray | None, items: np.ndarray, seen: np.ndarray, answered: np.ndarray, n: int
) -> list[int]:
    """``n`` films by P(seen) × predictive variance, greedily: each pick is assumed answered
    with its P(seen), which lowers the variance of films along the same directions."""
    if vectors is None:
        mask = np.zeros(len(seen), dtype=bool)
        mask[answered] = True
        budget = min(n, len(seen) - int(mask.sum()))
        return [int(i) for i in top_k(np.where(mask, -np.inf, seen), budget)]
    return variance_batch(vectors, items, seen, seen, answered, n)


def variance_batch(
    vectors: np.ndarray,
    items: np.ndarray,
    weight: np.ndarray,
    seen: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    """``n`` films by ``weight`` × the predictive variance of a ridge fold-in from ``items``,
    chosen greedily: each pick is assumed answered with probability ``seen`` (its expected
    precision gain ``seen·x xᵀ`` lowers every variance, by Sherman–Morrison). ``adaptive`` and
    ``watch-uncertainty`` differ only in ``weight``."""
    mask = np.zeros(len(seen), dtype=bool)
    mask[answered] = True
    budget = min(n, len(seen) - int(mask.sum()))
    cov, variance = ridge_posterior(vectors, items)
    X = np.hstack([vectors, np.ones((len(vectors), 1))])  # the member's bias is unknown too
    chosen: list[int] = []
    for _ in range(budget):
        best = int(top_k(np.where(mask, -np.inf, weight * variance), 1)[0])
        chosen.append(best)
        mask[best] = True
        cx = cov @ X[best]
        p = seen[best]
        denom = 1.0 + p * float(X[best] @ cx)
        variance = variance - p * (X @ cx) ** 2 / denom
        cov = cov - p * np.outer(cx, cx) / denom
    return chosen


def watch_entropy_key(catalogue: Ratings, seen: np.ndarray) -> np.ndarray:
    """log(1 + n_users · P(seen)) × entropy of the film's ratings (module docstring)."""
    s = catalogue.stats
    return np.log1p(s.n_users * np.asarray(seen, dtype=np.float64)) * s.entropy


__all__ = [
    "WatchModel",
    "member_seen",
    "ridge_posterior",
    "seen_from_watch",
    "uncertainty_batch",
    "variance_batch",
    "watch_entropy_key",
]
