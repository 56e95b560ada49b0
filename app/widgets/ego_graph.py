"""The film neighbourhood (ego graph): a self-contained pyvis page in an iframe, and its films as a
table.

``engine.insights.similarity_graph`` gives a networkx graph; ``ego_graph_html`` draws it with
vis-network, the library pyvis ships. pyvis lays the nodes and edges out as vis-network data;
the page is our own small Jinja template rather than pyvis's, because pyvis 0.3.2's template
always links Bootstrap from a CDN and can switch tooltips to ``innerHTML``. Ours takes
vis-network's script from pyvis's package (nothing loads from the internet): loaded once into
the app's page by a components-v2 element that never changes (``load_vis_network``; Streamlit
sends it once per session), the graph page in its iframe uses it from there, so a redraw sends
only the graph (~20 KB, not ~690 KB; ``python -m tools.explore_bytes``). A page drawn on its
own can inline it (``inline_library``). It has no place where a title could become markup:

* node and edge data reach the page only through Jinja's ``tojson``, which escapes ``< > & '``;
* vis-network draws labels on a canvas and sets string tooltips with ``innerText``, so a title
  stays the text it is (``Tom & Jerry <3`` shows as written, never as markup);
* the legend's genre names are HTML-escaped by the template's autoescaping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd
import pyvis
import streamlit as st
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, Template
from pyvis.network import Network
from streamlit.components.v2 import component

from app.widgets.palette import genre_colour
from engine.genres import FAMILY_LABELS
from engine.insights import NO_GENRE

GRAPH_HEIGHT = 440  # px, the vis-network canvas: about 60 % of a phone's screen
VOTE_RING = "#eab308"  # the ring of a film in tonight's vote
LEGEND_ROOM = 90  # px below the canvas for the genre legend
VIS_COMPONENT = "movienight.vis_network"  # vis-network, loaded once into the page
VIS_KEY = "mn_vis_network"

# the page: vis-network data in, a tap card and the page-level links out (its own file: HTML
# and script, ~160 lines, read by Jinja)
PAGE_FILE = Path(__file__).resolve().parent / "ego_graph_page.html"

OPTIONS = {
    "physics": {"solver": "forceAtlas2Based", "stabilization": {"iterations": 150}},
    "nodes": {"font": {"size": 16, "strokeWidth": 3, "strokeColor": "#ffffff"}},
    "edges": {"color": {"inherit": "from"}, "smooth": False, "scaling": {"min": 1, "max": 6}},
    # touch first: a swipe scrolls the page; "Move & zoom" turns dragging and zooming on
    "interaction": {
        "hover": True,
        "tooltipDelay": 120,
        "dragView": False,
        "zoomView": False,
        "dragNodes": False,
    },
}
BAR_ROOM = 44  # px above the canvas for the Fit and Move & zoom buttons


def _assets() -> Path:
    """pyvis's template folder, which holds vis-network."""
    return Path(pyvis.__file__).resolve().parent / "templates"


@cache
def _template() -> Template:
    """The page template; ``include`` finds vis-network's files in pyvis's template folder."""
    env = Environment(
        loader=ChoiceLoader(
            [
                DictLoader({"page.html": PAGE_FILE.read_text(encoding="utf-8")}),
                FileSystemLoader(_assets()),
            ]
        ),
        autoescape=True,
    )
    return env.get_template("page.html")


def node_size(popularity: int, top: int) -> float:
    """Node radius: 10 px plus up to 30 px by the square root of the share of ``top`` ratings,
    so area grows roughly with popularity."""
    return 10.0 + 30.0 * math.sqrt(popularity / top) if top > 0 else 10.0


def short_label(label: str, width: int = 18) -> str:
    """``label`` broken into lines of about ``width`` characters at spaces: a readable node
    label on a phone rather than one long clipped line."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def stars(value: float) -> str:
    """4.5 -> "4.5", 4.0 -> "4" (stars as people write them)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def member_lines(marks: Sequence[Any]) -> tuple[list[str], str]:
    """(a line per member for the tap card, the label line for members who rated the film).

    ``marks`` are ``app.services.MemberMark``-like: ``member``, ``rated``, ``predicted``."""
    lines, rated = [], []
    for m in marks:
        if m.rated is not None:
            lines.append(f"{m.member}: rated it {stars(m.rated)}★")
            rated.append(f"{m.member} {stars(m.rated)}★")
        elif m.predicted is not None:
            lines.append(f"{m.member}: ~{stars(round(m.predicted, 1))}★ expected")
        else:
            lines.append(f"{m.member}: not rated")
    return lines, ", ".join(rated)


def _card(
    data: Mapping[str, Any], why: str, lines: list[str], in_vote: bool, links: Mapping[str, Any]
) -> dict[str, Any]:
    genres = str(data.get("genres", "")).replace("|", ", ") or NO_GENRE
    return {
        "label": str(data.get("label", "")),
        "about": f"{genres} · {int(data.get('popularity', 0))} ratings",
        "why": why,
        "members": lines,
        "vote": "In tonight's vote" if in_vote else "",
        **{k: dict(v) for k, v in links.items()},
    }


