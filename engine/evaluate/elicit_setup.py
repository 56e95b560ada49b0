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
from engine.models.answers_fold_in import CardAnswers
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


@dataclass(frozen=True)
class Tap:
    """One card the simulated member answered: ``stars`` for a film of their answerable half,
    None for "haven't seen it"; ``withheld`` for a film of their **test half**. They have seen
    that one and would rate it, so the tap counts as a rating, but its stars are what the
    protocol scores: no model and no strategy ever sees them (the strategy is told only not to
    ask it again). Calling it "haven't seen it" instead, as this protocol once did, told the
    strategies a falsehood about exactly the films they were right to ask."""

    film: int
    stars: float | None
    withheld: bool = False

    @property
    def rated(self) -> bool:
        """Whether the member gave (or, withheld, would have given) this card stars."""
        return self.stars is not None or self.withheld


def answers_after(taps: Sequence[Tap]) -> CardAnswers:
    """What a model may see of these taps: the stars given and the "haven't seen it" films;
    withheld cards are left out."""
    rated = [t for t in taps if t.stars is not None]
    return CardAnswers(
        items=np.array([t.film for t in rated], np.int64),
        values=np.array([t.stars for t in rated], np.float32),
        unseen=np.array([t.film for t in taps if t.stars is None and not t.withheld], np.int64),
    )


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
    """The member's answers to ``taps`` cards shown one at a time by ``strategy``: stars from
    the answerable half, withheld stars for the test half (``Tap``), else "haven't seen it"."""
    rated: dict[int, float] = {}
    unseen: set[int] = set()
    withheld: set[int] = set()
    tested = set(member.test_items.tolist())
    out: list[Tap] = []
    for _ in range(taps):
        films = elicit.next_films(model, train, rated, unseen, 1, strategy, passed=withheld)
        if not films:
            break
        film = films[0]
        if film in member.answerable:
            rated[film] = member.answerable[film]
            out.append(Tap(film, rated[film]))
        elif film in tested:
            withheld.add(film)
            out.append(Tap(film, None, withheld=True))
        else:
            unseen.add(film)
            out.append(Tap(film, None))
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
    "answers_after",
    "candidates",
    "fit_draws",
    "members_of",
    "tap_sequence",
]
