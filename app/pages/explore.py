"""Explore page: what the model learned — a factor map, loved/hated films, film neighbourhoods,
and who in the room has similar taste. Works without a room (films only).

Settings keep their values across page switches by themselves (``persist_state="session"``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state
from app.pages._common import model_ready
from app.pages._models import explore_model
from app.widgets.bias_chart import HATED_COLOUR, LOVED_COLOUR, bias_figure
from app.widgets.ego_graph import neighbourhood_table, show_ego_graph
from app.widgets.factor_map import factor_map_figure
from app.widgets.text import md
from engine.insights import InsightUnavailable

VIEWS = {
    "map": "Factor map",
    "bias": "Loved & hated",
    "graph": "Film neighbourhood",
    "similar": "Similar films & members",
}


def choose_model(room_code: str | None) -> str | None:
    """The room's model when it draws these views (see ``app.pages._models``)."""
    if not services.insight_models():
        st.error("No model with film vectors is registered; the Explore views need one (e.g. mf).")
        return None
    return explore_model(room_code)


def pick_film(key: str, label: str, min_ratings: int = 1) -> int:
    """A searchable film picker over the catalogue, most rated first; returns an item index."""
    items = services.popular_items(min_ratings) or services.popular_items()
    labels = services.get_catalogue().labels
    return st.selectbox(label, items, format_func=lambda i: str(labels[i]), key=key)


def factor_map_view(model_name: str, room_code: str | None) -> None:
    dims = services.n_components(model_name)
    if dims < 2:
        st.info(f"The {model_name} model has fewer than two factors; there is no map to draw.")
        return
    axes = [f"PC{i + 1}" for i in range(dims)]
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
    a = c1.selectbox(
        "Horizontal axis",
        range(dims),
        0,
        format_func=axes.__getitem__,
        key="mn_map_x",
        persist_state="session",
    )
    b = c2.selectbox(
        "Vertical axis",
        range(dims),
        1,
        format_func=axes.__getitem__,
        key="mn_map_y",
        persist_state="session",
    )
    colour = c3.radio(
        "Colour by",
        ["genre", "year"],
        horizontal=True,
        key="mn_map_colour",
        persist_state="session",
    )
    counts = services.get_catalogue().item_counts()
    default_min = 20 if (counts >= 20).sum() >= 100 else 1  # small datasets: show every film
    min_ratings = c4.slider(
        "Only films with at least this many ratings",
        1,
        200,
        default_min,
        key="mn_map_min",
        persist_state="session",
    )
    if a == b:
        st.warning("Pick two different axes.")
        return
    try:
        found = services.factor_map(
            model_name, (a, b), min_ratings=min_ratings, room_code=room_code
        )
    except InsightUnavailable as exc:
        st.info(str(exc))
        return
    films, members, explained = found.films, found.members, found.explained
    st.plotly_chart(
        factor_map_figure(films, members, explained, (a, b), colour),
        key="mn_factor_map",
        width="stretch",
    )
    st.caption(
        f"{len(films):,} films, each placed by its learned vector; films close together are "
        f"liked by the same people. The two axes carry {explained[a] + explained[b]:.0%} of the "
        "variance between films. A member's star points the way their taste leans: films "
        "further out in that direction are ones the model expects them to enjoy more; a member "
        "who has rated nothing sits in the middle."
    )
    if found.unplaced:
        st.caption(
            f"Not on the map: {md(', '.join(found.unplaced))}. The {md(model_name)} model gives "
            "them no taste vector to place, so their picks still count but this map cannot "
            "show them."
        )
    elif room_code and members.empty:
        st.caption("No room members to show yet.")


def bias_view(model_name: str) -> None:
    c1, c2 = st.columns(2)
    min_ratings = c1.slider(
        "Only films with at least this many ratings",
        1,
        300,
        50,
        key="mn_bias_min",
        persist_state="session",
    )
    n = c2.slider("Films per list", 5, 30, 15, key="mn_bias_n", persist_state="session")
    try:
        loved, hated = services.bias_ranking(model_name, min_ratings=min_ratings, n=n)
    except InsightUnavailable as exc:
        st.info(str(exc))
        return
    if loved.empty:
        st.warning("No film has that many ratings; lower the minimum.")
        return
    st.caption(
        "A film's bias is how much better (or worse) people rate it than their tastes and the "
        "film's genre-like factors would predict: the cult favourites and the disappointments."
    )
    left, right = st.columns(2)
    left.plotly_chart(
        bias_figure(loved, "Loved beyond their factors", LOVED_COLOUR),
        key="mn_bias_loved",
        width="stretch",
    )
    right.plotly_chart(
        bias_figure(hated, "Rated below their factors", HATED_COLOUR),
        key="mn_bias_hated",
        width="stretch",
    )


