"""A new member folded in from the cards they answered, with the trained members as the prior.

Why not ALS's own fold-in: ALS's normal equations treat every film a person has not rated as a
known "no" (preference 0, confidence 1). That is right for a training member whose whole history
is in the data, and wrong for someone who has answered five cards: the films they were never
shown are mostly *unknown*, not unwatched. With one rating, ALS's fold-in throws away everything
it knew about people in general (its score for someone with no ratings is the mean member's,
popularity as the model sees it) and ranks films by likeness to that one film alone: on the
embedded data its NDCG@10 after one rating is below the most-rated list's.

Here a new member starts as the trained population: a Gaussian prior with the mean ``x̄`` and
covariance ``Σ`` of the training members' vectors (an empirical population prior, as in
Bayesian PMF's hierarchical prior, Salakhutdinov & Mnih 2008, with the prior estimated from the
fitted vectors). The evidence is ALS's own likelihood ``Σ c (p − x·y)²`` with each film's
confidence saying how much we know about it:

- a rated film: p = 1 with ALS's ``c = 1 + α·stars``; a film seen without stars, p = 1 with
  the confidence of its stand-in stars;
- a "haven't seen it": p = 0 with confidence ``unseen_weight`` (a real answer);
- any film not answered: p = 0 with confidence ``f = min(1, n / m)``, the share of the member's
  history we know (n films watched among their answers, m the median number of films a
  training member rated). Knowing one film of seventy, a film not mentioned is barely a "no";
  knowing the whole history, it is ALS's own "no", and the fold-in is ALS's with the population
  in place of the isotropic prior.

The posterior mean is one k × k solve, with ``s`` (``answer_weight``) the weight of the evidence
against the prior::

    x = (Σ⁻¹ + s·(f·YᵀY + Σ_watched (c − f) y yᵀ + Σ_unseen (w − f) y yᵀ))⁻¹ (Σ⁻¹ x̄ + s·Σ_watched c y)

With no answers the member is exactly the mean member, so their picks move smoothly from the
crowd's to their own. ``s`` and ``w`` were chosen on a validation split of protocol Elicit per
tap and on random reveals (docs/tuning/answers_fold_in.txt), never on the splits the
benchmark reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from engine.models.base import UserState

ANSWER_WEIGHT = 1.0  # s: the evidence's weight against the population prior
UNSEEN_WEIGHT = 6.0  # w: confidence of a "haven't seen it" answer at preference 0
DEFAULT_HISTORY = 70.0  # m for a model saved before it kept its own (the embedded data's median)
PRIOR_RIDGE = 1e-4  # added to Σ's diagonal, relative to its mean variance (Σ may be singular)


def _indices(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass(frozen=True)
class CardAnswers:
    """What a member answered on the cards: ``items`` rated with ``values`` stars, ``seen`` films
    watched without stars (folded in with ``seen_values`` stand-in stars), and ``unseen`` films
    they said they have not seen. Arrays of item indices; a film is in at most one of them."""

    items: np.ndarray
    values: np.ndarray
    seen: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    seen_values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    unseen: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def __post_init__(self) -> None:
        for name in ("items", "seen", "unseen"):
            object.__setattr__(self, name, _indices(getattr(self, name)))
        for name in ("values", "seen_values"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), np.float32).reshape(-1))
        if len(self.items) != len(self.values) or len(self.seen) != len(self.seen_values):
            raise ValueError("every rated or seen film needs exactly one value")
        every = np.concatenate([self.items, self.seen, self.unseen])
        if len(np.unique(every)) != len(every):
            raise ValueError("a film was answered twice (rated, seen and unseen are exclusive)")

    def check(self, n_items: int) -> CardAnswers:
        """Itself, once every film is known to be in a catalogue of ``n_items`` films."""
        every = np.concatenate([self.items, self.seen, self.unseen])
        if len(every) and (every.min() < 0 or every.max() >= n_items):
            raise ValueError(f"answered film indices must be in 0..{n_items - 1}")
        return self

    @property
    def watched(self) -> tuple[np.ndarray, np.ndarray]:
        """(films watched, their values): the rated ones, then the seen ones."""
        return (
            np.concatenate([self.items, self.seen]),
            np.concatenate([self.values, self.seen_values]),
        )


@runtime_checkable
class AnswersFoldIn(Protocol):
    """A model that folds a new member in from card answers, "haven't seen it" included
    (``engine.group.predict.fold_member`` and elicitation check it with ``isinstance``)."""

    def fold_in_answers(self, answers: CardAnswers) -> UserState: ...


@dataclass(frozen=True)
class PopulationPrior:
    """What a fitted ALS knows before a member answers anything: the trained members' vectors
    as a Gaussian (``mean`` x̄, ``precision`` Σ⁻¹), the film vectors Y (``films``, float64,
    converted once rather than on every fold-in) and their ``gram`` YᵀY, and ``history`` m, the
    median number of films a training member rated."""

    mean: np.ndarray
    precision: np.ndarray
    films: np.ndarray
    gram: np.ndarray
    history: float

    @classmethod
    def of(
        cls,
        user_vectors: np.ndarray,
        film_vectors: np.ndarray,
        history: float,
        ridge: float = PRIOR_RIDGE,
    ) -> PopulationPrior:
        """Mean and (ridged) inverse covariance of ``user_vectors`` [people × k], and YᵀY."""
        x = np.asarray(user_vectors, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError("a population prior needs at least two member vectors")
        if not history > 0:
            raise ValueError("a typical history must be at least one film")
        cov = np.atleast_2d(np.cov(x.T))
        scale = float(np.trace(cov)) / cov.shape[0] or 1.0
        cov = cov + ridge * scale * np.eye(cov.shape[0])
        y = np.asarray(film_vectors, dtype=np.float64)
        return cls(x.mean(axis=0), np.linalg.inv(cov), y, y.T @ y, float(history))


def posterior_vector(
    prior: PopulationPrior,
    watched: np.ndarray,
    confidence: np.ndarray,
    unseen: np.ndarray,
    answer_weight: float = ANSWER_WEIGHT,
    unseen_weight: float = UNSEEN_WEIGHT,
) -> np.ndarray:
    """The member's posterior mean (module docstring): ``watched`` films at p = 1 with
    ``confidence`` c each, ``unseen`` films at p = 0 with ``unseen_weight``, every other film
    at p = 0 with the share of the member's history we know."""
    y = prior.films
    c = np.asarray(confidence, dtype=np.float64)
    known = min(1.0, len(watched) / prior.history)
    a = prior.precision + answer_weight * known * prior.gram
    b = prior.precision @ prior.mean
    if len(watched):
        yw = y[watched]
        a += answer_weight * (yw.T * (c - known)) @ yw
        b += answer_weight * yw.T @ c
    if len(unseen):
        yu = y[unseen]
        a += answer_weight * max(unseen_weight - known, 0.0) * yu.T @ yu
    return np.linalg.solve(a, b)


__all__ = [
    "ANSWER_WEIGHT",
    "DEFAULT_HISTORY",
    "PRIOR_RIDGE",
    "UNSEEN_WEIGHT",
    "AnswersFoldIn",
    "CardAnswers",
    "PopulationPrior",
    "posterior_vector",
]
