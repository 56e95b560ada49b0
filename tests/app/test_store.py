"""app.store: rooms, members, answers, watched films; every error a person can hit."""

from __future__ import annotations

import math
import os
import re
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import (
    RATING_VALUES,
    AnswerCount,
    DatabaseDamaged,
    DatabaseLocked,
    DatabaseReadOnly,
    DatabaseUnavailable,
    InvalidName,
    InvalidRating,
    MemberNotFound,
    NameTaken,
    RoomNotFound,
    Store,
    StoreError,
    UnknownMovie,
)

URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.fixture
def db(tmp_path):
    return tmp_path / "movienight.db"


@pytest.fixture
def store(db):
    s = Store(f"sqlite:///{db}")
    yield s
    s.dispose()


@pytest.fixture
def room(store):
    return store.create_room("Friday night")


# ------------------------------------------------------------------ rooms


def test_room_codes_are_long_random_and_url_safe(store):
    codes = {store.create_room(f"r{i}").code for i in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert URLSAFE.match(code)
        assert len(code) * 6 >= 128  # base64url: 6 bits per character


def test_room_round_trip_by_code_and_by_pasted_link(store, room):
    assert store.room(room.code) == room
    assert store.room(f"  {room.code}\n") == room
    assert store.room(f"http://localhost:8501/?room={room.code}&member=abc") == room
    assert room.created_at.tzinfo is not None
    assert room.dataset == "embedded"


@pytest.mark.parametrize("code", ["nope", "", "   ", "x" * 10_000, None])
def test_unknown_room_code_is_a_friendly_room_not_found(store, room, code):
    with pytest.raises(RoomNotFound, match="no room with the code") as err:
        store.room(code)
    assert len(str(err.value)) < 300  # a 10,000-character code is not echoed back whole


def test_mistyped_code_is_not_found(store, room):
    typo = room.code[:-1] + ("A" if room.code[-1] != "A" else "B")
    with pytest.raises(RoomNotFound):
        store.room(typo)
    with pytest.raises(RoomNotFound):
        store.add_member(typo, "Ann")


# ------------------------------------------------------------------ names


def test_member_names_are_trimmed_and_tokens_are_secret(store, room):
    ann = store.add_member(room.code, "  Ann \t")
    bob = store.add_member(room.code, "Bob")
    assert ann.name == "Ann"
    assert ann.room_id == room.id and ann.room_code == room.code
    assert ann.token != bob.token
    for m in (ann, bob):
        assert URLSAFE.match(m.token) and len(m.token) * 6 >= 128
        assert m.token != room.code


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_names_are_refused(store, room, name):
    with pytest.raises(InvalidName, match="cannot be empty"):
        store.add_member(room.code, name)


def test_a_10000_character_name_gets_a_clear_message(store, room):
    with pytest.raises(InvalidName) as err:
        store.add_member(room.code, "a" * 10_000)
    msg = str(err.value)
    assert "10,000 characters" in msg and "at most 40" in msg
    assert len(msg) < 200


def test_name_length_limit_is_40_after_trimming(store, room):
    assert store.add_member(room.code, " " + "b" * 40 + " ").name == "b" * 40
    with pytest.raises(InvalidName):
        store.add_member(room.code, "c" * 41)


def test_control_characters_and_non_text_are_refused(store, room):
    with pytest.raises(InvalidName, match="control characters"):
        store.add_member(room.code, "Ann\nBob")
    with pytest.raises(InvalidName, match="control characters"):
        store.add_member(room.code, "A\x00B")
    with pytest.raises(InvalidName, match="must be text"):
        store.add_member(room.code, 42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "x'); DROP TABLE members; --",
        "Zoë 🍿",
    ],
)
def test_hostile_or_unusual_names_are_stored_as_the_text_they_are(store, room, name):
    m = store.add_member(room.code, name)
    assert m.name == name
    assert store.member(m.token).name == name
    assert [x.name for x in store.members(room.code)] == [name]
    assert store.answer_counts(room.code) == {name: AnswerCount(rated=0, unseen=0)}


