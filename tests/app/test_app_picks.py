"""AppTest tests of the Picks page: group picks, strategies, filters, watched films, models, settings
in the URL, live updates."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from app_helpers import (
    APP,
    PAGES,
    TIMEOUT,
    add_member,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    create_room,
    open_app,
    picks_frame,
    queue_films,
    score_column,
    seed_room,
    store,
)
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from app.pages.picks import picks_table, score_text
from app.services import catalogue, models, room_input, rooms
from app.widgets.text import md
from engine.group import DEFAULT_STRATEGY, STRATEGIES, Member, distinct_lists, recommend

pytestmark = pytest.mark.usefixtures("app_env")

# Ann likes big action films, Bob likes dramas and dislikes action (MovieLens movieIds).
ANN = {260: 5.0, 2571: 5.0, 589: 4.5, 480: 4.0, 318: 2.0, 356: 1.5, 1: None}
BOB = {318: 5.0, 356: 5.0, 527: 4.5, 260: 1.0, 2571: 1.5, 593: None}


def member_columns(frame) -> list[str]:
    return list(frame.columns[3:])


def engine_picks(room_code: str, answers: dict[str, dict], strategy: str, exclude=()):
    """What the engine itself recommends for these answers (independent of the page code)."""
    cat = catalogue.get_catalogue()
    model, _ = models.get_model()
    index = {int(m): i for i, m in enumerate(cat.item_ids)}
    members = []
    for name, mine in answers.items():
        rated = {index[m]: r for m, r in mine.items() if r is not None}
        members.append(
            Member(name, np.array(list(rated), np.int64), np.array(list(rated.values())))
        )
    return recommend(model, cat, members, strategy=strategy, exclude=[index[m] for m in exclude])


def test_no_room_says_what_to_do():
    at = open_app(page="picks")
    assert "No room yet" in all_messages(at)
    assert not at.dataframe and not at.button


def test_ui_flow_two_members_rate_then_get_picks():
    at = open_app()
    code = create_room(at, "Flow room")
    add_member(at, "Ann")
    films = queue_films(at)
    for movie_id, stars in zip(films[:3], ["5.0", "4.0", "unseen"], strict=True):
        answer(at, movie_id, stars)
    friend = open_app(room=code)
    add_member(friend, "Bob")
    answer(friend, queue_films(friend)[0], "1.5")

    friend.switch_page("app/pages/picks.py").run()
    assert_ok(friend)
    frame = picks_frame(friend)
    assert len(frame) == 10
    assert member_columns(frame) == ["Ann", "Bob"]
    cat_labels = set(frame["Film"])

    for movie_id in films[:2]:  # films a member rated are never picked
        assert catalogue.film_by_movie_id(movie_id)["label"] not in cat_labels
    assert (
        len([h for h in friend.html if 'class="mn-bars"' in h.proto.body]) == 10
    )  # a bar chart per film


def test_strategy_selector_changes_the_blend():
    code, _ = seed_room("Strategies", {"Ann": ANN, "Bob": BOB})
    at = open_app(room=code, page="picks")
    assert at.selectbox(key="strategy").value == DEFAULT_STRATEGY
    for strategy, blend in [("least_misery", np.min), ("average", np.mean)]:
        at.selectbox(key="strategy").set_value(strategy).run()
        assert_ok(at)
        frame = picks_frame(at)
        preds = frame[["Ann", "Bob"]].to_numpy(float)
        np.testing.assert_allclose(frame[score_column(frame)], blend(preds, axis=1), atol=0.011)
        expected = engine_picks(code, {"Ann": ANN, "Bob": BOB}, strategy)
        assert frame["Film"].tolist() == expected["label"].tolist()
        rated = {catalogue.film_by_movie_id(m)["label"] for m in {**ANN, **BOB}}
        assert not set(frame["Film"]) & rated  # nobody is offered a film they rated or saw


def test_the_page_says_what_the_score_is_and_which_choices_change_nothing():
    answers = {"Ann": ANN, "Bob": BOB}
    code, _ = seed_room("Same lists", answers)
    # what the engine gives for each strategy, independent of the page
    frames = {name: engine_picks(code, answers, name) for name in STRATEGIES}
    same = {n: names for names in distinct_lists(frames) for n in names}
    # the fast test model (biases only) ranks alike for everyone, so choices must agree
    assert any(len(names) > 1 for names in same.values())
    at = open_app(room=code, page="picks")
    for name in ("average", "least_misery", "gfar", "xpo"):
        at.selectbox(key="strategy").set_value(name).run()
        assert_ok(at)
        assert md(f"Group score: {STRATEGIES[name].score_label}") in [c.value for c in at.caption]
        notes = [i.value for i in at.info if "changes nothing here" in i.value]
        others = [STRATEGIES[n].label for n in same[name] if n != name]
        if others:
            assert len(notes) == 1 and notes[0].endswith(
                f"as {md(', '.join(others))}: choosing between them changes nothing here."
            )
        else:
            assert not notes


def test_we_watched_it_removes_the_film_and_undo_brings_it_back():
    code, _ = seed_room("Watched", {"Ann": ANN, "Bob": BOB})
    at = open_app(room=code, page="picks")
    first = picks_frame(at)["Film"].iloc[0]
    button = next(b for b in at.button if b.key.startswith("watched:"))
    movie_id = int(button.key.split(":")[1])
    button.click().run()
    assert_ok(at)
    assert store().watched(code) == {movie_id}
    assert first not in picks_frame(at)["Film"].tolist()
    assert len(picks_frame(at)) == 10
    assert any("Watched together (1)" in e.label for e in at.expander)

    # A new session on the same room remembers it.
    again = open_app(room=code, page="picks")
    assert first not in picks_frame(again)["Film"].tolist()

    again.button(key=f"unwatch:{movie_id}").click().run()
    assert store().watched(code) == set()
    assert picks_frame(again)["Film"].iloc[0] == first


def test_filters_genre_decade_and_popularity():
    code, _ = seed_room("Filters", {"Ann": ANN, "Bob": BOB})
    at = open_app(room=code, page="picks")

    cat = catalogue.get_catalogue()
    by_label = cat.movies.set_index("label")
    counts = dict(zip(cat.movies["label"], cat.item_counts(), strict=True))

    at.multiselect(key="genres").set_value(["Comedy"]).run()
    at.select_slider(key="decades").set_value((1980, 1990)).run()
    at.slider(key="min_ratings").set_value(20).run()
    assert_ok(at)
    frame = picks_frame(at)
    assert len(frame) == 10
    for label in frame["Film"]:
        assert "Comedy" in by_label.loc[label, "genres"]
        assert 1980 <= by_label.loc[label, "year"] <= 1999
        assert counts[label] >= 20

    at.multiselect(key="genres").set_value(["Film-Noir", "Documentary"]).run()
    at.select_slider(key="decades").set_value((2010, 2010)).run()
    at.slider(key="min_ratings").set_value(100).run()
    assert_ok(at)
    assert "No films match these filters" in at.warning[0].value


@pytest.mark.parametrize("n_members", [0, 1, 12])
def test_rooms_of_any_size_and_members_who_rated_nothing(n_members):
    members = {f"P{i} <i>": (ANN if i == 0 else {}) for i in range(n_members)}
    code, _ = seed_room(f"Size {n_members}", members)
    at = open_app(room=code, page="picks")
    frame = picks_frame(at)
    assert len(frame) == 10
    assert member_columns(frame) == list(members)
    if n_members == 0:
        assert "Nobody has joined" in all_messages(at)
    elif n_members == 12:
        assert "Not rated anything yet" in all_messages(at)
        assert r"P1 \<i\>" in all_messages(at)  # names shown as text


def test_settings_survive_a_visit_to_another_page():
    code, _ = seed_room("Settings", {"Ann": ANN, "Bob": BOB})
    at = open_app(room=code, page="picks")
    at.selectbox(key="strategy").set_value("least_misery").run()
    at.multiselect(key="genres").set_value(["Comedy"]).run()
    at.slider(key="min_ratings").set_value(25).run()
    before = picks_frame(at)["Film"].tolist()
    at.switch_page(PAGES["room"]).run()
    assert_ok(at)
    assert "strategy" not in [box.key for box in at.selectbox]  # really on another page
    at.switch_page(PAGES["picks"]).run()
    assert_ok(at)
    assert at.selectbox(key="strategy").value == "least_misery"
    assert at.multiselect(key="genres").value == ["Comedy"]
    assert at.slider(key="min_ratings").value == 25
    assert picks_frame(at)["Film"].tolist() == before


def test_settings_live_in_the_url_so_a_refresh_or_a_shared_link_shows_the_same_picks():
    """KI-6: strategy and filters are query parameters; a new session on such a URL (a refresh,
    or a friend opening the shared link) shows those settings and the same list as the session
    that chose them. (The browser writing the URL as they change is in test_browser.py.)"""
    code, _ = seed_room("URL", {"Ann": ANN, "Bob": BOB})
    at = open_app(room=code, page="picks")
    at.selectbox(key="strategy").set_value("least_misery").run()
    at.multiselect(key="genres").set_value(["Comedy", "Drama"]).run()
    at.slider(key="min_ratings").set_value(25).run()
    assert_ok(at)
    chosen = picks_frame(at)["Film"].tolist()

    shared = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    shared.query_params.update(
        {"room": code, "strategy": "Least misery", "genres": ["Comedy", "Drama"],
         "min_ratings": "25"}
    )  # fmt: skip
    shared.switch_page(PAGES["picks"]).run()  # the link opens the Picks page itself
    assert_ok(shared)
    assert shared.selectbox(key="strategy").value == "least_misery"
    assert shared.multiselect(key="genres").value == ["Comedy", "Drama"]
    assert shared.slider(key="min_ratings").value == 25
    assert picks_frame(shared)["Film"].tolist() == chosen


def test_picks_follow_the_room_and_blend_only_when_it_changed(monkeypatch):
    """KI-5: a page that asks again gets the new room (a member joined and rated), and the
    blend runs once per room state, however many sessions or polls ask."""
    code, _tokens = seed_room("Live", {"Ann": ANN})
    calls = []
    real = rooms.group_picks
    monkeypatch.setattr(rooms, "group_picks", lambda *a, **k: calls.append(a) or real(*a, **k))
    options = room_input.PicksOptions(strategy="average", min_ratings=10)
    first = rooms.room_picks(code, options)
    again = rooms.room_picks(code, options)  # a poll with nothing changed
    assert len(calls) == 1 and again.frame is first.frame and again.stamp == first.stamp

    at = open_app(room=code, page="picks")
    assert member_columns(picks_frame(at)) == ["Ann"]
    cy = store().add_member(code, "Cy")
    at.run()  # what the page's poll does when the stamp changed
    assert member_columns(picks_frame(at)) == ["Ann", "Cy"]
    assert "Not rated anything yet: Cy" in all_messages(at)
    for movie_id, stars in BOB.items():
        store().set_rating(cy.token, movie_id, stars)
    at.run()
    assert "Not rated anything yet" not in all_messages(at)
    n = len(calls)
    at.run()  # nothing changed since: the page is drawn from the cache
    assert len(calls) == n


def test_the_score_label_comes_from_the_strategy():
    frame = pd.DataFrame(
        {"rank": [1, 2], "label": ["A (2000)", "B (2001)"], "group_score": [0.9, 0.7],
         "pred:Ann": [4.5, 4.0]}
    )  # fmt: skip
    frame.attrs.update(score_label="Borda points", score_unit=" pts")
    assert list(picks_table(frame).columns) == ["#", "Film", "Borda points", "Ann"]
    assert score_text(frame, 0.9) == "Borda points: 0.90 pts"


def test_no_widget_is_set_twice(caplog):
    """KI-9: no 'created with a default value but also had its value set via the Session State
    API' warning (it was logged for mn_decades after visiting another page)."""
    code, _ = seed_room("Warnings", {"Ann": ANN})
    logger = logging.getLogger(policies.__name__)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    old = policies._shown_default_value_warning
    policies._shown_default_value_warning = False
    try:
        at = open_app(room=code, page="picks")
        at.select_slider(key="decades").set_value((1980, 1990)).run()
        at.slider(key="min_ratings").set_value(20).run()
        for page in ("room", "explore", "picks", "explore", "picks"):
            at.switch_page(PAGES[page]).run()
            assert_ok(at)
        assert at.select_slider(key="decades").value == (1980, 1990)
    finally:
        logger.removeHandler(handler)
        policies._shown_default_value_warning = old
    assert not [r for r in records if "default value" in r.getMessage()]


