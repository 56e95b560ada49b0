"""The one genre palette (app/widgets/palette.py): legible white text on every colour, distinct
colours, stable fallbacks, and the poster, genre chips, factor map and ego graph all use it."""

from __future__ import annotations

import itertools
import re

import networkx as nx
import pandas as pd
import pytest

from app.widgets import palette
from app.widgets.ego_graph import ego_graph_html
from app.widgets.factor_map import factor_map_figure
from app.widgets.film_card import film_card_html
from app.widgets.palette import (
    FALLBACK_COLOURS,
    GENRE_COLOURS,
    NO_GENRE_COLOUR,
    darker,
    genre_colour,
)
from app.widgets.poster import poster_svg
from engine.insights import NO_GENRE


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_helper_matches_the_wcag_examples():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


ALL = [*GENRE_COLOURS.values(), NO_GENRE_COLOUR, *FALLBACK_COLOURS]


@pytest.mark.parametrize("colour", ALL)
def test_white_text_is_legible_on_every_colour(colour):
    assert re.fullmatch(r"#[0-9a-f]{6}", colour)
    assert contrast(colour, "#ffffff") >= 4.5


def test_every_movielens_genre_has_its_own_colour():
    movielens = [
        "Action",
        "Adventure",
        "Animation",
        "Children",
        "Comedy",
        "Crime",
        "Documentary",
        "Drama",
        "Fantasy",
        "Film-Noir",
        "Horror",
        "IMAX",
        "Musical",
        "Mystery",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "War",
        "Western",
    ]
    assert set(GENRE_COLOURS) == set(movielens)
    assert len(set(ALL)) == len(ALL)
    for a, b in itertools.combinations(GENRE_COLOURS.values(), 2):
        rgb = [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in (a, b)]
        assert sum(abs(x - y) for x, y in zip(*rgb, strict=True)) >= 30, (a, b)


def test_no_genre_and_unknown_genres():
    assert genre_colour(None) == genre_colour("") == genre_colour(NO_GENRE) == NO_GENRE_COLOUR
    # an unknown genre: always the same fallback (code point sum, not the salted hash())
    assert genre_colour("Anime") == FALLBACK_COLOURS[sum(map(ord, "Anime")) % 7]
    assert genre_colour("Anime") == genre_colour("Anime") and genre_colour("Anime") in ALL


def test_darker_keeps_the_given_share_of_each_channel():
    assert darker("#ff8000", 0.5) == "#804000"
    assert darker("#b91c1c", 0.3) == "#380808"
    assert darker("#123456", 1.0) == "#123456" and darker("#123456", 0.0) == "#000000"
    with pytest.raises(ValueError, match="keep"):
        darker("#123456", 1.5)


def test_poster_chips_map_and_graph_share_the_palette(monkeypatch):
    """Change one palette entry: every view follows it (no second palette anywhere)."""
    monkeypatch.setitem(palette.GENRE_COLOURS, "Drama", "#123456")
    svg = poster_svg("Heat", 1995, "Drama|Crime")
    assert 'stop-color="#123456"' in svg and f'stop-color="{darker("#123456")}"' in svg
    card = film_card_html({"title": "Heat", "year": 1995, "genres": "Drama|Crime"})
    assert "background:#123456" in card and f"background:{GENRE_COLOURS['Crime']}" in card
    films = pd.DataFrame(
        {
            "x": [0.0, 1.0],
            "y": [1.0, 0.0],
            "title": ["A", "B"],
            "year": [2000, 2001],
            "genres": ["Drama", "Crime"],
            "main_genre": ["Drama", "Crime"],
            "n_ratings": [3, 4],
            "mean_rating": [3.5, 4.0],
        }
    )
    members = pd.DataFrame(columns=["member", "n_ratings", "x", "y"])
    fig = factor_map_figure(films, members, [0.6, 0.4])
    colours = {t.name: t.marker.color for t in fig.data}
    # legends name the genre family in plain words; the colour is the family's genre's
    assert colours == {"Drama": "#123456", "Crime &amp; thriller": GENRE_COLOURS["Crime"]}

    graph = nx.Graph(center=1)
    graph.add_node(1, label="A", genre="Drama", genres="Drama", popularity=1)
    assert '"color": "#123456"' in ego_graph_html(graph)