def test_names_are_unique_per_room_ignoring_case(store, room):
    store.add_member(room.code, "Ann")
    for clash in ("ann", "ANN", " Ann ", "Ａｎｎ"):  # the last one is full-width
        with pytest.raises(NameTaken, match="already called 'Ann'"):
            store.add_member(room.code, clash)
    other = store.create_room("Other")
    assert store.add_member(other.code, "Ann").name == "Ann"


def test_room_names_are_validated_too(store):
    with pytest.raises(InvalidName):
        store.create_room("  ")
    with pytest.raises(InvalidName, match="at most 60"):
        store.create_room("r" * 61)


# ------------------------------------------------------------------ tokens and rooms


@pytest.mark.parametrize("token", ["", "nope", "x" * 10_000, None, 123])
def test_bad_tokens_are_member_not_found(store, room, token):
    store.add_member(room.code, "Ann")
    with pytest.raises(MemberNotFound, match="not valid"):
        store.member(token)
    with pytest.raises(MemberNotFound):
        store.set_rating(token, 1, 4.0)
    with pytest.raises(MemberNotFound):
        store.answers(token)


def test_a_token_for_another_room_cannot_act_in_this_one(store, room):
    ann = store.add_member(room.code, "Ann")
    other = store.create_room("Other")
    eve = store.add_member(other.code, "Eve")
    assert store.member_in_room(room.code, ann.token) == ann
    with pytest.raises(MemberNotFound, match="different room"):
        store.member_in_room(room.code, eve.token)
    with pytest.raises(RoomNotFound):
        store.member_in_room("nope", ann.token)
    # Eve's answers land in her own room only.
    store.set_rating(eve.token, 10, 5.0)
    assert store.room_answers(room.code).empty
    assert store.room_answers(other.code)["member"].tolist() == ["Eve"]


def test_a_token_only_changes_its_own_members_answers(store, room):
    ann = store.add_member(room.code, "Ann")
    bob = store.add_member(room.code, "Bob")
    store.set_rating(ann.token, 1, 4.0)
    store.set_rating(bob.token, 1, 2.0)
    store.set_rating(bob.token, 2, None)
    store.clear_rating(bob.token, 1)
    assert store.answers(ann.token) == {1: 4.0}
    assert store.answers(bob.token) == {2: None}


# ------------------------------------------------------------------ answers


def test_set_rating_is_an_upsert(store, room):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 7, 2.5)
    first = store.room_answers(room.code)["updated_at"].iloc[0]
    store.set_rating(ann.token, 7, 4.5)
    frame = store.room_answers(room.code)
    assert len(frame) == 1
    assert frame["rating"].iloc[0] == 4.5
    assert frame["updated_at"].iloc[0] >= first
    store.set_rating(ann.token, 7, None)
    assert store.answers(ann.token) == {7: None}


def test_havent_seen_is_stored_as_none_and_counted_separately(store, room):
    ann = store.add_member(room.code, "Ann")
    bob = store.add_member(room.code, "Bob")
    carl = store.add_member(room.code, "Carl")
    store.set_rating(ann.token, 1, 5.0)
    store.set_rating(ann.token, 2, None)
    store.set_rating(ann.token, 3, None)
    store.set_rating(bob.token, 1, 0.5)
    assert store.answers(ann.token) == {1: 5.0, 2: None, 3: None}
    assert store.answer_counts(room.code) == {
        "Ann": AnswerCount(rated=1, unseen=2),
        "Bob": AnswerCount(rated=1, unseen=0),
        "Carl": AnswerCount(rated=0, unseen=0),
    }
    frame = store.room_answers(room.code)
    assert list(frame.columns) == ["member_id", "member", "movie_id", "rating", "updated_at"]
    unseen = frame[frame["rating"].isna()]
    assert sorted(unseen["movie_id"]) == [2, 3] and set(unseen["member"]) == {"Ann"}
    assert frame["member_id"].dtype == np.int64 and frame["movie_id"].dtype == np.int64
    assert str(frame["updated_at"].dt.tz) == "UTC"
    assert carl.id not in set(frame["member_id"])