def similarity_basis(model_name: str, key: str) -> str | None:
    """Which films count as alike: by the film model's taste factors or by who watched them
    together (the graph embeddings), explained in one line; None while that model is not ready."""
    basis = st.segmented_control(
        "Similar by",
        list(services.SIMILARITY_BASES),
        format_func=services.SIMILARITY_BASES.__getitem__,
        default="taste",
        key=key,
        label_visibility="collapsed",
    )
    basis = basis or "taste"
    st.caption(services.SIMILARITY_EXPLAINED[basis])
    chosen = services.similarity_model(model_name, basis)
    return chosen if chosen == model_name or model_ready(chosen) else None


def graph_view(model_name: str) -> None:
    chosen = similarity_basis(model_name, "mn_graph_basis")
    if chosen is None:
        return
    model_name = chosen
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    with c1:
        center = pick_film("mn_graph_film", "Film at the centre (type to search)", 20)
    radius = c2.slider("Radius (hops)", 1, 3, 2, key="mn_graph_radius", persist_state="session")
    neighbours = c3.slider(
        "Neighbours per film", 2, 10, 5, key="mn_graph_k", persist_state="session"
    )
    min_ratings = c4.slider(
        "Min. ratings", 0, 200, 20, step=5, key="mn_graph_min", persist_state="session"
    )
    try:
        graph = services.ego_graph(model_name, center, radius, neighbours, min_ratings)
    except InsightUnavailable as exc:
        st.info(str(exc))
        return
    st.caption(
        f"{graph.number_of_nodes()} films within {radius} hops of "
        f"{md(graph.nodes[center]['label'])}: each film is linked to its {neighbours} most similar "
        "films. Size = how many people rated it, colour = its most distinctive genre. Drag to "
        "explore, hover for details."
    )
    show_ego_graph(graph)
    with st.expander("The films in this graph"):
        st.dataframe(
            neighbourhood_table(graph), hide_index=True, width="stretch", key="mn_graph_table"
        )


def similar_view(model_name: str, room_code: str | None) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Films like…")
        films_model = similarity_basis(model_name, "mn_similar_basis")
        item = pick_film("mn_similar_film", "Film (type to search)", 20)
        k = st.slider("How many", 5, 30, 10, key="mn_similar_k", persist_state="session")
        min_ratings = st.slider(
            "Min. ratings", 0, 200, 10, step=5, key="mn_similar_min", persist_state="session"
        )
        try:
            if films_model is None:
                raise InsightUnavailable("The watched-together film vectors are being trained.")
            films = services.similar_films(films_model, item, k=k, min_ratings=min_ratings)
        except InsightUnavailable as exc:
            st.info(str(exc))
        else:
            table = pd.DataFrame(
                {
                    "Film": films["label"],
                    "Similarity": films["similarity"].round(3),
                    "Genres": films["genres"].str.replace("|", ", ", regex=False),
                    "Ratings": films["n_ratings"],
                }
            )
            st.dataframe(table, hide_index=True, width="stretch", key="mn_similar_films")
    with right:
        st.subheader("Members alike")
        if not room_code:
            st.info("Join a room on the Room page to compare its members' tastes.")
            return
        pairs = services.similar_members(model_name, room_code)
        people = services.room_people(room_code)
        quiet = [n for n, m in zip(people.names, people.members, strict=True) if not len(m.items)]
        if pairs.empty:
            st.info("Once at least two members have rated some films, their tastes appear here.")
        else:
            table = pairs.rename(
                columns={"member": "Member", "other": "Alike with", "similarity": "Similarity"}
            )
            table["Similarity"] = table["Similarity"].round(2)
            st.dataframe(table, hide_index=True, width="stretch", key="mn_similar_members")
            st.caption(
                "Similarity of the members' taste vectors: 1 = the same taste, 0 = unrelated, "
                "−1 = opposite."
            )
        if quiet:
            st.caption(f"Not rated anything yet: {md(', '.join(quiet))}.")


def explore_page() -> None:
    st.title("🔭 Explore")
    current = state.current(services.get_store())
    room_code = current.room.code if current.room else None
    if current.room is not None:
        st.caption(f"Room: {md(current.room.name)} — its members appear on the map.")
    elif current.room_problem:
        st.warning(f"{current.room_problem} Showing films only.")
    else:
        st.caption("No room open: showing films only. Join a room to see its members here.")
    model_name = choose_model(room_code)
    if model_name is None:
        return
    # segmented control: its options are real buttons (role "radio"), easy to tap on a phone
    view = st.segmented_control(
        "View",
        list(VIEWS),
        format_func=VIEWS.__getitem__,
        default="map",
        key="mn_explore_view",
        persist_state="session",
        label_visibility="collapsed",
    )
    if not model_ready(model_name):
        return
    if view == "bias":
        bias_view(model_name)
    elif view == "graph":
        graph_view(model_name)
    elif view == "similar":
        similar_view(model_name, room_code)
    else:  # also when the control is cleared
        factor_map_view(model_name, room_code)


explore_page()
