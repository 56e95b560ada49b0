"""AppTest tests of the Picks page: group picks, strategies, filters, watched films, models."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import (
    PAGES,
    add_member,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    create_room,
    open_app,
    picks_frame,
    queue_films,
    seed_room,
    store,
)

pytestmark = pytest.mark.usefixtures("app_env")

# Ann likes big action films, Bob likes dramas and dislikes action (MovieLens movieIds).
ANN = {260: 5.0, 2571: 5.0, 589: 4.5, 480: 4.0, 318: 2.0, 356: 1.5, 1: None}
BOB = {318: 5.0, 356: 5.0, 527: 4.5, 260: 1.0, 2571: 1.5, 593: None}


def member_columns(frame) -> list[str]:
    return [c for c in frame.columns if c not in ("#", "Film", "Group score")]


def engine_picks(room_code: str, answers: dict[str, dict], strategy: str, exclude=()):
    """What the engine itself recommends for these answers (independent of the page code)."""
    from app import services
    from engine.group import Member, recommend

    cat = services.get_catalogue()
    model, _ = services.get_model()
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
    from app import services

    for movie_id in films[:2]:  # films a member rated are never picked
        assert services.film_by_movie_id(movie_id)["label"] not in cat_labels
    assert (
        len([h for h in friend.html if 'class="mn-bars"' in h.proto.body]) == 10
    )  # a bar chart per film


def test_strategy_selector_changes_the_blend():
    from app import services
    from engine.group import DEFAULT_STRATEGY

    code, _ = seed_room("Strategies", {"Ann": ANN, "Bob": BOB})
    at = open_app(room=code, page="picks")
    assert at.selectbox(key="mn_strategy").value == DEFAULT_STRATEGY
    for strategy, blend in [("least_misery", np.min), ("average", np.mean)]:
        at.selectbox(key="mn_strategy").set_value(strategy).run()
        assert_ok(at)
        frame = picks_frame(at)
        preds = frame[["Ann", "Bob"]].to_numpy(float)
        np.testing.assert_allclose(frame["Group score"], blend(preds, axis=1), atol=0.011)
        expected = engine_picks(code, {"Ann": ANN, "Bob": BOB}, strategy)
        assert frame["Film"].tolist() == expected["label"].tolist()
        rated = {services.film_by_movie_id(m)["label"] for m in {**ANN, **BOB}}
        assert not set(frame["Film"]) & rated  # nobody is offered a film they rated or saw


def test_the_page_says_what_the_score_is_and_which_choices_change_nothing():
    from app.widgets.text import md
    from engine.group import STRATEGIES, distinct_lists

    answers = {"Ann": ANN, "Bob": BOB}
    code, _ = seed_room("Same lists", answers)
    # what the engine gives for each strategy, independent of the page
    frames = {name: engine_picks(code, answers, name) for name in STRATEGIES}
    same = {n: names for names in distinct_lists(frames) for n in names}
    # the fast test model (biases only) ranks alike for everyone, so choices must agree
    assert any(len(names) > 1 for names in same.values())
    at = open_app(room=code, page="picks")
    for name in ("average", "least_misery", "gfar", "xpo"):
        at.selectbox(key="mn_strategy").set_value(name).run()
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
    from app import services

    cat = services.get_catalogue()
    by_label = cat.movies.set_index("label")
    counts = dict(zip(cat.movies["label"], cat.item_counts(), strict=True))

    at.multiselect(key="mn_genres").set_value(["Comedy"]).run()
    at.select_slider(key="mn_decades").set_value((1980, 1990)).run()
    at.slider(key="mn_min_ratings").set_value(20).run()
    assert_ok(at)
    frame = picks_frame(at)
    assert len(frame) == 10
    for label in frame["Film"]:
        assert "Comedy" in by_label.loc[label, "genres"]
        assert 1980 <= by_label.loc[label, "year"] <= 1999
        assert counts[label] >= 20

    at.multiselect(key="mn_genres").set_value(["Film-Noir", "Documentary"]).run()
    at.select_slider(key="mn_decades").set_value((2010, 2010)).run()
    at.slider(key="mn_min_ratings").set_value(100).run()
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
    at.selectbox(key="mn_strategy").set_value("least_misery").run()
    at.multiselect(key="mn_genres").set_value(["Comedy"]).run()
    at.slider(key="mn_min_ratings").set_value(25).run()
    before = picks_frame(at)["Film"].tolist()
    at.switch_page(PAGES["room"]).run()
    assert_ok(at)
    assert "mn_strategy" not in [box.key for box in at.selectbox]  # really on another page
    at.switch_page(PAGES["picks"]).run()
    assert_ok(at)
    assert at.selectbox(key="mn_strategy").value == "least_misery"
    assert at.multiselect(key="mn_genres").value == ["Comedy"]
    assert at.slider(key="mn_min_ratings").value == 25
    assert picks_frame(at)["Film"].tolist() == before
