"""``app.services.room_input``: the one way from a room in the store to the engine's input, called
without a running app (a plain Store in a temporary folder, a hand-made movieId index)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from app.services.room_input import PicksOptions, room_input
from app.store import NO, SKIP, YES, Store

INDEX = pd.Index([10, 20, 30, 40, 50, 60, 70, 80])  # movieId -> item index (its position)


def test_members_answers_and_every_exclusion_come_from_the_room(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    hosted = store.tonight.create_hosted_room("R")
    ann = store.add_member(hosted.code, "Ann")
    bob = store.add_member(hosted.code, "Bob")
    store.add_member(hosted.code, "Quiet")  # answered nothing: still in the group
    store.set_rating(ann.token, 10, 5.0)
    store.set_rating(ann.token, 20, None)  # haven't seen it: evidence, neither rated nor seen
    store.set_rating(bob.token, 40, None)  # then marked seen: seen wins
    store.set_rating(ann.token, 999, 4.0)  # not in this catalogue: dropped
    store.set_rating(bob.token, 30, 2.0)
    store.tonight.set_seen(bob.token, 40)
    store.mark_watched(hosted.code, 50)
    # a closed vote without a match: 60 and 70 were answered (rejected), 80 skipped
    first = store.tonight.open_vote(hosted.code, hosted.host_token, [60, 70, 80])
    store.tonight.cast_vote(ann.token, first.id, 60, YES)
    store.tonight.cast_vote(bob.token, first.id, 60, NO)
    store.tonight.cast_vote(ann.token, first.id, 70, NO)
    store.tonight.cast_vote(bob.token, first.id, 80, SKIP)
    store.tonight.close_vote(hosted.code, hosted.host_token)

    room = room_input(store, hosted.code, INDEX, PicksOptions(genres=("Drama",), min_ratings=5))
    assert room.names == ["Ann", "Bob", "Quiet"]
    ann_m, bob_m, quiet_m = room.members
    assert ann_m.items.tolist() == [0] and ann_m.values.tolist() == [5.0]
    assert ann_m.seen.tolist() == [] and ann_m.unseen.tolist() == [1]
    assert bob_m.unseen.tolist() == []
    assert bob_m.items.tolist() == [2] and bob_m.seen.tolist() == [3, 7]  # "seen it, skip": seen
    assert len(quiet_m.items) == 0
    # watched (50), rejected by the closed vote (60, 70), skipped (80)
    assert room.exclude == [4, 5, 6, 7]
    assert room.filters.genres == ("Drama",) and room.filters.min_ratings == 5
    # "tonight" is the last hours only: a day later the vote rules nothing out
    later = room_input(store, hosted.code, INDEX, now=datetime.now(UTC) + timedelta(days=1))
    assert later.exclude == [4]
    store.dispose()


def test_an_open_vote_rules_out_only_the_skipped_films(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    hosted = store.tonight.create_hosted_room("R")
    ann = store.add_member(hosted.code, "Ann")
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, [10, 20])
    store.tonight.cast_vote(ann.token, vote.id, 10, NO)  # not decided while the vote is open
    store.tonight.cast_vote(ann.token, vote.id, 20, SKIP)  # out at once: she has seen it
    assert room_input(store, hosted.code, INDEX).exclude == [1]
    store.dispose()
