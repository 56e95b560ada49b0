"""A small, bounded run of the load test (tools/loadtest.py) and checks that its checks can fail."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from app.store import NO, REWATCH, YES, Store
from engine.models import create
from tools.loadtest import LoadConfig, RoomPicker, _hide_password, main, run, to_markdown, verify
from tools.loadtest_evening import Evening, verify_votes
from tools.loadtest_member import Outcome, latency_summary


@pytest.fixture(scope="module")
def baseline(embedded):
    return create("baseline").fit(embedded)


def test_small_load_run_loses_nothing_and_reports_latency(embedded, baseline):
    cfg = LoadConfig(rooms=3, members=9, ratings=6, unseen=2, picks=2, model="baseline",
                     time_limit=90)  # fmt: skip
    result = run(cfg, catalogue=embedded, model=baseline)
    assert result["errors"] == 0, result["error_samples"]
    assert result["ok"]
    assert (result["lost"], result["wrong"], result["extra"]) == (0, 0, 0)
    assert result["watched_mismatch"] == 0
    assert result["answers_written"] >= 9 * (6 + 2)  # plus stars given to films seen in the vote
    assert result["picks_asked"] == 9 * 2 and result["short_picks"] == 0
    picks = result["latency"]["group_picks"]
    assert picks["n"] == 18 and 0 < picks["p50_ms"] <= picks["p95_ms"] <= picks["max_ms"]
    stars_in_vote = result["latency"]["set_rating"]["n"] - 9 * (6 + 2 + 1)  # one changed
    assert stars_in_vote > 0  # some members gave stars to films they had seen
    # Tonight's vote in every room: 5 films per member, one answer changed, all counted
    assert result["latency"]["open_vote"]["n"] == 3 and result["votes_cast"] == 9 * 6
    assert result["latency"]["cast_vote"]["n"] == 9 * 6 and result["latency"]["tally"]["n"] == 9
    assert (result["wrong_tally"], result["wrong_vote_answers"], result["wrong_seen"]) == (0, 0, 0)
    md = to_markdown(result)
    assert "| group picks" in md and "lost answers: 0" in md
    assert "| answer one film of the vote | 54 |" in md and "Tallies that miscount: 0" in md


def test_room_picker_reads_the_room_and_excludes_rated_and_watched(tmp_path, embedded, baseline):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    room = store.create_room("R")
    ids = embedded.item_ids
    popular = ids[np.argsort(-embedded.item_counts())[:20]]
    ann = store.add_member(room.code, "Ann")
    bob = store.add_member(room.code, "<b>Bob</b>")
    store.add_member(room.code, "Quiet")  # answered nothing: still part of the group
    for m in popular[:5]:
        store.set_rating(ann.token, int(m), 5.0)
    store.set_rating(bob.token, int(popular[5]), 1.0)
    store.set_rating(bob.token, int(popular[6]), None)  # haven't seen: not a rating
    first = RoomPicker(baseline, embedded, k=10)(store, room.code)
    store.mark_watched(room.code, int(first["movieId"].iloc[0]))
    picks = RoomPicker(baseline, embedded, k=10)(store, room.code)
    assert len(picks) == 10
    assert {"pred:Ann", "pred:<b>Bob</b>", "pred:Quiet"} <= set(picks.columns)
    banned = set(popular[:6].tolist()) | store.watched(room.code)
    assert not banned & set(picks["movieId"].tolist())
    members, watched = RoomPicker(baseline, embedded).members(store, room.code)
    assert [len(m.items) for m in members] == [5, 1, 0]
    assert len(watched) == 1
    store.dispose()


def test_verify_counts_lost_wrong_and_unexpected_answers(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    room = store.create_room("R")
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, 4.0)
    store.set_rating(ann.token, 2, None)
    store.set_rating(ann.token, 3, 2.0)
    out = Outcome()
    out.expected[room.code] = {("Ann", 1): 4.0, ("Ann", 2): 3.0, ("Ann", 9): 5.0}
    out.watched[room.code] = {7}
    assert verify(store, out) == {"lost": 1, "wrong": 1, "extra": 1, "watched_mismatch": 1}
    store.dispose()


def test_failing_picks_are_reported_not_raised(embedded):
    def broken(store, room_code):
        raise RuntimeError("model exploded")

    cfg = LoadConfig(rooms=2, members=4, ratings=3, unseen=1, picks=1, time_limit=60)
    result = run(cfg, catalogue=embedded, pick=broken)
    assert not result["ok"]
    assert result["errors"] == 4
    assert "model exploded" in result["error_samples"][0]
    assert result["lost"] == 0  # answers were still all saved


def test_the_time_limit_stops_members_by_themselves(embedded):
    def slow(store, room_code):
        time.sleep(0.3)
        return pd.DataFrame({"movieId": range(10)})

    cfg = LoadConfig(rooms=1, members=2, ratings=30, unseen=0, picks=30, time_limit=0.5)
    t0 = time.perf_counter()
    result = run(cfg, catalogue=embedded, pick=slow)
    assert time.perf_counter() - t0 < 20
    assert result["stopped_early"] == 2 and not result["ok"]
    assert result["lost"] == 0  # what was written before stopping is all there


def test_only_local_databases_are_load_tested(embedded):
    with pytest.raises(SystemExit, match="local database"):
        run(LoadConfig(db_url="postgresql+psycopg://u@db.example.com/x"), catalogue=embedded)


def test_latency_summary_percentiles():
    s = latency_summary([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert s["n"] == 100 and s["max_ms"] == 100.0
    assert s["p50_ms"] == pytest.approx(50.5) and s["p95_ms"] == pytest.approx(95.05)
    assert latency_summary([]) == {"n": 0}


def test_command_line_writes_the_figures(tmp_path, embedded):
    args = ["--model", "baseline", "--members", "2", "--rooms", "1", "--ratings", "2"]
    args += ["--unseen", "0", "--picks", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    result = json.loads((tmp_path / "loadtest.json").read_text())
    assert result["ok"] and result["picks_asked"] == 2
    md = (tmp_path / "loadtest.md").read_text()
    assert "Command: `python -m tools.loadtest --model baseline" in md


def test_database_passwords_stay_out_of_the_figures():
    shown = _hide_password("postgresql+psycopg://u:hunter2@127.0.0.1:5432/db")
    assert "hunter2" not in shown and "127.0.0.1" in shown
    assert _hide_password("--rooms") == "--rooms"


def test_verify_votes_catches_a_miscount_and_a_lost_seen_film(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    hosted = store.tonight.create_hosted_room("R")
    ann = store.add_member(hosted.code, "Ann")
    bob = store.add_member(hosted.code, "Bob")
    evening = Evening()
    evening.add_room(hosted.code, hosted.host_token)
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, [1, 2, 3])
    evening.votes[hosted.code] = vote
    for film, choice in ((1, YES), (2, REWATCH), (3, NO)):
        store.tonight.cast_vote(ann.token, vote.id, film, choice)
    evening.choices[hosted.code] = {
        (ann.token, 1): YES,
        (ann.token, 2): REWATCH,
        (ann.token, 3): NO,
    }
    assert verify_votes(store, evening) == {
        "wrong_tally": 0,
        "wrong_vote_answers": 0,
        "wrong_seen": 0,
    }
    store.tonight.cast_vote(bob.token, vote.id, 1, NO)  # a vote nobody recorded writing
    store.tonight.set_seen(ann.token, 2, False)  # a seen film lost
    assert verify_votes(store, evening) == {
        "wrong_tally": 1,
        "wrong_vote_answers": 0,
        "wrong_seen": 1,
    }
    store.dispose()


def test_room_picker_folds_in_seen_films(tmp_path, embedded, baseline):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    hosted = store.tonight.create_hosted_room("R")
    ann = store.add_member(hosted.code, "Ann")
    ids = embedded.item_ids
    store.set_rating(ann.token, int(ids[0]), 4.0)
    store.tonight.set_seen(ann.token, int(ids[0]))  # rated as well: counts by its stars
    store.tonight.set_seen(ann.token, int(ids[5]))
    (member,), _ = RoomPicker(baseline, embedded).members(store, hosted.code)
    assert member.items.tolist() == [0] and member.seen.tolist() == [5]
    store.dispose()
