"""AppTest tests of the Explore page: each of the four views renders what the engine computed,
with and without a room, members who rated nothing, and up to twelve members."""

from __future__ import annotations

import base64
import dataclasses
import json
import re

import numpy as np
import pytest
from app_helpers import (
    all_messages,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    frame_with,
    open_app,
    seed_room,
)

from app.services import catalogue, families, insights, model_choice, models, rooms
from app.widgets.factor_map import member_positions
from engine.data import load_embedded
from engine.data.paths import data_dir
from engine.genres import FAMILY_LABELS
from engine.insights import factor_map, similar_films
from engine.models.mf import MatrixFactorization
from engine.storage.artifacts import ArtifactError, read_manifest
from engine.train import model_dir, train_model

pytestmark = pytest.mark.usefixtures("app_env", "fast_mf")

# MovieLens movieIds: Ann likes big action/sci-fi films, Bob likes dramas and dislikes action.
ANN = {260: 5.0, 2571: 5.0, 589: 4.5, 480: 4.0, 318: 2.0, 356: 1.5, 1: None}
BOB = {318: 5.0, 356: 5.0, 527: 4.5, 260: 1.0, 2571: 1.5, 593: None}
FAST_MF = {"factors": 8, "epochs": 3, "seed": 0}


@pytest.fixture
def fast_mf():
    """A small mf saved where the app looks for it, so the page loads it instead of training
    the full model (the app cannot tell: it reads the manifest's hyperparameters)."""
    catalogue = load_embedded(data_dir() / "datasets")
    try:
        read_manifest(model_dir(catalogue, "mf"))
    except ArtifactError:
        train_model("mf", catalogue, params=FAST_MF)
    return catalogue


def engine_view(room_code: str | None = None, components=(0, 1), min_ratings=20):
    """What the engine itself computes for the page's default settings."""
    model, _ = models.get_model("mf")
    states = rooms.member_states(room_code, model)
    return factor_map(model, catalogue.get_catalogue(), states, components, min_ratings)


