"""What the simulated members of a drill did, and the check that the database holds exactly that.

A member's write is *acknowledged* when the app returned without an error (the page then shows
it saved); a write that failed was *asked again* (the page said so) and the member repeats it.
After the drill the database must hold every member's last answer and vote, once each: nothing
acknowledged lost, nothing doubled, nothing the members did not do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.store import DatabaseProblem, DatabaseReconnecting, Store

FILMS = [1, 2, 3, 6, 10, 32, 34, 47, 50, 110, 150, 260, 296, 318, 356, 364, 380, 457, 480, 527]


@dataclass
class Ledger:
    """Every member's intended answers and votes, and how the writes went."""

    ratings: dict[tuple[str, int], float | None] = field(default_factory=dict)
    votes: dict[tuple[str, int], str] = field(default_factory=dict)
    acknowledged: int = 0
    asked_again: int = 0
    messages: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, action: Callable[[], Any], patience: float = 90.0) -> Any:
        """Do one member action as a person would: on a database error read the message, wait
        a moment and do it again, until it is acknowledged."""
        deadline = time.monotonic() + patience
        while True:
            try:
                result = action()
            except DatabaseProblem as exc:
                with self.lock:
                    self.asked_again += 1
                    self.messages.add(type(exc).__name__ + ": " + str(exc))
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
                continue
            with self.lock:
                self.acknowledged += 1
            return result


def check_room(store: Store, room: str, ledger: Ledger, tokens: list[str], vote_id: int) -> None:
    """The room's answers and this vote's answers are exactly what the members last did."""
    frame = store.room_answers(room)
    by_token = {m.token: m.id for m in store.members(room)}
    assert set(by_token) == set(tokens)  # nobody joined twice, nobody lost
    token_of = {v: k for k, v in by_token.items()}
    keys = [(token_of[int(r.member_id)], int(r.movie_id)) for r in frame.itertuples()]
    assert len(keys) == len(set(keys))  # one row per member and film: nothing doubled
    stored = {
        (token_of[int(r.member_id)], int(r.movie_id)): (None if r.rating != r.rating else r.rating)
        for r in frame.itertuples()
    }
    wanted = {k: v for k, v in ledger.ratings.items() if k[0] in by_token}
    assert stored == wanted
    for token in tokens:
        mine = {m: c for (t, m), c in ledger.votes.items() if t == token}
        assert store.tonight.my_votes(token, vote_id) == mine


def reconnecting_seen(ledger: Ledger) -> bool:
    """Every failed write was the plain "reconnecting" message, and there was at least one."""
    want = DatabaseReconnecting.for_guests
    return bool(ledger.messages) and all(m.endswith(want) for m in ledger.messages)
