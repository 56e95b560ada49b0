"""Apply a phone's queue of answers to the store: in order, once each, nothing lost.

The rating deck (``app.widgets.rating_deck``) answers a tap in the browser and sends the whole
queue of answers the server has not acknowledged yet as its *state*, not as a one-off event:
Streamlit keeps only the newest state of a component when reruns merge, so a queue that always
holds every unacknowledged answer survives merged reruns, double taps and reconnects. The server
answers with how far it has saved (``acked``); the deck then forgets those answers.

This module is the part of that protocol that needs no Streamlit: parse what the browser sent
(it is untrusted input), and write the answers not yet acknowledged, in sequence order. Replays
(the same queue sent again after a reconnect) and duplicates are applied once, because every
answer at or below the acknowledged sequence number is skipped, and because the store's write is
an upsert (the same answer written twice leaves one row). An answer the store refuses for good
(a film not in this catalogue, stars out of range) is acknowledged and reported, so one bad
answer cannot block the ones behind it; a failure that may pass (the database is down) stops at
that answer, acknowledges nothing after it, and keeps the rest queued in the browser for the
next try.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from app.store import InvalidRating, StoreError, UnknownMovie

#: The most answers one queue may carry: a phone that was offline for a whole evening has fewer.
MAX_QUEUE = 500
#: Errors that retrying the same answer can never cure: the answer is acknowledged and dropped.
PERMANENT = (InvalidRating, UnknownMovie)


class AnswerWriter(Protocol):
    """What applying a queue needs from the store: one idempotent write per answer."""

    def set_rating(self, token: str, movie_id: int, rating: float | None) -> None: ...


@dataclass(frozen=True)
class QueuedAnswer:
    """One tap: the film, the stars (None: "haven't seen it") and its place in the queue."""

    seq: int
    movie_id: int
    stars: float | None


@dataclass(frozen=True)
class AnswerQueue:
    """What the deck sent: the id of its mount (a page load) and its unacknowledged answers."""

    mount: str
    answers: tuple[QueuedAnswer, ...]


@dataclass(frozen=True)
class QueueOutcome:
    """How far a queue was saved.

    ``acked`` is the highest sequence number the deck may forget (every answer at or below it
    is saved or refused for good); ``saved`` the movieIds written by this call, in order;
    ``refused`` a plain sentence per answer dropped for good; ``retry`` the message of a failure
    that may pass, when the rest of the queue is still waiting.
    """

    acked: int
    saved: tuple[int, ...] = ()
    refused: tuple[str, ...] = field(default_factory=tuple)
    retry: str | None = None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _as_stars(value: object) -> tuple[bool, float | None]:
    """(valid?, stars): None is "haven't seen it"; range and half steps are the store's check."""
    if value is None:
        return True, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False, None
    return True, float(value)


def parse_queue(raw: object) -> AnswerQueue | None:
    """The deck's state as an ``AnswerQueue``; None when it is not one.

    The browser is not trusted: anything that is not ``{"mount": str, "answers": [{"seq": int,
    "movie": int, "stars": number | null}, ...]}`` is dropped item by item (a malformed answer
    cannot be saved, and the deck never sends one), and at most ``MAX_QUEUE`` answers are read.
    """
    if not isinstance(raw, Mapping):
        return None
    mount = raw.get("mount")
    items = raw.get("answers")
    if not isinstance(mount, str) or not mount or not isinstance(items, list):
        return None
    answers: list[QueuedAnswer] = []
    for item in items[:MAX_QUEUE]:
        if not isinstance(item, Mapping):
            continue
        seq, movie = _as_int(item.get("seq")), _as_int(item.get("movie"))
        ok, stars = _as_stars(item.get("stars"))
        if seq is None or seq < 1 or movie is None or not ok:
            continue
        answers.append(QueuedAnswer(seq, movie, stars))
    return AnswerQueue(mount[:64], tuple(answers))


def apply_queue(
    writer: AnswerWriter, token: str, queue: AnswerQueue, acked: int = 0
) -> QueueOutcome:
    """Write the answers of ``queue`` above sequence number ``acked``, in sequence order.

    Parameters
    ----------
    writer
        The store (anything with an idempotent ``set_rating``).
    token
        The member whose answers these are: a guest can only ever write their own.
    queue
        The parsed queue from one mount of the deck.
    acked
        The highest sequence number already saved for this mount (0 for none).

    Returns
    -------
    QueueOutcome
        The new acknowledged sequence number and what happened on the way. When the same
        sequence number appears twice (a replay merged into a newer queue), the later copy wins,
        as the deck never reuses a number for another answer.
    """
    by_seq = {answer.seq: answer for answer in queue.answers if answer.seq > acked}
    saved: list[int] = []
    refused: list[str] = []
    for seq in sorted(by_seq):
        answer = by_seq[seq]
        try:
            writer.set_rating(token, answer.movie_id, answer.stars)
        except PERMANENT as exc:
            refused.append(str(exc))
        except StoreError as exc:  # the database is down, or the member or room is gone
            return QueueOutcome(acked, tuple(saved), tuple(refused), retry=str(exc))
        else:
            saved.append(answer.movie_id)
        acked = seq
    return QueueOutcome(acked, tuple(saved), tuple(refused))