def _decode(value):
    """Plotly serialises numpy arrays as {"dtype", "bdata"(base64)[, "shape"]}: back to lists."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def figure(at, index: int = 0) -> dict:
    """The index-th plotly chart on the page, as plain JSON data."""
    return _decode(json.loads(at.get("plotly_chart")[index].proto.spec))


def traces(fig: dict, name: str | None = None) -> list[dict]:
    return [t for t in fig["data"] if name is None or t.get("name") == name]


def film_points(fig: dict) -> int:
    return sum(len(t["x"]) for t in fig["data"] if t.get("name") != "room members")


def show(at, view: str):
    at.segmented_control(key="mn_explore_view").set_value(view).run()
    assert_ok(at)
    return at


def test_explore_draws_the_rooms_model_when_it_has_film_vectors():
    # the test default (baseline) has no film vectors: Explore draws mf, and offers guests
    # no model choice (the operator's advanced panel is tested with the Lab)
    at = open_app(page="explore")
    assert "Film model: predicted stars (mf)." in all_messages(at)
    assert not [box for box in at.selectbox if box.key == "mn_explore_model"]

    cat = catalogue.get_catalogue()
    try:  # a small pmf (the Lab's tests save the same one); its defaults take ~30 s here
        read_manifest(model_dir(cat, "pmf"))
    except ArtifactError:
        train_model("pmf", cat, params={"factors": 3, "epochs": 2, "warmup": 1})
    code, _ = seed_room("Vectors", {"Ann": ANN})
    model_choice.set_room_model(code, "pmf")
    room = open_app(room=code, page="explore")
    assert "Film model: predicted stars (probabilistic) (pmf)." in all_messages(room)


def test_factor_map_without_a_room_shows_films_only():
    at = open_app(page="explore")
    assert "showing films only" in all_messages(at)
    fig = figure(at)
    films, _, _ = engine_view()
    assert film_points(fig) == len(films)
    assert not traces(fig, "room members")
    # no drag mode: one finger scrolls the page over the map; "Move & zoom" turns panning on
    assert fig["layout"]["dragmode"] is False
    at.toggle(key="mn_map_interact").set_value(True).run()
    assert figure(at)["layout"]["dragmode"] == "pan"
    at.toggle(key="mn_map_interact").set_value(False).run()
    # each axis is named by the well-known films at its two ends, not by a component number
    for axis, column in (("xaxis", "x"), ("yaxis", "y")):
        known = films.nlargest(150, "n_ratings").sort_values(column)
        title = fig["layout"][axis]["title"]["text"]
        assert title.startswith("← ") and title.endswith(" →") and "PC" not in title
        assert known["label"].iloc[0].replace("&", "&amp;") in title
        assert known["label"].iloc[-1].replace("&", "&amp;") in title
    # one trace per genre family, named in plain words
    names = {t["name"] for t in fig["data"]}
    assert names == {FAMILY_LABELS.get(g, g).replace("&", "&amp;") for g in films["main_genre"]}
    # hover: escaped title, year and genres for every film
    custom = [row for t in fig["data"] for row in t["customdata"]]
    assert len(custom) == len(films)
    titles = {row[0] for row in custom}
    assert any("&amp;" in t for t in titles)  # e.g. "Wallace &amp; Gromit": escaped
    assert not any(re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)|<", t) for t in titles)
    toy = next(row for row in custom if row[0] == "Toy Story")
    assert toy[1] == "1995" and "Animation" in toy[2]


def test_members_are_plotted_in_the_same_projection():
    code, _ = seed_room("Map room", {"Ann": ANN, "Bob": BOB, "<b>Cy</b>": {}})
    at = open_app(room=code, page="explore")
    fig = figure(at)
    (members,) = traces(fig, "room members")
    assert members["text"] == ["Ann", "Bob", "&lt;b&gt;Cy&lt;/b&gt;"]
    films, want, _ = engine_view(code)
    # the engine's directions, scaled by one factor so the furthest member reaches 80 % of the
    # films' extent (drawn as they are, every member sat on the centre)
    scale = members["x"][0] / want["x"].iloc[0]
    np.testing.assert_allclose(members["x"], want["x"] * scale, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(members["y"], want["y"] * scale, rtol=1e-5, atol=1e-7)
    reach = np.hypot(members["x"], members["y"]).max()
    assert reach == pytest.approx(0.8 * np.hypot(films["x"], films["y"]).max(), rel=1e-5)
    assert members["x"][2] == 0 and members["y"][2] == 0  # rated nothing: the centre
    assert members["x"][0] != members["x"][1]
    # other axes: the projection follows
    at.selectbox(key="mn_map_x").set_value(2).run()
    at.selectbox(key="mn_map_y").set_value(1).run()
    assert_ok(at)
    fig = figure(at)
    (members,) = traces(fig, "room members")
    films, want, _ = engine_view(code, components=(2, 1))
    scale = members["x"][0] / want["x"].iloc[0]
    np.testing.assert_allclose(members["x"], want["x"] * scale, rtol=1e-5, atol=1e-7)
    first = films.nlargest(150, "n_ratings").sort_values("x")["label"].iloc[0]
    assert first.replace("&", "&amp;") in fig["layout"]["xaxis"]["title"]["text"]


def test_colour_by_year_and_min_ratings():
    at = open_app(page="explore")
    at.radio(key="mn_map_colour").set_value("year").run()
    at.slider(key="mn_map_min").set_value(100).run()
    assert_ok(at)
    fig = figure(at)
    films, _, _ = engine_view(min_ratings=100)
    assert film_points(fig) == len(films) and (films["n_ratings"] >= 100).all()
    coloured = traces(fig, "films")
    assert coloured and min(coloured[0]["marker"]["color"]) >= 1900
    assert coloured[0]["marker"]["colorscale"]


def test_loved_and_hated_shows_what_this_room_loves_more_than_the_crowd():
    """The room's own list: films neither member has seen, each expected well above the
    crowd's mean, with each member's stars, in the order the engine ranks them."""
    # generous raters: the room expects more than the crowd (the test's mf is a 3-epoch one)
    fans = {m: 5.0 for m in (260, 2571, 589, 480, 318, 356, 527)}
    code, _ = seed_room("Crowd", {"Ann": fans, "Bob": {**fans, 593: 4.5}})
    at = show(open_app(room=code, page="explore"), "bias")
    assert "What this room will love more than the crowd" in [h.value for h in at.subheader]
    shown = frame_with(at, "Everyone")
    assert list(shown.columns) == ["Film", "You, on average", "Everyone", "Ann", "Bob"]
    expected = insights.room_loves_more("mf", code)
    assert 0 < len(shown) == len(expected)
    assert list(shown["Film"]) == list(expected["label"])
    cat = catalogue.get_catalogue()
    rated = {*fans, 593}
    assert not rated & {int(cat.movies["movieId"].iloc[i]) for i in expected["item"]}
    assert (expected["gap"] > 0).all() and (expected["room"] >= 3.5).all()
    assert list(expected["gap"]) == sorted(expected["gap"], reverse=True)
    alone = show(open_app(page="explore"), "bias")  # no room: no room list
    assert "What this room will love more than the crowd" not in [h.value for h in alone.subheader]


def test_bias_view_shows_loved_and_hated_with_min_ratings():
    at = show(open_app(page="explore"), "bias")
    at.slider(key="mn_bias_min").set_value(100).run()
    at.slider(key="mn_bias_n").set_value(8).run()
    assert_ok(at)
    loved, hated = figure(at, 0)["data"][0], figure(at, 1)["data"][0]
    assert len(loved["y"]) == len(hated["y"]) == 8

    model, _ = models.get_model("mf")
    cat = catalogue.get_catalogue()
    counts, bias = cat.item_counts(), model.item_bias()
    eligible = np.flatnonzero(counts >= 100)
    best = eligible[np.argsort(-bias[eligible], kind="stable")]
    assert loved["y"][0] == f"1. {insights.film_label(best[0])}".replace("&", "&amp;")
    np.testing.assert_allclose(loved["x"], bias[best[:8]], rtol=1e-5)
    np.testing.assert_allclose(hated["x"], bias[best[::-1][:8]], rtol=1e-5)
    assert all(c >= 100 for c, _ in loved["customdata"])


def test_ego_graph_view_renders_offline_keeps_its_centre_in_the_url_and_goes_back():
    at = show(open_app(page="explore"), "graph")
    (frame,) = at.get("iframe")
    page = frame.proto.srcdoc
    assert "new vis.Network" in page and 'id="legend"' in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    table = frame_with(at, "Hops")
    # the default neighbourhood: the centre and its six nearest films (fits a phone)
    assert len(table) == 7 and sorted(table["Hops"]) == [0, 1, 1, 1, 1, 1, 1]
    assert (table["Ratings"].iloc[1:] >= insights.MIN_RATINGS).all()
    centre = int(catalogue.popular_items(insights.MIN_RATINGS)[0])  # the most rated film
    assert table.iloc[0]["Film"] == insights.film_label(centre)
    assert at.query_params["view"] == "graph"
    # every link says why, in plain words
    assert all(("people" in why or "both" in why) for why in table["Why"].iloc[1:])
    # the Room page's search: "the matrix" finds the film stored as "Matrix, The"
    at.text_input(key="mn_explore_search").input("the matrix").run()
    (matrix,) = catalogue.items_of([2571])
    at.button(key="mn_explore_search:pick:2571").click().run()
    assert_ok(at)
    table = frame_with(at, "Hops")
    assert table.iloc[0]["Film"] == "The Matrix (1999)" == insights.film_label(matrix)
    assert at.query_params["film"] == "2571"
    assert at.query_params["trail"] == str(catalogue.film(centre)["movieId"])
    # back along the trail
    at.button(key="mn_explore_back").click().run()
    assert frame_with(at, "Hops").iloc[0]["Film"] == insights.film_label(centre)
    assert "trail" not in at.query_params


def test_centre_film_and_view_survive_a_view_change():
    at = show(open_app(page="explore"), "graph")
    at.text_input(key="mn_explore_search").input("toy story").run()
    at.button(key="mn_explore_search:pick:1").click().run()
    show(at, "map")
    show(at, "similar")
    assert frame_with(at, "Why") is not None
    assert at.query_params["film"] == "1" and at.query_params["view"] == "similar"
    assert any(m.value.startswith("**Films like Toy Story") for m in at.markdown)


def test_similar_films_and_members():
    code, _ = seed_room("Alike room", {"Ann": ANN, "Bob": BOB, "Ann2": ANN, "Quiet": {}})
    at = show(open_app(room=code, page="explore"), "similar")
    films = frame_with(at, "Why")
    assert len(films) == 10 and (films["Ratings"] >= 20).all()
    assert films["Why"].str.len().min() > 0  # every film says why it is there
    pairs = frame_with(at, "Alike with")
    assert len(pairs) == 3  # Ann, Bob, Ann2: three pairs; Quiet rated nothing
    assert set(pairs.iloc[0][["Member", "Alike with"]]) == {"Ann", "Ann2"}
    assert pairs.iloc[0]["Similarity"] == pytest.approx(1.0)
    assert "Quiet" not in set(pairs["Member"]) | set(pairs["Alike with"])
    assert "Not rated anything yet: Quiet" in all_messages(at)


def test_twelve_members_and_members_who_rated_nothing():
    group = {f"M{i}": (ANN if i % 3 == 0 else BOB if i % 3 == 1 else {}) for i in range(12)}
    code, _ = seed_room("Big room", group)
    at = open_app(room=code, page="explore")
    (members,) = traces(figure(at), "room members")
    assert members["text"] == list(group)
    for view in ("bias", "graph", "similar"):
        show(at, view)
    pairs = frame_with(at, "Alike with")
    assert len(pairs) == 28  # 8 members rated something: 8·7/2 pairs


def test_members_the_model_cannot_place_are_named():
    """A fold-in state without a vector (as a model without user factors gives) has no place on
    the map: the page says who is missing instead of dropping them silently."""
    (bobs_film,) = catalogue.items_of([527])  # only Bob rated it
    fold_in = MatrixFactorization.fold_in

    def without_vector_for_bob(self, items, values):
        state = fold_in(self, items, values)
        return dataclasses.replace(state, vector=None) if bobs_film in items else state

    code, _ = seed_room("Half map", {"Ann": ANN, "Bob": BOB, "Cy": {}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MatrixFactorization, "fold_in", without_vector_for_bob)
        at = open_app(room=code, page="explore")
    (members,) = traces(figure(at), "room members")
    assert members["text"] == ["Ann", "Cy"]
    captions = [c.value for c in at.caption if c.value.startswith("Not on the map")]
    assert captions == [
        "Not on the map: Bob. The mf model gives them no taste vector to place, so their "
        "picks still count but this map cannot show them."
    ]
    at = open_app(room=code, page="explore")
    assert traces(figure(at), "room members")[0]["text"] == ["Ann", "Bob", "Cy"]
    assert "Not on the map" not in all_messages(at)


@pytest.mark.slow
def test_the_default_model_places_every_member_on_the_map(trained_hybrid, monkeypatch):
    """KI-4 (docs/KNOWN_ISSUES.md): with the app's default model (hybrid) the map said "its members appear on the map"
    and then "No room members to show yet". Every member is placed, in the films' space."""
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(trained_hybrid))
    monkeypatch.setenv("MOVIENIGHT_DEFAULT_MODEL", "hybrid")  # as on a fresh clone

    code, _ = seed_room("Hybrid map", {"Ann": ANN, "Bob": BOB, "Cy": {}, "Dee": {1: 4.0}})
    at = open_app(room=code, page="explore")
    assert f"Film model: {families.model_label('hybrid')}." in all_messages(at)  # the default
    (members,) = traces(figure(at), "room members")
    assert members["text"] == ["Ann", "Bob", "Cy", "Dee"]
    model, _ = models.get_model("hybrid")
    states = rooms.member_states(code, model)
    films, want, _ = factor_map(model, catalogue.get_catalogue(), states, (0, 1), 20)

    xs, ys = member_positions(films, want)  # the engine's places, scaled to the films' spread
    np.testing.assert_allclose(members["x"], xs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(members["y"], ys, rtol=1e-5, atol=1e-7)
    text = all_messages(at)
    assert "No room members to show yet" not in text and "Not on the map" not in text


def test_similar_films_watched_by_the_same_people_or_liked_by_the_same_viewers():
    """The two meanings of "similar": co-watching with popularity damped (the default, built in
    milliseconds, no model to wait for) and the room model's damped taste factors; the list is
    exactly what the service's source ranks, with the reason for each film."""
    at = show(open_app(page="explore"), "similar")
    assert insights.SIMILARITY_EXPLAINED["together"] in all_messages(at)
    together = frame_with(at, "Why")
    item = int(catalogue.popular_items(insights.MIN_RATINGS)[0])
    source = insights.similarity_source("mf", "together")
    want = similar_films(source, catalogue.get_catalogue(), item, 10, insights.MIN_RATINGS)
    assert together["Film"].tolist() == want["label"].tolist()
    at.segmented_control(key="mn_explore_basis").set_value("taste").run()
    assert_ok(at)
    assert insights.SIMILARITY_EXPLAINED["taste"] in all_messages(at)
    assert at.query_params["by"] == "taste"
    taste = frame_with(at, "Why")
    assert taste["Film"].tolist() != together["Film"].tolist()
    show(at, "graph")  # the graph keeps the choice
    assert insights.SIMILARITY_EXPLAINED["taste"] in all_messages(at)
