"""Explore page: films like the ones you know, as a graph you can tap through or a list with
reasons, a taste map with the room's members on it, and the films people love or hate more
than their tastes predict. Works without a room (films only).

Where you are (view, centre film, what "similar" means, the trail back) lives in the URL
(``app.pages._explore_state``), so a tab change or a reload keeps it; the film views live in
``app.pages._explore_graph``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app import session_keys as keys
from app import state
from app.pages import _explore_graph as films_views
from app.pages import _explore_state as url
from app.pages._common import model_ready
from app.pages._flash import show_flash
from app.pages._models import explore_model_section
from app.services import catalogue, insights, rooms
from app.services.store import get_store
from app.widgets.bias_chart import HATED_COLOUR, LOVED_COLOUR, bias_figure
from app.widgets.factor_map import factor_map_figure
from app.widgets.text import md
from engine.insights import InsightUnavailable


def choose_model(room_code: str | None) -> str | None:
    """The room's model when it draws these views (see ``app.pages._models``)."""
    if not insights.insight_models():
        st.error("No model with film vectors is registered; the Explore views need one (e.g. mf).")
        return None
    return explore_model_section(room_code)


def _axis_choice(column: DeltaGenerator, label: str, dims: int, default: int, key: str) -> int:
    """One of the map's two axes, among the model's ``dims`` taste axes (kept per session)."""
    names = [f"Taste axis {i + 1}" + (" (strongest)" if i == 0 else "") for i in range(dims)]
    return int(
        column.selectbox(
            label,
            range(dims),
            default,
            format_func=names.__getitem__,
            key=key,
            persist_state="session",
        )
    )


def _map_controls(dims: int) -> tuple[int, int, str, int]:
    """Which two taste axes, colour and films the map shows; kept per session."""
    with st.expander("Map settings", expanded=False):
        c1, c2 = st.columns(2)
        a = _axis_choice(c1, "Across", dims, 0, keys.MAP_X)
        b = _axis_choice(c2, "Up and down", dims, 1, keys.MAP_Y)
        colour = st.radio(
            "Colour films by",
            ["genre", "year"],
            horizontal=True,
            key=keys.MAP_COLOUR,
            persist_state="session",
        )
        counts = catalogue.get_catalogue().item_counts()
        default_min = 20 if (counts >= 20).sum() >= 100 else 1  # small datasets: every film
        min_ratings = st.slider(
            "Only films with at least this many ratings",
            1,
            200,
            default_min,
            key=keys.MAP_MIN,
            persist_state="session",
        )
    return a, b, str(colour), int(min_ratings)


def factor_map_view(model_name: str, room_code: str | None) -> None:
    dims = insights.n_components(model_name)
    if dims < 2:
        st.info(f"The {model_name} model has fewer than two factors; there is no map to draw.")
        return
    a, b, colour, min_ratings = _map_controls(dims)
    if a == b:
        st.warning("Pick two different axes.")
        return
    try:
        found = insights.factor_map(
            model_name, (a, b), min_ratings=min_ratings, room_code=room_code
        )
    except InsightUnavailable as exc:
        st.info(str(exc))
        return
    films, members, explained = found.films, found.members, found.explained
    # one finger scrolls the page over the map (no drag mode: plotly leaves touches to the
    # page, hover still works on a desktop); moving and zooming is asked for
    interact = st.toggle("Move & zoom the map", key=keys.MAP_INTERACT)
    figure = factor_map_figure(films, members, explained, (a, b), colour)
    figure.update_layout(dragmode="pan" if interact else False)
    st.plotly_chart(
        figure,
        key=keys.FACTOR_MAP,
        width="stretch",
        config={
            "scrollZoom": interact,
            "displayModeBar": interact,
            "doubleClick": "reset" if interact else False,
        },
    )
    st.caption(
        f"{len(films):,} films: films close together are liked by the same people, and each "
        "axis runs between the kinds of films named at its ends. A member's star points the "
        "way their taste leans (the furthest member is drawn near the edge): films further out "
        "that way are ones the model expects them to enjoy more; a member who has rated "
        "nothing sits in the middle."
    )
    if found.unplaced:
        st.caption(
            f"Not on the map: {md(', '.join(found.unplaced))}. The {md(model_name)} model gives "
            "them no taste vector to place, so their picks still count but this map cannot "
            "show them."
        )
    elif room_code and members.empty:
        st.caption("No room members to show yet.")