def test_novelty_offers_films_fewer_people_have_rated_and_lives_in_the_url():
    """Novelty: "films we probably haven't all seen" trades stars for less rated films
    (its cost and gain are measured in protocol G, docs/BENCHMARKS.md)."""
    code, _ = seed_room("Novel", {"Ann": ANN, "Bob": BOB})
    cat = catalogue.get_catalogue()
    count_of = dict(zip(cat.movies["label"], cat.item_counts(), strict=True))
    at = open_app(room=code, page="picks")
    assert at.select_slider(key="novelty").value == "Off"
    plain = picks_frame(at)["Film"].tolist()
    at.select_slider(key="novelty").set_value("Mostly new to us").run()
    assert_ok(at)
    novel = picks_frame(at)["Film"].tolist()
    assert novel != plain

    shared = AppTest.from_file(str(APP), default_timeout=TIMEOUT)  # the link, with the setting
    shared.query_params.update({"room": code, "novelty": "Mostly new to us"})
    shared.switch_page(PAGES["picks"]).run()
    assert_ok(shared)
    assert shared.select_slider(key="novelty").value == "Mostly new to us"
    assert picks_frame(shared)["Film"].tolist() == novel
    median = float(np.median(cat.item_counts()[cat.item_counts() >= 10]))
    assert np.mean([count_of[f] for f in novel]) < np.mean([count_of[f] for f in plain])
    assert np.mean([count_of[f] for f in plain]) > median  # the canon, without novelty


def test_the_same_films_note_is_compared_once_per_room_state(monkeypatch):
    """The live list redraws every few seconds; the comparison of every strategy's list behind
    "gives the same films as" runs once per room state and options, like the blend."""
    code, tokens = seed_room("Same once", {"Ann": ANN, "Bob": BOB})
    calls = []
    real = rooms.same_picks_as
    monkeypatch.setattr(rooms, "same_picks_as", lambda *a, **k: calls.append(a) or real(*a, **k))
    options = room_input.PicksOptions(strategy="average", min_ratings=10)
    first = rooms.room_same_picks(code, options)
    assert rooms.room_same_picks(code, options) == first and len(calls) == 1
    store().set_rating(tokens["Ann"], 1, 4.0)  # the room changed: compared again
    rooms.room_same_picks(code, options)
    assert len(calls) == 2
