"""The film neighbourhood page (app/widgets/ego_graph.py): offline, sized by popularity, coloured
by the shared palette, and no title ever becomes markup. Graphs are built by hand, so every
expected node, colour and size is known; one test feeds it the engine's own graph."""

from __future__ import annotations

import dataclasses
import json
import re

import networkx as nx
import pytest

from app.widgets.ego_graph import (
    ego_graph_html,
    neighbourhood_table,
    node_size,
    vis_network_js,
)
from app.widgets.palette import genre_colour
from engine import insights
from engine.models import create

REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _vis(page: str, what: str) -> list[dict]:
    found = re.search(rf"{what} = new vis\.DataSet\(own\((\[.*?\])\)\);", page, re.DOTALL)
    assert found, f"no {what} data in the page"
    return json.loads(found.group(1))


def film_graph(films: dict[int, dict], links: list[tuple[int, int, float]], center: int):
    graph = nx.Graph(center=center)
    for node, data in films.items():
        graph.add_node(node, **({"genres": data.get("genre", ""), "hops": 1} | data))
    for u, v, w in links:
        graph.add_edge(u, v, weight=w)
    return graph


FILMS = {
    1: {"label": "Centre (1999)", "genre": "Drama", "popularity": 400, "hops": 0},
    2: {"label": "Big (1988)", "genre": "Comedy", "popularity": 100},
    3: {"label": "Small (2001)", "genre": "Horror", "popularity": 25},
    4: {"label": "Nobody (2010)", "genre": insights.NO_GENRE, "popularity": 0, "genres": ""},
}
LINKS = [(1, 2, 0.9), (1, 3, 0.5), (2, 4, 0.25)]


def test_page_is_offline_sized_by_popularity_and_coloured_by_the_palette():
    graph = film_graph(FILMS, LINKS, center=1)
    page = ego_graph_html(graph, height=500)
    assert not REMOTE.search(page)
    assert "cdnjs" not in page and "jsdelivr" not in page and "bootstrap" not in page
    assert "new vis.Network" in page and "window.parent.vis" in page  # the page's library
    alone = ego_graph_html(graph, height=500, inline_library=True)
    assert vis_network_js() in alone and not REMOTE.search(alone)  # or inlined: still offline
    assert "height: 500px" in page
    nodes = {n["id"]: n for n in _vis(page, "nodes")}
    assert set(nodes) == {1, 2, 3, 4}
    assert nodes[1]["shape"] == "star" and {nodes[n]["shape"] for n in (2, 3, 4)} == {"dot"}
    # radius 10 + 30·sqrt(share of the most popular film): 40, 25, 17.5, 10
    assert [nodes[n]["size"] for n in (1, 2, 3, 4)] == pytest.approx([40, 25, 17.5, 10])
    for n, data in nodes.items():
        assert data["color"] == genre_colour(FILMS[n]["genre"])
        assert data["label"] == FILMS[n]["label"]  # plain text: drawn on a canvas
    assert nodes[4]["title"] == f"Nobody (2010)\n{insights.NO_GENRE}\n0 ratings"
    edges = {(e["from"], e["to"]): e for e in _vis(page, "edges")}
    assert set(edges) == {(1, 2), (1, 3), (2, 4)}
    assert edges[(1, 3)]["value"] == 0.5 and edges[(1, 3)]["title"] == "similarity 0.50"
    legend = re.search(r'<div id="legend">(.*?)</div>', page, re.DOTALL)
    assert legend and page.count('id="legend"') == 1
    shown = re.findall(r'background:(#[0-9a-f]{6})"></span>([^<]*)<', legend.group(1))
    genres = sorted({f["genre"] for f in FILMS.values()})
    assert shown == [(genre_colour(g), g) for g in genres]  # each genre once, by name


@pytest.mark.parametrize("height", ["600px;}</style><script>", 50, 1.5, True, "600"])
def test_height_must_be_a_sensible_number_of_pixels(height):
    with pytest.raises(ValueError, match="height"):
        ego_graph_html(film_graph(FILMS, LINKS, 1), height=height)


EVIL = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
]


def test_no_title_or_genre_ever_becomes_markup():
    films = {
        1: {"label": EVIL[0], "genre": "<b onmouseover=alert(2)>Noir</b>", "popularity": 9},
        2: {"label": EVIL[1], "genre": "Drama", "popularity": 5, "genres": EVIL[2]},
        3: {"label": EVIL[2], "genre": "Drama", "popularity": 1},
    }
    page = ego_graph_html(film_graph(films, [(1, 2, 0.5), (1, 3, 0.4)], center=1))
    for raw in [*EVIL, "<img", "<b onmouseover", "onerror=alert(1)>", "<a href"]:
        assert raw not in page
    assert "&lt;b onmouseover=alert(2)&gt;Noir&lt;/b&gt;" in page  # the legend, escaped once
    # the data still carries the exact text: vis-network shows it as text, never as HTML
    nodes = {n["id"]: n for n in _vis(page, "nodes")}
    # labels wrap at spaces for the canvas; the text itself is unchanged
    assert [nodes[i]["label"].replace("\n", " ") for i in (1, 2, 3)] == EVIL
    assert nodes[2]["title"].startswith(EVIL[1]) and EVIL[2] in nodes[2]["title"]