def _add_film(
    net: Network,
    node: int,
    data: Mapping[str, Any],
    is_centre: bool,
    top: int,
    colour: str,
    rated: str,
    in_vote: bool,
) -> None:
    """One film as a vis-network node: its short label (with the members' stars), a tooltip,
    its genre colour, its size by popularity, a star at the centre, a gold ring in the vote."""
    label = str(data.get("label", node))
    genres = str(data.get("genres", "")).replace("|", ", ") or NO_GENRE
    net.add_node(
        node,
        label=short_label(label) + (f"\n★ {rated}" if rated else ""),
        title=f"{label}\n{genres}\n{int(data.get('popularity', 0))} ratings",
        color=colour,
        size=node_size(int(data.get("popularity", 0)), top),
        shape="star" if is_centre else "dot",
        borderWidth=5 if in_vote else (3 if is_centre or rated else 1),
        **({"shapeProperties": {"borderDashes": False}} if in_vote else {}),
    )
    if in_vote:
        net.nodes[-1]["color"] = {"background": colour, "border": VOTE_RING}


def ego_graph_html(
    graph: nx.Graph,
    height: int = GRAPH_HEIGHT,
    marks: Mapping[int, Sequence[Any]] | None = None,
    vote: frozenset[int] | set[int] = frozenset(),
    links: Mapping[int, Mapping[str, Any]] | None = None,
    inline_library: bool = False,
) -> str:
    """An HTML page drawing ``graph`` (``engine.insights.similarity_graph``), offline.

    vis-network comes from the page around the frame (``load_vis_network``), or, with
    ``inline_library``, is inlined so that the page stands alone (470 KB more).

    Node size grows with popularity, colour is the film's genre family (the palette every view
    shares; a legend lists the families shown), the centre film is a star. ``marks`` (film ->
    each member's stars) label the films members rated and fill the tap card; films in
    ``vote`` get a gold ring; ``links`` (film -> {"centre"|"rate"|"propose": URL parameters})
    become the card's buttons. Titles come from a dataset folder the user points at, so they are
    untrusted; see the module docstring for why none can become markup.
    """
    if isinstance(height, bool) or not isinstance(height, int) or not 100 <= height <= 4000:
        raise ValueError(
            f"height must be a whole number of pixels from 100 to 4000, not {height!r}"
        )
    center = graph.graph.get("center")
    net = Network(directed=False)
    top = max((int(d.get("popularity", 0)) for _, d in graph.nodes(data=True)), default=0)
    legend: dict[str, str] = {}
    cards: dict[str, dict[str, Any]] = {}
    for node, data in graph.nodes(data=True):
        genre = str(data.get("genre") or NO_GENRE)
        legend[FAMILY_LABELS.get(genre, genre)] = genre_colour(genre)
        lines, rated = member_lines((marks or {}).get(int(node), []))
        in_vote = int(node) in vote
        link = graph.get_edge_data(center, node) if node != center else None
        why = str(link.get("reason", "")) if link else ""
        cards[str(int(node))] = _card(data, why, lines, in_vote, (links or {}).get(int(node), {}))
        colour = legend[FAMILY_LABELS.get(genre, genre)]
        _add_film(net, int(node), data, node == center, top, colour, rated, in_vote)
    for u, v, data in graph.edges(data=True):
        w = float(data.get("weight", 0.0))
        reason = str(data.get("reason", "")) or f"similarity {w:.2f}"
        net.add_edge(int(u), int(v), value=max(w, 0.0), title=reason)
    return _template().render(
        nodes=net.nodes,
        edges=net.edges,
        cards=cards,
        options=OPTIONS,
        height=height,
        legend=sorted(legend.items()),
        inline_library=inline_library,
    )


def show_ego_graph(graph: nx.Graph, height: int = GRAPH_HEIGHT, **extras: Any) -> None:
    """Draw ``graph`` as its offline page in an iframe (room for the buttons above and the
    legend below), with vis-network loaded once into the page; ``extras`` go to
    ``ego_graph_html``."""
    st.iframe(ego_graph_html(graph, height, **extras), height=height + BAR_ROOM + LEGEND_ROOM)
    load_vis_network()


def vis_network_js() -> str:
    """vis-network's script, as pyvis ships it (nothing is fetched from the internet)."""
    return (_assets() / "lib" / "vis-9.1.2" / "vis-network.min.js").read_text(encoding="utf-8")


@cache
def _vis_component() -> Callable[..., Any]:
    # a module whose only job is to run the library, which sets window.vis on the page
    return component(VIS_COMPONENT, js=vis_network_js() + "\nexport default function () {}\n")


def load_vis_network() -> None:
    """vis-network into the page itself, for the graph frames to use: the element never
    changes, so Streamlit sends its 470 KB once per session (its message cache) instead of
    with every redraw of the graph."""
    _vis_component()(key=VIS_KEY)


def neighbourhood_table(graph: nx.Graph) -> pd.DataFrame:
    """The graph's films, nearest first: hops from the centre, similarity to it where linked."""
    center = graph.graph.get("center")
    rows = []
    for node, data in graph.nodes(data=True):
        link = graph.get_edge_data(center, node) if node != center else None
        rows.append(
            {
                "Film": data.get("label", str(node)),
                "Hops": data.get("hops", 0),
                "Similarity to centre": None if link is None else round(link["weight"], 3),
                "Why": "" if link is None else str(link.get("reason", "")),
                "Genre": FAMILY_LABELS.get(str(data.get("genre", "")), data.get("genre", "")),
                "Ratings": data.get("popularity", 0),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(
        ["Hops", "Similarity to centre", "Ratings"], ascending=[True, False, False]
    ).reset_index(drop=True)
