"""What Tonight's vote decides (app.services.tonight.decide), on hand-made tallies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.services.tonight import decide
from app.store import CHOICES, NO, REWATCH, SKIP, YES, Tally, Vote


def tally(rule: str, answers: dict[int, list[str]], voted: int = 3, members: int = 3) -> Tally:
    """A tally from each film's answers (in shortlist order)."""
    vote = Vote(1, 1, tuple(answers), rule, datetime.now(UTC), None)
    counts = {m: {c: given.count(c) for c in CHOICES} for m, given in answers.items()}
    return Tally(vote, counts, voted, members)


def test_the_match_is_the_best_film_everyone_accepts():
    t = tally(
        "all",
        {
            10: [YES, YES, NO],  # most yes, but someone said not tonight
            20: [YES, REWATCH, REWATCH],  # everyone accepts, one first watch
            30: [YES, YES, REWATCH],  # everyone accepts, two first watches: the best
            40: [REWATCH, REWATCH, REWATCH],
        },
    )
    d = decide(t)
    assert d.match == 30 and d.closest == () and d.rejected == frozenset()


def test_ties_go_to_the_shortlist_order():
    d = decide(tally("all", {5: [YES, REWATCH], 6: [YES, REWATCH], 7: [YES, YES]}, voted=2))
    assert d.match == 7
    d = decide(tally("all", {5: [YES, REWATCH], 6: [YES, REWATCH]}, voted=2))
    assert d.match == 5  # same counts: the blend's order decides


def test_no_match_gives_the_closest_three_by_yes_and_rejects_the_rest():
    t = tally(
        "all",
        {
            1: [YES, NO, NO],
            2: [YES, YES, SKIP],
            3: [NO, NO, NO],
            4: [YES, YES, NO],
            5: [REWATCH, NO, YES],
        },
    )
    d = decide(t)
    assert d.match is None
    assert d.closest == (2, 4, 5)  # 2 yes, 2 yes, then 1 yes + 1 rewatch beats 1 yes alone
    assert d.rejected == frozenset({1, 2, 3, 4, 5})
    assert d.skipped == frozenset({2})


def test_majority_rule_accepts_what_most_accept():
    t = tally("majority", {1: [YES, NO, NO], 2: [YES, REWATCH, NO], 3: [YES, YES, YES]})
    assert decide(t).match == 3
    t = tally("majority", {1: [YES, NO, NO], 2: [YES, REWATCH, NO]})
    assert decide(t).match == 2  # 2 of 3 accept
    t = tally("majority", {1: [YES, NO], 2: [REWATCH, SKIP]}, voted=2)
    assert decide(t).match is None  # half is not a majority


def test_unanswered_films_are_neither_matches_nor_rejected():
    d = decide(tally("all", {1: [], 2: [NO], 3: []}, voted=0))
    assert d.match is None and d.rejected == frozenset({2})
    assert d.closest == (1, 3, 2)  # nobody said yes or accepted: fewest rejections first
    d = decide(tally("all", {1: [], 2: []}, voted=0))
    assert d.rejected == frozenset()


@pytest.mark.parametrize("rule", ["all", "majority"])
def test_a_skip_is_out_tonight_even_with_a_match(rule):
    d = decide(tally(rule, {1: [YES, YES, YES], 2: [SKIP, YES, YES]}))
    assert d.match == 1 and d.skipped == frozenset({2})