def bias_view(model_name: str, room_code: str | None) -> None:
    c1, c2 = st.columns(2)
    min_ratings = c1.slider(
        "Only films with at least this many ratings",
        1,
        300,
        50,
        key=keys.BIAS_MIN,
        persist_state="session",
    )
    n = c2.slider("Films per list", 5, 30, 15, key=keys.BIAS_N, persist_state="session")
    try:
        loved, hated = insights.bias_ranking(model_name, min_ratings=min_ratings, n=n)
    except InsightUnavailable as exc:
        st.info(str(exc))
        return
    if loved.empty:
        st.warning("No film has that many ratings; lower the minimum.")
        return
    st.caption(
        "How much better (or worse) people rate a film than their tastes would predict: the "
        "cult favourites and the disappointments."
    )
    left, right = st.columns(2)
    left.plotly_chart(
        bias_figure(loved, "Loved more than expected", LOVED_COLOUR),
        key=keys.BIAS_LOVED,
        width="stretch",
        config={"staticPlot": True},
    )
    right.plotly_chart(
        bias_figure(hated, "Liked less than expected", HATED_COLOUR),
        key=keys.BIAS_HATED,
        width="stretch",
        config={"staticPlot": True},
    )
    room_versus_crowd(model_name, room_code)


def room_versus_crowd(model_name: str, room_code: str | None) -> None:
    """The room's own "loved": films nobody here has seen that these members are expected to
    rate furthest above everyone else's average."""
    if not room_code:
        return
    st.subheader("What this room will love more than the crowd")
    films = insights.room_loves_more(model_name, room_code)
    if films.empty:
        st.caption("Once members have rated a few films, the films this room will rate far "
                   "above everyone else show here.")  # fmt: skip
        return
    st.caption(
        "Films none of you has seen yet, that you are expected to rate well above the "
        "average of everyone who rated them (each has at least 30 ratings)."
    )
    members = [c for c in films.columns if c.startswith("stars:")]
    table = pd.DataFrame(
        {
            "Film": films["label"],
            "You, on average": films["room"].map(stars),
            "Everyone": films["crowd"].map(stars),
            **{c.removeprefix("stars:"): films[c].map(stars) for c in members},
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", key=keys.ROOM_VERSUS_CROWD)


def stars(value: float) -> str:
    return f"{value:.1f}★"


def members_alike(model_name: str, room_code: str | None) -> None:
    st.subheader("Members alike")
    if room_code and not model_ready(model_name):
        return
    if not room_code:
        st.info("Join a room on the Room page to compare its members' tastes.")
        return
    pairs = insights.similar_members(model_name, room_code)
    people = rooms.room_people(room_code)
    quiet = [n for n, m in zip(people.names, people.members, strict=True) if not len(m.items)]
    if pairs.empty:
        st.info("Once at least two members have rated some films, their tastes appear here.")
    else:
        table = pairs.rename(
            columns={"member": "Member", "other": "Alike with", "similarity": "Similarity"}
        )
        table["Similarity"] = table["Similarity"].round(2)
        st.dataframe(table, hide_index=True, width="stretch", key=keys.SIMILAR_MEMBERS)
        st.caption(
            "Similarity of the members' taste vectors: 1 = the same taste, 0 = unrelated, "
            "−1 = opposite."
        )
    if quiet:
        st.caption(f"Not rated anything yet: {md(', '.join(quiet))}.")


def explore_page() -> None:
    st.title("🔭 Explore")
    url.sync()
    current = state.current(get_store())
    room_code = current.room.code if current.room else None
    if current.room is not None:
        st.caption(f"Room: {md(current.room.name)} — its members appear on the graph and map.")
    elif current.room_problem:
        st.warning(f"{current.room_problem} Showing films only.")
    else:
        st.caption("No room open: showing films only. Join a room to see its members here.")
    model_name = choose_model(room_code)
    if model_name is None:
        return
    films_views.handle_actions(current)
    show_flash()
    # segmented control: real buttons (role "radio"), easy to tap; tapping the chosen one again
    # clears it, and the view stays what the URL says
    chosen = st.segmented_control(
        "View",
        list(url.VIEWS),
        format_func=url.VIEWS.__getitem__,
        default=url.view(),
        key=keys.EXPLORE_VIEW,
        label_visibility="collapsed",
    )
    url.set_view(chosen)
    view = url.view()
    films_views.rate_panel(current)
    films_views.shortlist_panel(current)
    if view == "graph":
        films_views.graph_view(model_name, room_code, current)
        return
    if view == "similar":
        films_views.similar_view(model_name)
        members_alike(model_name, room_code)
        return
    if not model_ready(model_name):
        return
    if view == "bias":
        bias_view(model_name, room_code)
    else:
        factor_map_view(model_name, room_code)


explore_page()
