"""The film neighbourhood (ego graph): the pyvis page in an iframe, and its nodes as a table."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import streamlit as st

GRAPH_HEIGHT = 600  # px, the pyvis canvas; the legend below it needs a little more


def show_ego_graph(page: str, height: int = GRAPH_HEIGHT) -> None:
    """Draw a self-contained pyvis page (``engine.insights.ego_graph_html``: vis-network inlined,
    titles escaped) in an iframe; it works offline."""
    st.iframe(page, height=height + 90)


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