def test_room_answers_of_an_empty_room_has_the_columns(store, room):
    frame = store.room_answers(room.code)
    assert frame.empty
    assert list(frame.columns) == ["member_id", "member", "movie_id", "rating", "updated_at"]


@pytest.mark.parametrize("value", RATING_VALUES)
def test_every_half_star_is_accepted(store, room, value):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, value)
    assert store.answers(ann.token) == {1: value}


def test_numpy_and_int_ratings_are_accepted(store, room):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, np.float32(3.5))
    store.set_rating(ann.token, 2, 4)
    store.set_rating(ann.token, np.int64(3), np.float64(0.5))
    assert store.answers(ann.token) == {1: 3.5, 2: 4.0, 3: 0.5}


@pytest.mark.parametrize(
    "bad", [0, 0.0, -1, 5.5, 6, 3.3, 4.25, math.nan, math.inf, 1e308, "4", True]
)
def test_invalid_ratings_list_the_allowed_values(store, room, bad):
    ann = store.add_member(room.code, "Ann")
    with pytest.raises(InvalidRating) as err:
        store.set_rating(ann.token, 1, bad)
    assert "0.5, 1, 1.5" in str(err.value) and "5" in str(err.value)
    assert store.answers(ann.token) == {}


def test_unknown_films_are_refused_when_the_catalogue_is_given(db):
    s = Store(f"sqlite:///{db}", movie_ids=[1, 2, 3])
    room = s.create_room("R")
    ann = s.add_member(room.code, "Ann")
    s.set_rating(ann.token, 2, 4.0)
    with pytest.raises(UnknownMovie, match="no film with movieId 99"):
        s.set_rating(ann.token, 99, 4.0)
    with pytest.raises(UnknownMovie):
        s.mark_watched(room.code, 99)
    assert s.answers(ann.token) == {2: 4.0}
    s.dispose()


@pytest.mark.parametrize("bad", [-1, 0, 2**40, 1.5, "12", None])
def test_malformed_movie_ids_are_refused(store, room, bad):
    ann = store.add_member(room.code, "Ann")
    with pytest.raises(UnknownMovie):
        store.set_rating(ann.token, bad, 4.0)


# ------------------------------------------------------------------ members and watched


def test_members_are_listed_in_join_order(store, room):
    names = ["Zed", "Ann", "Mia"]
    for n in names:
        store.add_member(room.code, n)
    assert [m.name for m in store.members(room.code)] == names
    assert store.members(store.create_room("Empty").code) == []


def test_watched_set_is_idempotent_and_per_room(store, room):
    other = store.create_room("Other")
    store.mark_watched(room.code, 5)
    store.mark_watched(room.code, 5)
    store.mark_watched(room.code, 9)
    store.mark_watched(other.code, 1)
    assert store.watched(room.code) == {5, 9}
    store.unmark_watched(room.code, 5)
    store.unmark_watched(room.code, 12345)  # not watched: nothing to do
    assert store.watched(room.code) == {9}
    assert store.watched(other.code) == {1}
    with pytest.raises(RoomNotFound):
        store.mark_watched("nope", 5)


def test_everything_survives_a_new_store_on_the_same_file(db, store, room):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, 4.0)
    store.mark_watched(room.code, 2)
    again = Store(f"sqlite:///{db}")
    assert again.answers(ann.token) == {1: 4.0}
    assert again.watched(room.code) == {2}
    assert again.member(ann.token) == ann
    again.dispose()


def test_sqlite_uses_wal_and_a_busy_timeout(store, db):
    store.create_room("x")
    with store._db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


# ------------------------------------------------------------------ where the database is


def test_default_location_is_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MOVIENIGHT_DB_URL", raising=False)
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(tmp_path / "d"))
    s = Store()
    s.create_room("x")
    assert (tmp_path / "d" / "movienight.db").is_file()
    s.dispose()


