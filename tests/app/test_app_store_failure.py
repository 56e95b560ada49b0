"""What a guest sees when the database fails: plain words and who can fix it, never the
server's paths, the database URL or a traceback (the operator's details go to the server log)."""

from __future__ import annotations

import logging

import pytest
from app_helpers import (
    PAGES,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    deck,
    open_app,
    queue_films,
    seed_room,
)

pytestmark = pytest.mark.usefixtures("app_env")


def test_a_damaged_database_shows_every_page_plain_words_and_logs_the_path(
    tmp_path, monkeypatch, caplog
):
    bad = tmp_path / "secret-folder" / "movienight.db"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not sqlite" * 100)
    monkeypatch.setenv("MOVIENIGHT_DB_URL", f"sqlite:///{bad}")
    caplog.set_level(logging.WARNING, logger="movienight.store")
    for page in PAGES:
        at = open_app(room="ABCDEFGH", page=page)  # open_app asserts: no exception on the page
        shown = all_messages(at) + " ".join(str(e.value) for e in at.error)
        if page != "lab":  # a guest's Lab is only the sign-in: it may not touch the database
            assert "database is damaged" in shown and "tell the organiser" in shown, page
        assert "secret-folder" not in shown and "sqlite" not in shown.lower(), page
    assert any(str(bad) in r.getMessage() for r in caplog.records)  # the operator's copy


def test_an_answer_the_database_cannot_save_says_so_without_the_path(app_env, monkeypatch):  # noqa: F811
    code, tokens = seed_room("Read-only night", {"Ann": {}})
    at = open_app(room=code, member=tokens["Ann"])
    film = queue_films(at)[0]
    db = app_env.removeprefix("sqlite:///")
    monkeypatch.setenv("MOVIENIGHT_DB_URL", f"sqlite:///file:{db}?mode=ro&uri=true")
    at.switch_page(PAGES["room"]).run()  # the next run opens the store at the new URL
    assert_ok(at)
    answer(at, film, "4.0")
    shown = deck(at)
    assert "nothing can be saved" in shown["retry"] and "tell the organiser" in shown["retry"]
    assert not shown["ack"] or shown["ack"]["seq"] == 0  # kept in the browser for the next try
    assert db not in all_messages(at) + shown["retry"]
