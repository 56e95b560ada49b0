"""app.store's evening part (``store.tonight``): the host token, seen films, Tonight's vote;
and the room stamp.

Who may do what is the point: a guest can change only their own answers, host actions need the
host token, and a tally never says who voted what.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.store import (
    CHOICES,
    NO,
    REWATCH,
    SKIP,
    YES,
    InvalidChoice,
    MemberNotFound,
    NotHost,
    Store,
    Tally,
    VoteUnavailable,
)

URLSAFE = re.compile(r"^[A-Za-z0-9_-]{32,}$")
FILMS = [1, 2, 3, 260, 318]


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'movienight.db'}")
    yield s
    s.dispose()


@pytest.fixture
def room(store):
    hosted = store.tonight.create_hosted_room("Friday <b>club</b>")
    ann = store.add_member(hosted.code, "Ann")
    bob = store.add_member(hosted.code, "Bob")
    return hosted, ann, bob


def test_a_hosted_room_has_an_unguessable_host_token(store):
    a = store.tonight.create_hosted_room("A")
    b = store.tonight.create_hosted_room("B")
    assert URLSAFE.match(a.host_token) and a.host_token != b.host_token
    assert a.host_token not in (a.code, b.code)
    assert store.room(a.code).name == "A"
    assert store.tonight.is_host(a.code, a.host_token)
    assert store.tonight.is_host(a.code, f"  {a.host_token} ")  # pasted with spaces
    for wrong in (b.host_token, a.host_token[:-1], a.host_token + "x", "", None, 42, "x" * 500):
        assert not store.tonight.is_host(a.code, wrong)


def test_a_room_made_before_hosts_has_no_host(store):
    legacy = store.create_room("Old room")
    member = store.add_member(legacy.code, "Ann")
    assert not store.tonight.is_host(legacy.code, member.token)
    with pytest.raises(NotHost, match="host link"):
        store.tonight.open_vote(legacy.code, member.token, FILMS)


def test_only_the_host_opens_and_closes_a_vote(store, room):
    hosted, ann, _ = room
    other = store.tonight.create_hosted_room("Other")
    for token in (ann.token, other.host_token, "", hosted.code):
        with pytest.raises(NotHost):
            store.tonight.open_vote(hosted.code, token, FILMS)
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS, rule="majority")
    assert vote.films == tuple(FILMS) and vote.is_open and vote.rule == "majority"
    with pytest.raises(VoteUnavailable, match="already open"):
        store.tonight.open_vote(hosted.code, hosted.host_token, [4, 5])
    with pytest.raises(NotHost):
        store.tonight.close_vote(hosted.code, ann.token)
    closed = store.tonight.close_vote(hosted.code, hosted.host_token)
    assert not closed.is_open and closed.id == vote.id
    assert store.tonight.latest_vote(hosted.code) == closed
    with pytest.raises(VoteUnavailable, match="no open vote"):
        store.tonight.close_vote(hosted.code, hosted.host_token)


@pytest.mark.parametrize(
    ("films", "rule", "message"),
    [([1], "all", "2 to 10"), (list(range(1, 12)), "all", "2 to 10"), ([1, 2], "most", "rule")],
)
def test_bad_shortlists_are_refused(store, room, films, rule, message):
    hosted, _, _ = room
    with pytest.raises(InvalidChoice, match=message):
        store.tonight.open_vote(hosted.code, hosted.host_token, films, rule=rule)


def test_members_answer_only_for_themselves_and_only_while_open(store, room):
    hosted, ann, bob = room
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS)
    store.tonight.cast_vote(ann.token, vote.id, 1, YES)
    store.tonight.cast_vote(ann.token, vote.id, 1, NO)  # changed her mind: replaces
    store.tonight.cast_vote(bob.token, vote.id, 1, YES)
    assert store.tonight.my_votes(ann.token, vote.id) == {1: NO}
    assert store.tonight.my_votes(bob.token, vote.id) == {1: YES}
    with pytest.raises(InvalidChoice, match="one of"):
        store.tonight.cast_vote(ann.token, vote.id, 2, "maybe")
    with pytest.raises(InvalidChoice, match="not on this vote"):
        store.tonight.cast_vote(ann.token, vote.id, 4, YES)
    with pytest.raises(MemberNotFound):
        store.tonight.cast_vote("not-a-token", vote.id, 1, YES)
    stranger_room = store.tonight.create_hosted_room("Elsewhere")
    stranger = store.add_member(stranger_room.code, "Eve")
    with pytest.raises(VoteUnavailable, match="not in your room"):
        store.tonight.cast_vote(stranger.token, vote.id, 1, YES)
    store.tonight.close_vote(hosted.code, hosted.host_token)
    with pytest.raises(VoteUnavailable, match="closed"):
        store.tonight.cast_vote(bob.token, vote.id, 2, YES)


def test_a_tally_counts_answers_and_says_nothing_of_who(store, room):
    hosted, ann, bob = room
    store.add_member(hosted.code, "Cat")  # in the room, has not voted
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS[:3])
    for film, choice in zip(FILMS[:3], (YES, REWATCH, SKIP), strict=True):
        store.tonight.cast_vote(ann.token, vote.id, film, choice)
    store.tonight.cast_vote(bob.token, vote.id, 1, YES)  # Bob answered only one film so far
    tally = store.tonight.tally(hosted.code, vote)
    assert (tally.voted, tally.members) == (1, 3)
    assert tally.counts[1] == {YES: 2, REWATCH: 0, SKIP: 0, NO: 0}
    assert tally.counts[2][REWATCH] == 1 and tally.counts[3][SKIP] == 1
    for field in dataclasses.fields(Tally):  # nothing in a tally can name a member
        assert "member" not in field.name or field.name == "members"
    assert "Ann" not in repr(tally) and ann.token not in repr(tally)
    for film in (2, 3):
        store.tonight.cast_vote(bob.token, vote.id, film, NO)
    assert store.tonight.tally(hosted.code, vote).voted == 2


def test_seen_it_answers_record_the_film_as_seen(store, room):
    hosted, ann, _ = room
    store.set_rating(ann.token, 2, None)  # earlier: "haven't seen it"
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS)
    store.tonight.cast_vote(ann.token, vote.id, 1, REWATCH)
    store.tonight.cast_vote(ann.token, vote.id, 2, SKIP)
    assert store.tonight.seen_films(ann.token) == {1, 2}
    assert 2 not in store.answers(ann.token)  # "haven't seen it" is withdrawn by "seen it"
    assert store.tonight.room_seen(hosted.code) == {"Ann": {1, 2}}
    store.tonight.cast_vote(ann.token, vote.id, 1, YES)  # a Yes says she has not seen it after all
    assert store.tonight.seen_films(ann.token) == {2}
    store.tonight.set_seen(ann.token, 2, False)
    assert store.tonight.seen_films(ann.token) == set()


def test_votes_and_seen_films_survive_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = Store(url)
    hosted = first.tonight.create_hosted_room("R")
    ann = first.add_member(hosted.code, "Ann")
    vote = first.tonight.open_vote(hosted.code, hosted.host_token, FILMS)
    first.tonight.cast_vote(ann.token, vote.id, 3, REWATCH)
    first.dispose()
    again = Store(url)
    assert again.tonight.is_host(hosted.code, hosted.host_token)
    assert again.tonight.latest_vote(hosted.code) == vote
    assert again.tonight.my_votes(ann.token, vote.id) == {3: REWATCH}
    assert again.tonight.seen_films(ann.token) == {3}
    again.dispose()


def test_many_members_voting_at_once_lose_nothing(store):
    hosted = store.tonight.create_hosted_room("Busy")
    people = [store.add_member(hosted.code, f"m{i}") for i in range(12)]
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS)
    barrier = threading.Barrier(len(people))

    def vote_all(i: int) -> dict[int, str]:
        barrier.wait(timeout=60)
        mine = {}
        for j, film in enumerate(FILMS):
            choice = CHOICES[(i + j) % len(CHOICES)]
            store.tonight.cast_vote(people[i].token, vote.id, film, CHOICES[(i + j + 1) % 4])
            store.tonight.cast_vote(
                people[i].token, vote.id, film, choice
            )  # the second answer wins
            mine[film] = choice
        return mine

    with ThreadPoolExecutor(len(people)) as pool:
        expected = list(pool.map(vote_all, range(len(people))))
    tally = store.tonight.tally(hosted.code, vote)
    assert tally.voted == len(people)
    for film in FILMS:
        for choice in CHOICES:
            assert tally.counts[film][choice] == sum(e[film] == choice for e in expected)
    for person, mine in zip(people, expected, strict=True):
        assert store.tonight.my_votes(person.token, vote.id) == mine


def test_the_room_stamp_changes_with_everything_that_shapes_the_picks(store, room):
    hosted, ann, _ = room
    stamps = [store.room_stamp(hosted.code)]
    assert store.room_stamp(hosted.code) == stamps[0]  # nothing changed, same stamp

    def changed(action) -> None:
        action()
        stamps.append(store.room_stamp(hosted.code))
        assert stamps[-1] != stamps[-2], action

    changed(lambda: store.add_member(hosted.code, "Cat"))
    changed(lambda: store.set_rating(ann.token, 1, 4.0))
    changed(lambda: store.set_rating(ann.token, 1, 3.5))  # same film, new stars
    changed(lambda: store.clear_rating(ann.token, 1))
    changed(lambda: store.tonight.set_seen(ann.token, 7))
    changed(lambda: store.mark_watched(hosted.code, 9))
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS)
    stamps.append(store.room_stamp(hosted.code))
    assert stamps[-1] != stamps[-2]
    changed(lambda: store.tonight.cast_vote(ann.token, vote.id, 1, NO))
    changed(lambda: store.tonight.close_vote(hosted.code, hosted.host_token))
    other = store.tonight.create_hosted_room("Other room")
    before = store.room_stamp(hosted.code)
    store.set_rating(store.add_member(other.code, "Zed").token, 5, 5.0)  # another room
    assert store.room_stamp(hosted.code) == before


def test_the_vote_is_only_the_tonight_part(store, room):
    """One way to the vote: ``store.tonight``. The Store itself has no vote methods (they were
    aliases once; every caller now names the part)."""
    hosted, ann, _ = room
    for name in ("create_hosted_room", "open_vote", "cast_vote", "tally", "latest_vote"):
        assert not hasattr(store, name) and callable(getattr(store.tonight, name)), name
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, FILMS[:2])
    assert store.tonight.latest_vote(hosted.code) == vote
    store.tonight.cast_vote(ann.token, vote.id, FILMS[0], YES)
    assert store.tonight.my_votes(ann.token, vote.id) == {FILMS[0]: YES}
