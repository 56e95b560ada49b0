"""The load test's evening: in every room the host opens Tonight's vote on the room's picks and
every member answers each film at once, seen-its (with stars now and then) included; afterwards
each room's tally, each member's own answers and seen films are compared with what was written.

Used by ``tools.loadtest`` (its member threads call ``vote_in_room`` after rating); kept apart
so that each module stays one job.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from app.store import CHOICES, RATING_VALUES, SEEN_CHOICES, Store, Vote

SHORTLIST = 5
STARS_SHARE = 0.5  # how often a member who has seen a film also gives it stars

Timed = Callable[[str, Callable[[], Any]], Any]


@dataclass
class Evening:
    """What the rooms' members share for the vote: each room's host token, the vote once the
    host opened it (or None when the host could not), and an event the others wait on."""

    hosts: dict[str, str] = field(default_factory=dict)
    votes: dict[str, Vote | None] = field(default_factory=dict)
    opened: dict[str, threading.Event] = field(default_factory=dict)
    # what was written: room -> {(member token, movieId): final choice}
    choices: dict[str, dict[tuple[str, int], str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_room(self, code: str, host_token: str) -> None:
        self.hosts[code] = host_token
        self.opened[code] = threading.Event()


def open_for_room(
    store: Store, evening: Evening, room: str, picks: pd.DataFrame | None, timed: Timed
) -> None:
    """The host's part: a vote on the room's top films (after any it watched). Always releases
    the members waiting for it, also when it fails (they then skip voting)."""
    try:
        watched = store.watched(room)
        films = [] if picks is None else [int(m) for m in picks["movieId"] if m not in watched]
        if len(films) >= 2:
            vote = timed(
                "open_vote",
                lambda: store.tonight.open_vote(room, evening.hosts[room], films[:SHORTLIST]),
            )
            evening.votes[room] = vote
    finally:
        evening.opened[room].set()


def vote_in_room(
    store: Store,
    evening: Evening,
    room: str,
    token: str,
    seed: int,
    wait_s: float,
    timed: Timed,
    expected: dict[tuple[str, int], float | None],
    name: str,
) -> int:
    """A member's part: wait for the vote, answer every film (one of them twice: an upsert
    under load), give stars to some films they have seen, read the tally. Updates ``expected``
    (their answers: stars given, and "haven't seen it" answers a seen-it replaces). Returns how
    many vote answers were written."""
    if not evening.opened[room].wait(timeout=wait_s):
        raise TimeoutError("the host did not open the vote in time")
    vote = evening.votes.get(room)
    if vote is None:
        return 0
    rng = random.Random(seed)
    mine: dict[tuple[str, int], str] = {}
    plan = [(m, rng.choice(CHOICES)) for m in vote.films]
    plan.append((vote.films[0], rng.choice([c for c in CHOICES if c != plan[0][1]])))
    for movie, choice in plan:
        timed("cast_vote", lambda m=movie, c=choice: store.tonight.cast_vote(token, vote.id, m, c))
        mine[(token, movie)] = choice
        if choice in SEEN_CHOICES and expected.get((name, movie), 0.0) is None:
            del expected[(name, movie)]  # "seen it" withdraws an earlier "haven't seen it"
    for (_, movie), choice in mine.items():
        if choice in SEEN_CHOICES and rng.random() < STARS_SHARE:
            stars = rng.choice(RATING_VALUES)
            timed("set_rating", lambda m=movie, s=stars: store.set_rating(token, m, s))
            expected[(name, movie)] = stars
    timed("tally", lambda: store.tonight.tally(room, vote))
    with evening.lock:
        evening.choices.setdefault(room, {}).update(mine)
    return len(plan)


def verify_votes(store: Store, evening: Evening) -> dict[str, int]:
    """Compare every room's vote with what its members wrote: tally counts that differ, members
    whose own answers or seen films differ."""
    wrong_tally = wrong_answers = wrong_seen = 0
    for room, vote in evening.votes.items():
        if vote is None:
            continue
        written = evening.choices.get(room, {})
        tally = store.tonight.tally(room, vote)
        for movie in vote.films:
            want = {c: 0 for c in CHOICES}
            for (_, m), choice in written.items():
                if m == movie:
                    want[choice] += 1
            wrong_tally += tally.counts[movie] != want
        tokens = {token for token, _ in written}
        for token in tokens:
            mine = {m: c for (t, m), c in written.items() if t == token}
            wrong_answers += store.tonight.my_votes(token, vote.id) != mine
            seen = {m for m, c in mine.items() if c in SEEN_CHOICES}
            wrong_seen += store.tonight.seen_films(token) != seen
    return {
        "wrong_tally": wrong_tally,
        "wrong_vote_answers": wrong_answers,
        "wrong_seen": wrong_seen,
    }
