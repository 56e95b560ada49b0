"""The film neighbourhood (ego graph): a self-contained pyvis page in an iframe, and its films as a
table.

``engine.insights.similarity_graph`` gives a networkx graph; ``ego_graph_html`` draws it with
vis-network, the library pyvis ships. pyvis lays the nodes and edges out as vis-network data;
the page is our own small Jinja template rather than pyvis's, because pyvis 0.3.2's template
always links Bootstrap from a CDN and can switch tooltips to ``innerHTML``. Ours inlines the
vis-network script and stylesheet from pyvis's package (nothing loads from the internet) and
has no place where a title could become markup:

* node and edge data reach the page only through Jinja's ``tojson``, which escapes ``< > & '``;
* vis-network draws labels on a canvas and sets string tooltips with ``innerText``, so a title
  stays the text it is (``Tom & Jerry <3`` shows as written, never as markup);
* the legend's genre names are HTML-escaped by the template's autoescaping.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import networkx as nx
import pandas as pd
import streamlit as st
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, Template

from app.widgets.palette import genre_colour
from engine.insights import NO_GENRE

GRAPH_HEIGHT = 600  # px, the vis-network canvas
LEGEND_ROOM = 90  # px below the canvas for the genre legend

_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<style>{% include 'lib/vis-9.1.2/vis-network.css' %}</style>
<script>{% include 'lib/vis-9.1.2/vis-network.min.js' %}</script>
<style>
  body { margin: 0; font: 13px sans-serif; }
  #mynetwork { width: 100%; height: {{ height }}px; background-color: #ffffff;
               border: 1px solid lightgray; box-sizing: border-box; }
  #legend { padding: 4px; }
  #legend .key { display: inline-block; margin: 2px 10px 2px 0; }
  #legend .dot { display: inline-block; width: 12px; height: 12px; border-radius: 6px;
                 margin-right: 4px; vertical-align: middle; }
</style>
</head>
<body>
<div id="mynetwork"></div>
<div id="legend">
{%- for genre, colour in legend %}<span class="key"><span class="dot" style="background:{{ colour }}"></span>{{ genre }}</span>{% endfor -%}
</div>
<script>
  var nodes = new vis.DataSet({{ nodes|tojson }});
  var edges = new vis.DataSet({{ edges|tojson }});
  var options = {{ options|tojson }};
  new vis.Network(document.getElementById("mynetwork"), {nodes: nodes, edges: edges}, options);
</script>
</body>
</html>
"""

OPTIONS = {
    "physics": {"solver": "forceAtlas2Based", "stabilization": {"iterations": 150}},
    "nodes": {"font": {"size": 14}},
    "edges": {"color": {"inherit": "from"}, "smooth": False, "scaling": {"min": 1, "max": 6}},
    "interaction": {"hover": True, "tooltipDelay": 120},
}


@cache
def _template() -> Template:
    """The page template; ``include`` finds vis-network's files in pyvis's template folder."""
    import pyvis

    assets = Path(pyvis.__file__).resolve().parent / "templates"
    env = Environment(
        loader=ChoiceLoader([DictLoader({"page.html": _PAGE}), FileSystemLoader(assets)]),
        autoescape=True,
    )
    return env.get_template("page.html")


def node_size(popularity: int, top: int) -> float:
    """Node radius: 10 px plus up to 30 px by the square root of the share of ``top`` ratings,
    so area grows roughly with popularity."""
    return 10.0 + 30.0 * math.sqrt(popularity / top) if top > 0 else 10.0


def ego_graph_html(graph: nx.Graph, height: int = GRAPH_HEIGHT) -> str:
    """A self-contained HTML page drawing ``graph`` (``engine.insights.similarity_graph``).

    Node size grows with popularity, colour is the film's main genre (the palette every view
    shares; a legend lists the genres shown), the centre film is a star. Titles come from a
    dataset folder the user points at, so they are untrusted; see the module docstring for why
    none can become markup.
    """
    from pyvis.network import Network

    if isinstance(height, bool) or not isinstance(height, int) or not 100 <= height <= 4000:
        raise ValueError(
            f"height must be a whole number of pixels from 100 to 4000, not {height!r}"
        )
    center = graph.graph.get("center")
    net = Network(directed=False)
    top = max((int(d.get("popularity", 0)) for _, d in graph.nodes(data=True)), default=0)
    legend: dict[str, str] = {}
    for node, data in graph.nodes(data=True):
        genre = str(data.get("genre") or NO_GENRE)
        legend[genre] = genre_colour(genre)
        label = str(data.get("label", node))
        genres = str(data.get("genres", "")).replace("|", ", ") or NO_GENRE
        net.add_node(
            int(node),
            label=label,
            title=f"{label}\n{genres}\n{int(data.get('popularity', 0))} ratings",
            color=legend[genre],
            size=node_size(int(data.get("popularity", 0)), top),
            shape="star" if node == center else "dot",
            borderWidth=3 if node == center else 1,
        )
    for u, v, w in graph.edges(data="weight", default=0.0):
        net.add_edge(int(u), int(v), value=max(float(w), 0.0), title=f"similarity {float(w):.2f}")
    return _template().render(
        nodes=net.nodes,
        edges=net.edges,
        options=OPTIONS,
        height=height,
        legend=sorted(legend.items()),
    )


def show_ego_graph(graph: nx.Graph, height: int = GRAPH_HEIGHT) -> None:
    """Draw ``graph`` as its offline pyvis page in an iframe (room for the legend below)."""
    st.iframe(ego_graph_html(graph, height), height=height + LEGEND_ROOM)


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
                "Main genre": data.get("genre", ""),
                "Ratings": data.get("popularity", 0),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(
        ["Hops", "Similarity to centre", "Ratings"], ascending=[True, False, False]
    ).reset_index(drop=True)
