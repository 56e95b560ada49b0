"""The rating deck's queue applied to the store: replay, duplicates, order, failures.

The deck sends every unacknowledged answer as one state value; ``apply_queue`` must write each
answer once, in the order tapped, acknowledge only what is safe to forget, and keep what a
passing failure did not save.
"""

from __future__ import annotations

import pytest

from app.services.answer_queue import (
    MAX_QUEUE,
    AnswerQueue,
    QueuedAnswer,
    apply_queue,
    parse_queue,
)
from app.store import DatabaseUnavailable, InvalidRating, Store, UnknownMovie

FILMS = (1, 2, 3, 4, 5, 6)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'mn.db'}", movie_ids=FILMS)
    yield s
    s.dispose()


@pytest.fixture
def token(store):
    room = store.create_room("Friday")
    return store.add_member(room.code, "Ana").token


def queue(*answers: tuple[int, int, float | None], mount: str = "m1") -> AnswerQueue:
    return AnswerQueue(mount, tuple(QueuedAnswer(s, m, r) for s, m, r in answers))


class RecordingWriter:
    """A writer that records calls and fails as told: ``fail[movie] = exception``."""

    def __init__(self, fail: dict[int, Exception] | None = None) -> None:
        self.calls: list[tuple[str, int, float | None]] = []
        self.fail = fail or {}

    def set_rating(self, token: str, movie_id: int, rating: float | None) -> None:
        if movie_id in self.fail:
            raise self.fail[movie_id]
        self.calls.append((token, movie_id, rating))


def test_a_queue_is_saved_in_sequence_order_and_acknowledged(store, token):
    out = apply_queue(store, token, queue((2, 2, 4.0), (1, 1, 3.5), (3, 3, None)))
    assert out.acked == 3
    assert out.saved == (1, 2, 3)  # sequence order, not arrival order
    assert store.answers(token) == {1: 3.5, 2: 4.0, 3: None}


def test_a_replay_after_acknowledgement_writes_nothing():
    writer = RecordingWriter()
    first = apply_queue(writer, "t", queue((1, 1, 3.0), (2, 2, 4.0)))
    again = apply_queue(writer, "t", queue((1, 1, 3.0), (2, 2, 4.0)), acked=first.acked)
    assert again.acked == 2 and again.saved == ()
    assert len(writer.calls) == 2


def test_a_longer_queue_after_a_partial_ack_writes_only_the_new_answers():
    writer = RecordingWriter()
    out = apply_queue(writer, "t", queue((1, 1, 3.0), (2, 2, 4.0), (3, 3, 5.0)), acked=1)
    assert [c[1] for c in writer.calls] == [2, 3]
    assert out.acked == 3


def test_the_same_film_answered_twice_keeps_the_later_answer(store, token):
    out = apply_queue(store, token, queue((1, 4, 2.0), (2, 4, 4.5)))
    assert out.acked == 2
    assert store.answers(token) == {4: 4.5}


def test_a_duplicated_sequence_number_is_written_once():
    writer = RecordingWriter()
    apply_queue(writer, "t", queue((1, 1, 3.0), (1, 1, 3.0), (2, 2, 1.0)))
    assert writer.calls == [("t", 1, 3.0), ("t", 2, 1.0)]


def test_a_passing_failure_stops_there_and_keeps_the_rest_for_the_next_try():
    writer = RecordingWriter(fail={2: DatabaseUnavailable("connection refused")})
    out = apply_queue(writer, "t", queue((1, 1, 3.0), (2, 2, 4.0), (3, 3, 5.0)))
    assert out.acked == 1  # 2 and 3 stay in the browser's queue
    assert out.saved == (1,)
    assert out.retry is not None and "database" in out.retry.lower()
    assert [c[1] for c in writer.calls] == [1]  # nothing after the failure was written
    writer.fail.clear()
    again = apply_queue(writer, "t", queue((2, 2, 4.0), (3, 3, 5.0)), acked=out.acked)
    assert again.acked == 3 and again.retry is None
    assert [c[1] for c in writer.calls] == [1, 2, 3]


def test_an_answer_refused_for_good_is_acknowledged_and_does_not_block_the_rest(store, token):
    out = apply_queue(store, token, queue((1, 99, 4.0), (2, 1, 7.0), (3, 2, 3.0)))
    assert out.acked == 3
    assert out.saved == (2,)
    assert len(out.refused) == 2  # the unknown film and the 7 stars, each in plain words
    assert store.answers(token) == {2: 3.0}


def test_refusals_are_the_store_s_own_permanent_errors():
    writer = RecordingWriter(fail={1: UnknownMovie("no such film"), 2: InvalidRating("7 stars")})
    out = apply_queue(writer, "t", queue((1, 1, 3.0), (2, 2, 7.0), (3, 3, 2.0)))
    assert out.refused == ("no such film", "7 stars")
    assert out.acked == 3 and out.retry is None


def test_an_unknown_member_saves_nothing_and_acknowledges_nothing(store):
    out = apply_queue(store, "not-a-token", queue((1, 1, 3.0)))
    assert out.acked == 0 and out.saved == ()
    assert out.retry


def test_a_guest_s_queue_only_ever_writes_their_own_answers(store, token):
    other = store.add_member(store.member(token).room_code, "Ben").token
    apply_queue(store, token, queue((1, 1, 3.0)))
    assert store.answers(other) == {}


@pytest.mark.parametrize(
    "raw",
    [None, [], "x", {"mount": "", "answers": []}, {"mount": "m", "answers": "no"}, {"answers": []}],
)
def test_what_is_not_a_queue_parses_to_none(raw):
    assert parse_queue(raw) is None


def test_malformed_answers_are_dropped_one_by_one():
    parsed = parse_queue(
        {
            "mount": "m",
            "answers": [
                {"seq": 1, "movie": 5, "stars": 4.5},
                {"seq": 0, "movie": 5, "stars": 4.5},  # sequence numbers start at 1
                {"seq": 2, "movie": "5", "stars": 4.5},  # a string is not a movieId
                {"seq": 3, "movie": 6, "stars": True},  # a bool is not stars
                {"seq": 4.0, "movie": 6.0, "stars": None},  # JSON numbers arrive as floats
                "junk",
            ],
        }
    )
    assert parsed == AnswerQueue("m", (QueuedAnswer(1, 5, 4.5), QueuedAnswer(4, 6, None)))


def test_a_queue_is_read_up_to_its_limit():
    raw = {"mount": "m", "answers": [{"seq": i, "movie": 1, "stars": 3} for i in range(1, 900)]}
    parsed = parse_queue(raw)
    assert parsed is not None and len(parsed.answers) == MAX_QUEUE