def test_plain_titles_stay_readable():
    films = {7: {"label": "Tom & Jerry <3 (1999)", "genre": "Comedy", "popularity": 3}}
    page = ego_graph_html(film_graph(films, [], center=7))
    (centre,) = _vis(page, "nodes")
    assert centre["label"].replace("\n", " ") == "Tom & Jerry <3 (1999)"
    assert centre["title"].startswith("Tom & Jerry <3")
    assert "Tom & Jerry <3" not in page  # only ever JSON-escaped in the source


def test_draws_the_engines_graph(planted):
    """The engine's similarity graph, with an untrusted title in the catalogue."""
    movies = planted.ratings.movies.copy()
    movies.loc[7, "title"] = EVIL[0]  # labels are built from the title, as people say it
    catalogue = dataclasses.replace(planted.ratings, movies=movies)
    model = create("mf", factors=4, epochs=2, device="cpu").fit(catalogue)
    graph = insights.similarity_graph(model, catalogue, 7, radius=2, neighbours=3)
    page = ego_graph_html(graph)
    nodes = {n["id"]: n for n in _vis(page, "nodes")}
    assert set(nodes) == set(graph.nodes)
    assert nodes[7]["label"].split("\n")[0] == EVIL[0]
    assert EVIL[0] not in page
    top = max(d["popularity"] for _, d in graph.nodes(data=True))
    for n, data in graph.nodes(data=True):
        assert nodes[n]["color"] == genre_colour(data["genre"])
        assert nodes[n]["size"] == pytest.approx(node_size(data["popularity"], top))
    table = neighbourhood_table(graph)
    assert table.iloc[0]["Film"].startswith(EVIL[0]) and table.iloc[0]["Hops"] == 0
    assert list(table["Hops"]) == sorted(table["Hops"]) and len(table) == len(nodes)


def _cards(page: str) -> dict:
    found = re.search(r"var cards = (\{.*?\});\n", page, re.DOTALL)
    assert found, "no tap cards in the page"
    return json.loads(found.group(1))


def test_members_marks_vote_ring_and_tap_card_links():
    @dataclasses.dataclass
    class Mark:
        member: str
        rated: float | None
        predicted: float | None

    graph = film_graph(FILMS, LINKS, center=1)
    graph.edges[1, 2]["reason"] = "12 people loved both · both comedy"
    marks = {
        1: [Mark("Maya", 5.0, None), Mark("Tom", None, 3.26)],
        2: [Mark("Maya", None, 4.71), Mark("Tom", 2.0, None)],
        3: [Mark("Maya", None, None), Mark("Tom", None, None)],
    }
    links = {2: {"centre": {"film": "20", "trail": "10"}, "rate": {"rate": "20"}}}
    page = ego_graph_html(graph, marks=marks, vote={3}, links=links)
    nodes = {n["id"]: n for n in _vis(page, "nodes")}
    assert nodes[1]["label"] == "Centre (1999)\n★ Maya 5★"
    assert nodes[2]["label"] == "Big (1988)\n★ Tom 2★"
    assert nodes[3]["label"] == "Small (2001)"  # nobody rated it: no mark
    assert nodes[3]["color"]["border"] == "#eab308" and nodes[3]["borderWidth"] == 5
    cards = _cards(page)
    assert cards["2"]["members"] == ["Maya: ~4.7★ expected", "Tom: rated it 2★"]
    assert cards["2"]["why"] == "12 people loved both · both comedy"
    assert cards["2"]["centre"] == {"film": "20", "trail": "10"}
    assert cards["3"]["vote"] == "In tonight's vote" and cards["1"]["vote"] == ""
    assert cards["3"]["members"] == ["Maya: not rated", "Tom: not rated"]
    edges = {(e["from"], e["to"]): e for e in _vis(page, "edges")}
    assert edges[(1, 2)]["title"] == "12 people loved both · both comedy"
    # one finger scrolls: vis-network's own dragging and zooming start switched off
    assert '"dragView": false' in page and '"zoomView": false' in page


def test_a_redraw_sends_the_graph_not_the_library():
    """Thirty films and their links: what each redraw of the graph sends stays under 100 KB;
    the 470 KB library goes to the page once (``load_vis_network``)."""
    films = {i: {"label": f"Film number {i} (19{i:02d})", "genre": "Drama", "popularity": 100 - i}
             for i in range(1, 31)}  # fmt: skip
    links = [(1, i, 1 / i) for i in range(2, 31)] + [(i, i + 1, 0.2) for i in range(2, 30)]
    page = ego_graph_html(film_graph(films, links, center=1))
    assert len(page.encode()) < 100_000 and vis_network_js()[:2000] not in page
    assert len(vis_network_js().encode()) > 400_000  # what each redraw sent before
