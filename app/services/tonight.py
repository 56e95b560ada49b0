"""Tonight's vote, decided: which film is the match, what is closest without one, and which films
are out for the room tonight.

The rules (``decide``), per film of the shortlist, from the tally's counts alone:

* a member *accepts* a film with "Yes" or "Seen it, happy to rewatch", and *rejects* it with
  "Seen it, skip" or "Not tonight";
* rule "all": a film is a match candidate when at least one member answered it and nobody
  rejected it; rule "majority": when more than half of those who answered it accept it;
* the match is the best candidate: most "Yes" (a first watch beats a rewatch), then most
  accepts, then fewest rejections, then the shortlist's order (the blend's ranking);
* without a candidate, the three best films by the same order are the closest, and every film that failed the rule with at least one answer is rejected: the Picks
  list refills from the blend without them;
* a film anyone skipped ("seen it, skip") is out for the room tonight, match or not.

"Tonight" is the last ``TONIGHT`` hours, so a room used again next week starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.services.store import get_store
from app.store import NO, REWATCH, RULE_MAJORITY, SKIP, YES, Store, Tally

TONIGHT = timedelta(hours=12)
CLOSEST = 3


@dataclass(frozen=True)
class Decision:
    """What a vote decided: the matched movieId (or None), the closest films without a match,
    the films rejected by the vote, and those skipped by someone who has seen them."""

    match: int | None
    closest: tuple[int, ...]
    rejected: frozenset[int]
    skipped: frozenset[int]


def decide(tally: Tally) -> Decision:
    """The vote's outcome by the rules in this module's docstring (pure: counts in, films out)."""
    vote = tally.vote
    position = {m: i for i, m in enumerate(vote.films)}

    def accepts(m: int) -> int:
        return tally.counts[m][YES] + tally.counts[m][REWATCH]

    def rejects(m: int) -> int:
        return tally.counts[m][SKIP] + tally.counts[m][NO]

    def passes(m: int) -> bool:
        answered = accepts(m) + rejects(m)
        if answered == 0:
            return False
        if vote.rule == RULE_MAJORITY:
            return 2 * accepts(m) > answered
        return rejects(m) == 0

    def best_first(m: int) -> tuple[int, int, int, int]:
        return (-tally.counts[m][YES], -accepts(m), rejects(m), position[m])

    skipped = frozenset(m for m in vote.films if tally.counts[m][SKIP] > 0)
    candidates = sorted((m for m in vote.films if passes(m)), key=best_first)
    if candidates:
        return Decision(candidates[0], (), frozenset(), skipped)
    closest = tuple(sorted(vote.films, key=best_first)[:CLOSEST])
    rejected = frozenset(m for m in vote.films if accepts(m) + rejects(m) > 0)
    return Decision(None, closest, rejected, skipped)


def ruled_out(store: Store, room_code: str, now: datetime | None = None) -> set[int]:
    """movieIds out of the room's picks tonight: skipped by someone in any vote of the last
    ``TONIGHT`` hours, or rejected by a closed vote that found no match. Takes the store, so
    ``room_input`` (and tools outside the app) can call it without a running app."""
    since = (now or datetime.now(UTC)) - TONIGHT
    out: set[int] = set()
    for vote in store.tonight.votes_since(room_code, since):
        decision = decide(store.tonight.tally(room_code, vote))
        out |= decision.skipped
        if not vote.is_open:
            out |= decision.rejected
    return out


def excluded_tonight(room_code: str, now: datetime | None = None) -> set[int]:
    """``ruled_out`` for the shared store."""
    return ruled_out(get_store(), room_code, now)
