"""The simulated new member that protocols Elicit (per answer, per tap) and G after taps share.

Every elicitation protocol asks the same kind of person: a new member of protocol F's fold-in
split whose ratings are cut, once and before any asking, into a seeded **test half** and the
half they can **answer**. Keeping that cut, the cards shown one at a time, and the per-split fit
here, below the protocols that use them, lets each protocol import it downward (protocol Elicit
reaches the per-tap report, which reaches this, never the way back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from engine import elicit
from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit, split_f
from engine.models.base import Recommender

TEST_SEED = 6
BASELINE = "non-personalised"
# the strategies that ask (every one of ``engine.elicit`` but ``random``, which protocol Elicit
# per answer draws from the answerable half itself), in the order the tables show them
ASKING = (
    "popularity",
    "entropy",
    "entropy0",
    "igcn",
    "adaptive",
    "watch-uncertainty",
    "watch-entropy",
)

Tap = tuple[int, float | None]  # (film, stars or None for "haven't seen it")


@dataclass(frozen=True)
class Member:
    """One new member: their answerable half (item → stars) and their test half."""

    user: int
    answerable: dict[int, float]
    test_items: np.ndarray
    test_stars: np.ndarray


def members_of(split: FoldInSplit, seed: int = TEST_SEED) -> list[Member]:
    """Each new member's fixed test half (seeded, before any elicitation) and the rest."""
    rng = np.random.default_rng(seed)
    held = split.held
    out = []
    for u in split.new_users:
        rows = held.user_rows(int(u))
        test = rng.random(len(rows)) < 0.5
        out.append(
            Member(
                int(u),
                dict(
                    zip(
                        held.items[rows[~test]].tolist(),
                        held.values[rows[~test]].tolist(),
                        strict=True,
                    )
                ),
                held.items[rows[test]].astype(np.int64),
                held.values[rows[test]].astype(np.float64),
            )
        )
    return out


def candidates(members: Sequence[Member]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(films left out of each member's ranking, each member's relevant films): every film
    outside the answerable half is a candidate, and the relevant ones are test films rated ≥ 4,
    the same for every strategy."""
    exclude = [np.fromiter(m.answerable, np.int64) for m in members]
    relevant = [m.test_items[m.test_stars >= 4.0] for m in members]
    return exclude, relevant


def tap_sequence(
    model: Recommender | None, train: Ratings, member: Member, strategy: str, taps: int
) -> list[Tap]:
    """The member's answers to ``taps`` cards shown one at a time by ``strategy``."""
    rated: dict[int, float] = {}
    unseen: set[int] = set()
    out: list[Tap] = []
    for _ in range(taps):
        films = elicit.next_films(model, train, rated, unseen, 1, strategy)
        if not films:
            break
        film = films[0]
        if film in member.answerable:
            rated[film] = member.answerable[film]
            out.append((film, rated[film]))
        else:
            unseen.add(film)
            out.append((film, None))
    return out


def fit_draws(
    create: Callable[[], Recommender],
    ratings: Ratings,
    seeds: Sequence[int],
    fitted: dict[int, Recommender] | None = None,
) -> Iterator[tuple[int, FoldInSplit, Recommender]]:
    """(seed, split, model) per draw of protocol F's split; ``fitted`` supplies models already
    fitted on a split. Lazy, so each model is fitted just before its split is measured."""
    for seed in seeds:
        split = split_f(ratings, seed=seed)
        model = (fitted or {}).get(seed)
        if model is None:
            model = create()
            model.fit(split.train)
        yield seed, split, model


__all__ = [
    "ASKING",
    "BASELINE",
    "TEST_SEED",
    "Member",
    "Tap",
    "candidates",
    "fit_draws",
    "members_of",
    "tap_sequence",
]
