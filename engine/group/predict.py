"""Each member's predicted stars over the catalogue: fold in, score, calibrate.

Explicit models already speak stars. Implicit scores mean nothing across people, so each
member's scores become their percentile rank mapped onto the star scale (``calibrate``); a model
that ranks by something other than stars but can also estimate them (the hybrid's
``expected_stars``) shows members those stars while the blend uses its ranking.

Films a member has seen without rating (``Member.seen``) are evidence of watching, which only
a model of what people watch can use (``fold_member``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.group.members import Member
from engine.group.strategies import rank_points
from engine.models.answers_fold_in import AnswersFoldIn, CardAnswers
from engine.models.base import FoldIn, StarEstimator, UserState


class RoomModel(FoldIn, StarEstimator, Protocol):
    """What the group engine needs of a model: fold each member in, score every film for them
    (``kind`` says whether scores are stars), and their expected stars where the scores are not
    stars. Every ``Recommender`` is one."""

    @property
    def n_items(self) -> int: ...


def seen_weight(member: Member, catalogue: Ratings) -> float:
    """The value a seen-without-stars film is folded in with by an implicit model: the member's
    own mean rating (they watched it; whether they liked it is unknown, so it counts like an
    average film of theirs), or the catalogue's typical rating when they rated nothing."""
    return float(np.mean(member.values)) if len(member.values) else catalogue.stats.typical


def fold_member(model: RoomModel, member: Member, catalogue: Ratings) -> UserState:
    """The member as ``model`` sees them, from every answer the model can use.

    * a model that folds in card answers (``AnswersFoldIn``: ALS and the hybrid) gets them all:
      stars, seen films (with ``seen_weight`` stand-in stars) and "haven't seen it"; the
      hybrid gives all three to its implicit part and the stars alone to its explicit part;
    * explicit models take only star ratings: a film seen without stars says nothing about how
      the member would rate others;
    * other implicit models learn from what people watch: a seen film is folded in as
      watched, with ``seen_weight`` where the model reads a value.
    """
    weight = np.full(len(member.seen), seen_weight(member, catalogue), np.float32)
    if isinstance(model, AnswersFoldIn):
        answers = CardAnswers(member.items, member.values, member.seen, weight, member.unseen)
        return model.fold_in_answers(answers)
    if not len(member.seen) or model.kind == "explicit":
        return model.fold_in(member.items, member.values)
    return model.fold_in(
        np.concatenate([member.items, member.seen]),
        np.concatenate([member.values.astype(np.float32), weight]),
    )


def informed(model: RoomModel, member: Member) -> bool:
    """Whether the model learns anything about this member: star ratings, seen films for a
    model that reads watching, or "haven't seen it" for one that folds in card answers.
    Members it learns nothing about get the prior."""
    if len(member.items):
        return True
    if len(member.unseen) and isinstance(model, AnswersFoldIn):
        return True
    return bool(len(member.seen)) and model.kind != "explicit"


def prior_scores(catalogue: Ratings) -> np.ndarray:
    """Stars for someone we know nothing about: the damped mean rating of every film."""
    return catalogue.stats.prior.copy()


def member_predictions(
    model: RoomModel, catalogue: Ratings, members: Sequence[Member]
) -> np.ndarray:
    """[members × films] predicted stars: each member folded in, scored over the whole catalogue.

    Explicit models already speak stars. Implicit scores mean nothing across people, so each
    member's scores become their percentile rank, mapped through the catalogue's own rating
    star scale (a member's favourite ~5★, their median film ~the catalogue's mean rating).
    Members the model learns nothing about (``informed``) get the prior (popular, well rated
    films).
    """
    return member_matrices(model, catalogue, members)[0]


def member_matrices(
    model: RoomModel, catalogue: Ratings, members: Sequence[Member]
) -> tuple[np.ndarray, np.ndarray]:
    """(what strategies blend, what members are shown), both [members × films] on the star scale.

    They are the same matrix except for models that rank by something other than stars but
    can also estimate stars (``expected_stars(state)`` not None, e.g. the hybrid's P(watch) ×
    E[rating]): strategies blend the calibrated ranking, while reasons and per-member columns
    show the member's expected rating, which is what "Ana ~4.5★" promises.
    """
    stats = catalogue.stats
    blend = np.empty((len(members), stats.n_items))
    rated = [r for r, m in enumerate(members) if informed(model, m)]
    for r in set(range(len(members))) - set(rated):
        blend[r] = stats.prior
    shown = blend.copy()
    if rated:
        # one fold-in and one vectorised score call per member, never per film
        states = [fold_member(model, members[r], catalogue) for r in rated]
        scores = np.stack([_numpy(model.score(state)) for state in states])
        if model.kind == "explicit":  # the scores are stars
            blend[rated] = shown[rated] = scores
        else:
            blend[rated] = calibrate(scores, stats.typical)
            stars = [model.expected_stars(state) for state in states]
            known = [_numpy(s) for s in stars if s is not None]
            shown[rated] = np.stack(known) if len(known) == len(stars) else blend[rated]
    return np.clip(blend, MIN_RATING, MAX_RATING), np.clip(shown, MIN_RATING, MAX_RATING)


def _numpy(scores: torch.Tensor) -> np.ndarray:
    return scores.detach().cpu().numpy()


def calibrate(scores: np.ndarray, typical: float = 3.5) -> np.ndarray:
    """Per row, percentile rank p → 0.5 + 4.5·p^γ stars, γ chosen so the median film gets the
    catalogue's ``typical`` rating. Strictly increasing, so no two films that the model tells
    apart end up tied (mapping through the empirical rating quantiles would flatten everyone's
    top 15 % to exactly 5★)."""
    n = scores.shape[1]
    pct = rank_points(scores) if n > 1 else np.ones_like(scores)
    span = MAX_RATING - MIN_RATING
    frac = float(np.clip((typical - MIN_RATING) / span, 0.05, 0.95))
    gamma = np.log(frac) / np.log(0.5)
    return MIN_RATING + span * pct**gamma
