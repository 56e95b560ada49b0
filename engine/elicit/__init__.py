"""Which films to ask a new member about next.

A good question is a film the person has probably seen (else the answer is "haven't seen it" and
we learn little) whose rating tells the model most about them. Strategies, from simple to the
default:

- ``random``: a seeded shuffle of the catalogue, the yardstick.
- ``popularity``: the most rated films first (likely seen, but everyone likes them, so the
  answers say little about taste).
- ``entropy``: log-popularity × entropy of the film's rating distribution (Rashid et al., IUI 2002):
  known films that people disagree about.
- ``entropy0``: Rashid, Karypis & Riedl's Entropy0 (SIGKDD Explorations 2008): the entropy of a
  film's ratings over *all* users with "not rated" as one more category, weighted ½ against 1
  for each rating value, so an obscure film (almost everyone in "not rated") scores low and a
  well-known divisive one high: popularity and informativeness in one number.
- ``igcn``: Rashid et al.'s IGCN (same paper): the films whose answer best tells apart the
  clusters of users the member could belong to, over everyone for the first answers and then
  over their nearest training users (``engine.elicit.igcn``).
- ``adaptive``: after every answer, the films whose predicted rating is still most uncertain
  given the answers so far, weighted by the chance that this person has seen them. Uncertainty
  is the posterior variance of a ridge fold-in in the model's factor space
  (``xᵀ (λI + Σ_answered x xᵀ)⁻¹ x`` with ``x = [item vector, 1]``), so a film that
  would move the member's vector in a direction we already know adds little. The chance of
  having seen a film is its popularity among training users who watched the same films as
  this member (co-occurrence), damped towards plain popularity. Models without item vectors
  fall back to ``entropy``.
- ``watch-uncertainty`` and ``watch-entropy``: the member's own chance of having seen a film,
  from the model's P(watch) after their answers so far ("haven't seen it" counting as a weak
  negative), times what an answer would teach: the predictive variance, or the film's rating
  entropy (``engine.elicit.watch``).

All strategies are deterministic for the same answers, never return a film already answered
(rated or "haven't seen"), and return fewer than ``n`` films only when the catalogue is exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import numpy as np

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.elicit.igcn import igcn_key
from engine.elicit.watch import member_seen, ridge_posterior, uncertainty_batch, watch_entropy_key
from engine.group.novelty import seen_probability
from engine.group.strategies import top_k

DEFAULT_ELICITATION = "adaptive"

SEEN_POWER = 0.5  # how much "probably seen" matters against "informative" (tuned, protocol F b)


class ElicitModel(Protocol):
    """What elicitation reads of a model: its catalogue size and film vectors (None where it
    has none; ``adaptive`` then falls back to ``entropy``). Every ``Recommender`` is one."""

    @property
    def n_items(self) -> int: ...

    def item_vectors(self) -> np.ndarray | None: ...


def _answered(
    rated: Mapping[int, float], unseen: Iterable[int], n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rated items, their stars, every answered item) validated, with clear errors."""
    if not isinstance(rated, Mapping):
        raise ValueError("rated must map film index → stars")
    try:
        items = np.array([int(i) for i in rated], dtype=np.int64)
        values = np.array([float(v) for v in rated.values()], dtype=np.float64)
        skipped = np.array(sorted(int(i) for i in unseen), dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError("film indices must be whole numbers and ratings numbers") from None
    every = np.concatenate([items, skipped])
    if len(every) and (every.min() < 0 or every.max() >= n_items):
        raise ValueError(f"answered film indices must be in 0..{n_items - 1}")
    if not np.isfinite(values).all():
        raise ValueError("a rating is not a number")
    if len(values) and (values.min() < MIN_RATING or values.max() > MAX_RATING):
        raise ValueError(f"ratings must be between {MIN_RATING} and {MAX_RATING} stars")
    return items, values, every


def _pick(key: np.ndarray, answered: np.ndarray, n: int, catalogue: Ratings) -> list[int]:
    """The n best films by ``key`` not yet answered; ties go to the more rated film, never to
    catalogue position (unless the counts tie too)."""
    key = np.nan_to_num(np.asarray(key, dtype=np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    key[answered] = -np.inf
    available = len(key) - len(np.unique(answered))
    return [int(i) for i in top_k(key, min(n, available), catalogue.stats.counts)]


# ---------------------------------------------------------------------------- strategies


def _random(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    # seeded by the answers so far: the same state always gets the same questions
    seed = [len(items), len(answered), int(np.sort(answered).sum()) if len(answered) else 0]
    key = np.random.default_rng(seed).random(catalogue.n_items)
    return _pick(key, answered, n, catalogue)


def _popularity(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    return _pick(catalogue.stats.counts, answered, n, catalogue)


def _entropy(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    s = catalogue.stats
    return _pick(np.log1p(s.counts) * s.entropy, answered, n, catalogue)


ENTROPY0_MISSING_WEIGHT = 0.5  # Rashid et al. 2008: the "not rated" category counts half
_ENTROPY0: dict[str, np.ndarray] = {}  # per catalogue fingerprint: computed once per catalogue


def entropy0(catalogue: Ratings, missing_weight: float = ENTROPY0_MISSING_WEIGHT) -> np.ndarray:
    """Entropy0 per film: −(1/Σw) Σ_j w_j p_j log2 p_j over the categories "not rated" (p_0 =
    share of users who did not rate it, weight ``missing_weight``) and each half-star value
    (share of users who gave it, weight 1)."""
    key = f"{catalogue.fingerprint}:{missing_weight}"
    if key not in _ENTROPY0:
        n_users = max(catalogue.n_users, 1)
        bins = np.clip(np.round((catalogue.values - MIN_RATING) * 2).astype(np.int64), 0, 9)
        hist = np.bincount(catalogue.items * 10 + bins, minlength=catalogue.n_items * 10)
        hist = hist.reshape(catalogue.n_items, 10).astype(np.float64)
        missing = n_users - hist.sum(axis=1, keepdims=True)
        p = np.hstack([missing, hist]) / n_users
        w = np.array([missing_weight] + [1.0] * 10)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(p), 0.0)
        _ENTROPY0[key] = -(terms * w).sum(axis=1) / w.sum()
    return _ENTROPY0[key]


def _entropy0(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    return _pick(entropy0(catalogue), answered, n, catalogue)


def _igcn(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    return _pick(igcn_key(catalogue, items, values), answered, n, catalogue)


def _adaptive(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    vectors = model.item_vectors() if model is not None else None
    if vectors is None:
        return _entropy(model, catalogue, items, values, answered, n)
    X = np.hstack([vectors, np.ones((len(vectors), 1))])  # the user bias is unknown too
    cov, variance = ridge_posterior(vectors, items)
    seen = seen_probability(catalogue, items)
    weight = seen**SEEN_POWER
    chosen: list[int] = []
    mask = np.zeros(len(X), dtype=bool)
    mask[answered] = True
    budget = min(n, len(X) - int(mask.sum()))
    for _ in range(budget):  # greedy batch: each pick is assumed answered with P(seen)
        key = np.where(mask, -np.inf, weight * variance)
        best = int(top_k(key, 1)[0])
        chosen.append(best)
        mask[best] = True
        # Sherman–Morrison: expected precision gain seen[best]·x xᵀ lowers every variance
        cx = cov @ X[best]
        p = seen[best]
        denom = 1.0 + p * float(X[best] @ cx)
        proj = X @ cx
        variance = variance - p * proj**2 / denom
        cov = cov - p * np.outer(cx, cx) / denom
    return chosen


def _skipped(items: np.ndarray, answered: np.ndarray) -> np.ndarray:
    """The "haven't seen it" answers: ``answered`` is the rated films, then the skipped ones."""
    return answered[len(items) :]


def _watch_uncertainty(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    seen = member_seen(model, catalogue, items, values, _skipped(items, answered))
    vectors = model.item_vectors() if model is not None else None
    return uncertainty_batch(vectors, items, seen, answered, n)


def _watch_entropy(
    model: ElicitModel | None,
    catalogue: Ratings,
    items: np.ndarray,
    values: np.ndarray,
    answered: np.ndarray,
    n: int,
) -> list[int]:
    seen = member_seen(model, catalogue, items, values, _skipped(items, answered))
    return _pick(watch_entropy_key(catalogue, seen), answered, n, catalogue)


Strategy = Callable[
    [ElicitModel | None, Ratings, np.ndarray, np.ndarray, np.ndarray, int], list[int]
]
STRATEGIES: dict[str, Strategy] = {
    "random": _random,
    "popularity": _popularity,
    "entropy": _entropy,
    "entropy0": _entropy0,
    "igcn": _igcn,
    "adaptive": _adaptive,
    "watch-uncertainty": _watch_uncertainty,
    "watch-entropy": _watch_entropy,
}
LABELS = {
    "random": "Random films",
    "popularity": "Most rated films",
    "entropy": "Well-known films people disagree about",
    "entropy0": "Films most people can place on the scale (Entropy0)",
    "igcn": "Films that tell apart the kinds of viewer you could be (IGCN)",
    "adaptive": "Adaptive: what tells us most about you",
    "watch-uncertainty": "Films you have probably seen that tell us most about you",
    "watch-entropy": "Films you have probably seen that people disagree about",
}


def next_films(
    model: ElicitModel | None,
    catalogue: Ratings,
    rated: Mapping[int, float],
    unseen: set[int] | frozenset[int] = frozenset(),
    n: int = 5,
    strategy: str = DEFAULT_ELICITATION,
) -> list[int]:
    """Item indices to ask about next: never in ``rated`` or ``unseen``; fewer than ``n`` only
    when the catalogue has nothing else left."""
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown elicitation strategy {strategy!r}; choose from {', '.join(STRATEGIES)}"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number ≥ 1 (got {n!r})")
    items, values, answered = _answered(rated, unseen, catalogue.n_items)
    if model is not None and model.n_items != catalogue.n_items:
        raise ValueError("the model and the catalogue have different films; retrain the model")
    return STRATEGIES[strategy](model, catalogue, items, values, answered, int(n))


def elicitor(
    strategy: str,
) -> Callable[[ElicitModel | None, Ratings, dict[int, float], set[int], int], list[int]]:
    """``next_films`` bound to one strategy, in the shape protocol F (b) calls."""

    def ask(
        model: ElicitModel | None,
        catalogue: Ratings,
        rated: dict[int, float],
        unseen: set[int],
        n: int,
    ) -> list[int]:
        return next_films(model, catalogue, rated, unseen, n, strategy)

    return ask


__all__ = [
    "DEFAULT_ELICITATION",
    "LABELS",
    "STRATEGIES",
    "ElicitModel",
    "elicitor",
    "entropy0",
    "next_films",
    "seen_probability",
]