def test_db_url_from_the_environment(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MOVIENIGHT_DB_URL", f"sqlite:///{target}")
    s = Store()
    code = s.create_room("x").code
    assert target.is_file()
    assert Store(f"sqlite:///{target}").room(code).name == "x"
    s.dispose()


def test_in_memory_store_works_across_threads():
    s = Store("sqlite://")
    room = s.create_room("mem")
    ms = [s.add_member(room.code, f"m{i}") for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda m: [s.set_rating(m.token, j, 3.0) for j in range(1, 11)], ms))
    assert len(s.room_answers(room.code)) == 40


# ------------------------------------------------------------------ damaged state


def test_a_deleted_data_folder_is_recreated_on_next_use(tmp_path):
    folder = tmp_path / "data"
    s = Store(f"sqlite:///{folder / 'movienight.db'}")
    old = s.create_room("old")
    s.add_member(old.code, "Ann")
    shutil.rmtree(folder)
    room = s.create_room("fresh")  # no crash: folder and schema are back
    assert (folder / "movienight.db").is_file()
    ann = s.add_member(room.code, "Ann")
    s.set_rating(ann.token, 1, 4.0)
    assert Store(f"sqlite:///{folder / 'movienight.db'}").answers(ann.token) == {1: 4.0}
    with pytest.raises(RoomNotFound):  # what was in the deleted file is gone, said clearly
        s.room(old.code)
    s.dispose()


def test_a_read_only_database_says_so(db, store, room):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, 4.0)
    store.dispose()
    ro = Store(f"sqlite:///file:{db}?mode=ro&uri=true")
    assert ro.answers(ann.token) == {1: 4.0}  # reading still works
    with pytest.raises(DatabaseReadOnly, match=r"cannot be written.*tell the organiser") as err:
        ro.set_rating(ann.token, 2, 3.0)
    assert re.search(r"read-only.*writable", err.value.detail)  # the operator's text
    assert str(db) in err.value.detail and str(db) not in str(err.value)
    assert "OperationalError" not in err.value.detail
    with pytest.raises(DatabaseReadOnly):
        ro.create_room("x")
    ro.dispose()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_file_says_so(db, store, room):
    ann = store.add_member(room.code, "Ann")
    store.dispose()
    for p in db.parent.glob("movienight.db*"):
        p.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        s = Store(f"sqlite:///{db}")
        with pytest.raises(StoreError, match=r"read-only|cannot be opened"):
            s.set_rating(ann.token, 2, 3.0)
    finally:
        db.parent.chmod(0o755)


def test_a_locked_database_says_so_and_works_once_released(db, store, room):
    ann = store.add_member(room.code, "Ann")
    impatient = Store(f"sqlite:///{db}", busy_timeout=0.2)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLocked, match=r"busy right now\. Try again") as err:
            impatient.set_rating(ann.token, 1, 4.0)
        assert re.search(r"locked by another program.*Try again", err.value.detail)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    impatient.set_rating(ann.token, 1, 4.0)
    assert store.answers(ann.token) == {1: 4.0}
    impatient.dispose()


def test_a_file_that_is_not_a_database_says_so(tmp_path):
    bad = tmp_path / "movienight.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseDamaged, match=r"damaged.*tell the organiser") as err:
        Store(f"sqlite:///{bad}")
    assert re.search(r"damaged.*move it aside", err.value.detail) and str(bad) in err.value.detail
    assert str(tmp_path) not in str(err.value)


def test_bad_urls_and_missing_drivers_are_explained():
    with pytest.raises(DatabaseUnavailable) as err:
        Store("not a url at all")
    assert "not a database URL" in err.value.detail
    with pytest.raises(DatabaseUnavailable) as err:
        Store("mysql+nosuchdriver://u:secret@localhost/db")
    assert "driver" in err.value.detail and "secret" not in err.value.detail
    assert "localhost" not in str(err.value) and "mysql" not in str(err.value)


