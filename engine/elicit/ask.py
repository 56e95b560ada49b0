"""The one way in to elicitation: which films to ask a member about next, checked.

``next_films`` validates what it is handed (the strategy's name, ``n``, the answers, the model's
catalogue) before any strategy runs, so every strategy may trust its ``Answers``; ``elicitor``
binds one strategy for the protocols that compare them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from engine.data.ratings import Ratings
from engine.elicit.answers import Answers, ElicitModel, checked_answers
from engine.elicit.strategies import STRATEGIES

DEFAULT_ELICITATION = "watch-uncertainty"


def next_films(
    model: ElicitModel | None,
    catalogue: Ratings,
    rated: Mapping[int, float],
    unseen: set[int] | frozenset[int] = frozenset(),
    n: int = 5,
    strategy: str = DEFAULT_ELICITATION,
    passed: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Item indices to ask about next: never in ``rated``, ``unseen`` or ``passed`` (films shown
    and passed over: not asked again, and no evidence either way); fewer than ``n`` only when
    the catalogue has nothing else left."""
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown elicitation strategy {strategy!r}; choose from {', '.join(STRATEGIES)}"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number ≥ 1 (got {n!r})")
    items, values, answered, n_answered = checked_answers(rated, unseen, catalogue.n_items, passed)
    if model is not None and model.n_items != catalogue.n_items:
        raise ValueError("the model and the catalogue have different films; retrain the model")
    return STRATEGIES[strategy](
        Answers(model, catalogue, items, values, answered, n_answered), int(n)
    )


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


__all__ = ["DEFAULT_ELICITATION", "elicitor", "next_films"]
