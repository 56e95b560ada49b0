"""The elicitation strategies: what each one scores films by, from simple to the default.

A good question is a film the person has probably seen (else the answer is "haven't seen it" and
we learn little) whose rating tells the model most about them. Strategies:

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

Most strategies are a score per film (``ranked``): the n best unanswered films by it
(``Answers.pick``). ``adaptive`` and ``watch-uncertainty`` choose a batch greedily instead, each
pick lowering the uncertainty of films like it (``watch.variance_batch``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.data.ratings import MIN_RATING, Ratings
from engine.elicit.answers import Answers
from engine.elicit.igcn import igcn_key
from engine.elicit.watch import member_seen, uncertainty_batch, variance_batch, watch_entropy_key
from engine.group.novelty import seen_probability

SEEN_POWER = 0.5  # how much "probably seen" matters against "informative" (tuned, protocol F b)
ENTROPY0_MISSING_WEIGHT = 0.5  # Rashid et al. 2008: the "not rated" category counts half
_ENTROPY0: dict[str, np.ndarray] = {}  # per catalogue fingerprint: computed once per catalogue

Strategy = Callable[[Answers, int], list[int]]


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


def ranked(key: Callable[[Answers], np.ndarray]) -> Strategy:
    """The strategy that asks the ``n`` best unanswered films by ``key``."""

    def strategy(answers: Answers, n: int) -> list[int]:
        return answers.pick(key(answers), n)

    return strategy


def _random_key(a: Answers) -> np.ndarray:
    # seeded by the answers so far: the same state always gets the same questions
    seed = [len(a.items), len(a.answered), int(np.sort(a.answered).sum()) if len(a.answered) else 0]
    return np.random.default_rng(seed).random(a.catalogue.n_items)


def _entropy_key(a: Answers) -> np.ndarray:
    s = a.catalogue.stats
    return np.log1p(s.counts) * s.entropy


def _member_seen(a: Answers) -> np.ndarray:
    return member_seen(a.model, a.catalogue, a.items, a.values, a.skipped)


def _adaptive(a: Answers, n: int) -> list[int]:
    vectors = a.vectors()
    if vectors is None:
        return a.pick(_entropy_key(a), n)
    seen = seen_probability(a.catalogue, a.items)
    return variance_batch(vectors, a.items, seen**SEEN_POWER, seen, a.answered, n)


def _watch_uncertainty(a: Answers, n: int) -> list[int]:
    seen = _member_seen(a)
    return uncertainty_batch(a.vectors(), a.items, seen, a.answered, n)


STRATEGIES: dict[str, Strategy] = {
    "random": ranked(_random_key),
    "popularity": ranked(lambda a: a.catalogue.stats.counts),
    "entropy": ranked(_entropy_key),
    "entropy0": ranked(lambda a: entropy0(a.catalogue)),
    "igcn": ranked(lambda a: igcn_key(a.catalogue, a.items, a.values)),
    "adaptive": _adaptive,
    "watch-uncertainty": _watch_uncertainty,
    "watch-entropy": ranked(lambda a: watch_entropy_key(a.catalogue, _member_seen(a))),
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

__all__ = ["ENTROPY0_MISSING_WEIGHT", "LABELS", "SEEN_POWER", "STRATEGIES", "Strategy", "entropy0"]
