"""Asking what a member can answer: their chance of having seen each film after the answers so
far, and the strategies that weigh it against what an answer would teach.

A card costs a tap whether the member rates it or taps "haven't seen it", so a strategy should
ask films this member has probably seen. The hybrid already knows who watches what: its implicit
part (ALS, Hu, Koren & Volinsky 2008) gives P(watch | member) as a softmax over the catalogue
(``Hybrid.watch_probability``). Here that member is folded in from their answers so far, with
each "haven't seen it" as a *weak negative*: ALS treats every unrated film as preference 0 with
confidence 1; an unseen answer raises that film's confidence to ``1 + NEGATIVE_WEIGHT``, so the
member's vector moves away from the audience of the films they said they had not seen::

    x = (YᵀY + λI + Σ_rated (c−1) y yᵀ + Σ_unseen w⁻ y yᵀ)⁻¹ Σ_rated c y

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

Models without a P(watch) (no ``watch_probability``) use ``seen_probability`` (co-occurrence with
the member's rated films, damped towards popularity); models without film vectors rank
``watch-uncertainty`` by P(seen) × 1.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.group.novelty import seen_probability
from engine.group.strategies import top_k
from engine.models.als_matrix import confidence_weights
from engine.models.base import UserState

RIDGE = 1.0  # prior precision of the fold-in, in units of the mean squared item-vector norm
NEGATIVE_WEIGHT = 1.0  # w⁻: extra confidence of a "haven't seen it" answer at preference 0
_GRAMS: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()


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


def als_vector(
    factors: np.ndarray,
    gram: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    unseen: np.ndarray,
    negative: float,
) -> np.ndarray:
    """ALS fold-in with weak negatives (module docstring): ``gram`` is YᵀY + λI, ``weights``
    the rated films' c − 1; the unseen films add ``negative`` · y yᵀ at preference 0."""
    rated, skipped = factors[items], factors[unseen]
    a = gram + (rated.T * weights) @ rated + negative * skipped.T @ skipped
    b = rated.T @ (np.asarray(weights, dtype=np.float64) + 1.0)
    return np.linalg.solve(a, b)


def _is_als_hybrid(model: object) -> bool:
    implicit = getattr(model, "implicit", None)
    return getattr(implicit, "name", None) == "als" and hasattr(model, "temperature")


def _implicit_vector(
    model: Any, items: np.ndarray, values: np.ndarray, unseen: np.ndarray, negative: float
) -> np.ndarray:
    implicit = model.implicit
    factors = np.asarray(implicit.item_vectors(), dtype=np.float64)
    gram = _GRAMS.get(implicit)
    if gram is None or gram.shape[0] != factors.shape[1]:
        gram = factors.T @ factors + implicit.config.regularization * np.eye(factors.shape[1])
        _GRAMS[implicit] = gram
    cfg = implicit.config
    weights = confidence_weights(np.asarray(values, np.float32), cfg.alpha, cfg.confidence)
    return als_vector(factors, gram, items, weights, unseen, negative)


def fold_in_answers(
    model: Any,
    items: np.ndarray,
    values: np.ndarray,
    unseen: np.ndarray,
    negative: float = NEGATIVE_WEIGHT,
) -> UserState:
    """The member as the model sees them from their ratings and "haven't seen it" answers.

    For a hybrid whose implicit part is ALS, the implicit part is folded in with the unseen
    films as weak negatives (when the member has rated at least one film; with none, ALS's own
    prior stands, as nothing points the member anywhere) and the explicit part from the ratings
    alone; every other model folds in the ratings alone (``model.fold_in``)."""
    items = np.asarray(items, dtype=np.int64)
    values = np.asarray(values, dtype=np.float32)
    unseen = np.asarray(unseen, dtype=np.int64)
    state = model.fold_in(items, values)
    if not _is_als_hybrid(model) or len(items) == 0 or len(unseen) == 0 or negative <= 0:
        return state
    vector = _implicit_vector(model, items, values, unseen, negative)
    implicit = UserState(
        items=items,
        values=values,
        vector=torch.as_tensor(vector, dtype=torch.float32, device=model.implicit.device),
    )
    return UserState(
        items=state.items,
        values=state.values,
        vector=state.vector,
        bias=state.bias,
        extra={**state.extra, "implicit": implicit},
    )


def member_seen(
    model: Any, catalogue: Ratings, items: np.ndarray, values: np.ndarray, unseen: np.ndarray
) -> np.ndarray:
    """P(seen) per film for this member after their answers (module docstring)."""
    if model is None or not hasattr(model, "watch_probability"):
        return seen_probability(catalogue, items)
    if _is_als_hybrid(model) and len(items):  # the implicit half alone: no explicit fold-in
        vector = _implicit_vector(model, items, values, unseen, NEGATIVE_WEIGHT)
        scores = np.asarray(model.implicit.item_vectors(), dtype=np.float64) @ vector
        logits = scores / float(model.temperature)
        p_watch = np.exp(logits - logits.max())
        p_watch /= p_watch.sum()
    else:
        state = fold_in_answers(model, items, values, unseen)
        p_watch = model.watch_probability(state).detach().cpu().numpy().astype(np.float64)
    return seen_from_watch(p_watch, films_watched(catalogue))


def films_watched(catalogue: Ratings) -> float:
    """m: the median number of films a training user rated."""
    counts = catalogue.user_counts()
    return float(np.median(counts[counts > 0])) if np.any(counts > 0) else 1.0


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
    "NEGATIVE_WEIGHT",
    "als_vector",
    "films_watched",
    "fold_in_answers",
    "member_seen",
    "ridge_posterior",
    "seen_from_watch",
    "uncertainty_batch",
    "variance_batch",
    "watch_entropy_key",
]