def test_unreachable_server_is_explained_without_the_password():
    pytest.importorskip("psycopg")
    with pytest.raises(DatabaseUnavailable) as err:
        Store("postgresql+psycopg://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
    assert "hunter2" not in err.value.detail and "hunter2" not in str(err.value)
    assert "MOVIENIGHT_DB_URL" in err.value.detail
    assert "127.0.0.1" not in str(err.value)  # a guest reads str(); the operator the log


def test_sql_in_input_is_data_not_code(store, room):
    evil = "'; DELETE FROM answers; --"
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, 4.0)
    with pytest.raises(RoomNotFound):
        store.room(evil)
    with pytest.raises(MemberNotFound):
        store.set_rating(evil, 1, 4.0)
    assert store.answers(ann.token) == {1: 4.0}
    assert isinstance(store.room_answers(room.code), pd.DataFrame)


def test_a_deleted_database_file_with_its_wal_left_behind_starts_clean(db, store, room):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, 4.0)
    db.unlink()  # only the main file: -wal and -shm may still be there
    fresh = store.create_room("fresh")
    bob = store.add_member(fresh.code, "Bob")
    store.set_rating(bob.token, 2, 3.0)
    assert store.answers(bob.token) == {2: 3.0}
    with pytest.raises(MemberNotFound):
        store.answers(ann.token)
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_plain_postgresql_urls_use_the_pinned_driver():
    pytest.importorskip("psycopg")
    for scheme in ("postgresql", "postgres"):
        with pytest.raises(DatabaseUnavailable) as err:
            Store(f"{scheme}://u:pw@127.0.0.1:1/db?connect_timeout=2")
        assert "driver" not in err.value.detail  # it got as far as connecting


def test_two_stores_follow_a_deleted_file_to_the_same_new_one(db, store, room):
    # Two Store objects stand for two app processes: neither may keep writing into the old,
    # unlinked file once the other has recreated it.
    other = Store(f"sqlite:///{db}")
    assert other.room(room.code) == room
    for p in db.parent.glob("movienight.db*"):
        p.unlink()
    fresh = store.create_room("fresh")
    ann = other.add_member(fresh.code, "Ann")  # `other` must see the room `store` just made
    other.set_rating(ann.token, 5, 4.5)
    assert store.answers(ann.token) == {5: 4.5}
    other.dispose()


# ------------------------------------------------------------------ properties


@pytest.fixture(scope="module")
def mem_room():
    s = Store("sqlite://")
    return s, s.create_room("props")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=60))
def test_any_text_is_either_a_clean_name_or_invalid_name(mem_room, text):
    s, room = mem_room
    try:
        m = s.add_member(room.code, text)
    except (InvalidName, NameTaken) as exc:
        m = None
        assert str(exc)  # a message, never a bare error from deep inside
    if m is not None:  # accepted: a clean name, stored as shown
        assert m.name == m.name.strip() and 1 <= len(m.name) <= 40
        assert s.member(m.token).name == m.name


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10)))
def test_a_number_is_accepted_exactly_when_it_is_a_half_star(mem_room, value):
    s, room = mem_room
    token = (
        s.members(room.code)[0].token
        if s.members(room.code)
        else s.add_member(room.code, "P").token
    )
    valid = value in RATING_VALUES
    try:
        s.set_rating(token, 1, value)
        accepted = True
    except InvalidRating:
        accepted = False
    assert accepted == valid
    if accepted:
        assert s.answers(token)[1] == float(value)


def test_an_old_token_never_writes_into_a_recreated_files_member(db, store, room):
    ann = store.add_member(room.code, "Ann")
    store.set_rating(ann.token, 1, 4.0)  # the store now knows Ann's member id
    db.unlink()
    other = Store(f"sqlite:///{db}")  # another process recreates the file first
    bob = other.add_member(other.create_room("new").code, "Bob")
    assert bob.id == ann.id  # same id, different person
    with pytest.raises(MemberNotFound):
        store.set_rating(ann.token, 2, 1.0)
    assert other.answers(bob.token) == {}
    other.dispose()
