"""Explore's film views: the film graph (tap a film: centre it, rate it, add it to tonight's vote)
and the similar-films list, both by the similarity the Similar protocol chose by default.

Not a page itself (``app/pages/explore.py`` calls these). A node's tap card links back to this
page with URL parameters (``app.pages._explore_state``): "Centre here" moves the centre and
grows the back trail; "Rate it" and "Add to tonight's vote" are one-shot parameters handled
here, so the graph page itself needs no channel back to Python.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import session_keys as keys
from app.pages import _explore_state as url
from app.pages._common import model_ready
from app.pages._flash import flash
from app.services import catalogue, insights
from app.services.store import get_store
from app.store import SHORTLIST_MAX, SHORTLIST_MIN, StoreError
from app.widgets.ego_graph import neighbourhood_table, show_ego_graph
from app.widgets.film_search import film_search
from app.widgets.rating_row import rating_row
from app.widgets.text import md


def similarity_basis() -> str:
    """Which films count as alike, as two plain choices; kept in the URL."""
    chosen = st.segmented_control(
        "Similar means",
        list(insights.SIMILARITY_BASES),
        format_func=insights.SIMILARITY_BASES.__getitem__,
        default=url.basis(),
        key=keys.EXPLORE_BASIS,
    )
    url.set_basis(chosen)
    basis = url.basis()
    st.caption(insights.SIMILARITY_EXPLAINED[basis])
    return basis


def centre_picker() -> int:
    """The film at the centre: the forgiving search of the Room page, and a back trail."""

    def chosen(movie_id: int) -> None:
        found = catalogue.movie_index().get_indexer([movie_id])[0]
        if found >= 0:
            url.go_to(int(found))

    with st.expander("Pick another film", expanded=False):
        film_search(keys.EXPLORE_SEARCH, on_chosen=chosen)
    past = url.trail()
    if past:
        back = past[-1]
        st.button(
            f"← Back to {md(insights.film_label(back))}",
            key=keys.EXPLORE_BACK,
            on_click=url.go_to,
            args=(back, False),
        )
    return url.centre()


def _links(graph_nodes: list[int], can_propose: bool) -> dict[int, dict[str, dict[str, str]]]:
    links = {}
    for item in graph_nodes:
        movie = str(url.movie_id(item))
        links[item] = {"centre": url.centre_links(item), "rate": {url.RATE: movie}}
        if can_propose:
            links[item]["propose"] = {url.PROPOSE: movie}
    return links


def handle_actions(current: object) -> None:
    """Apply a tap card's one-shot "Rate it" or "Add to tonight's vote"."""
    rate = url.take_action(url.RATE)
    if rate is not None:
        st.session_state[keys.EXPLORE_RATE] = rate
    propose = url.take_action(url.PROPOSE)
    if propose is not None and getattr(current, "is_host", False):
        films = url.shortlist()
        movie = url.movie_id(propose)
        if movie not in films and len(films) < SHORTLIST_MAX:
            url.set_shortlist([*films, movie])
        flash("success", f"{md(insights.film_label(propose))} is on your list for tonight's vote.")


def rate_panel(current: object) -> None:
    """The rating row for the film whose "Rate it" was tapped (needs a member of a room)."""
    item = st.session_state.get(keys.EXPLORE_RATE)
    if item is None:
        return
    info = catalogue.film(int(item))
    member = getattr(current, "member", None)
    with st.container(border=True, key=keys.EXPLORE_RATING):
        st.markdown(f"**Rate {md(insights.film_label(int(item)))}**")
        if member is None:
            st.info("Join a room on the Room page to rate films.")
            return
        token, movie = member.token, int(info["movieId"])
        answers = get_store().answers(token)

        def save(answered: bool, stars: float | None) -> None:
            store = get_store()
            try:
                if answered:
                    store.set_rating(token, movie, stars)
                else:
                    store.clear_rating(token, movie)
            except StoreError as exc:
                flash("error", f"Could not save that: {exc}")

        rating_row(keys.explore_stars(movie), answers.get(movie, object()), save)


def _open_vote(code: str, host: str, films: list[int]) -> None:
    try:
        get_store().tonight.open_vote(code, host, films)
    except StoreError as exc:
        flash("error", str(exc))
        return
    url.set_shortlist([])
    flash("success", "Tonight's vote is open: everyone answers on Picks.")


def shortlist_panel(current: object) -> None:
    """The host's list for tonight's vote, gathered from tap cards, and the button to start it."""
    films = url.shortlist()
    host, room = getattr(current, "host", None), getattr(current, "room", None)
    if not films or host is None or room is None:
        return
    with st.container(border=True, key=keys.EXPLORE_SHORTLIST):
        names = [insights.film_label(int(i)) for i in catalogue.items_of(films)]
        st.markdown("**Your list for tonight's vote:** " + md(", ".join(names)))
        if len(films) < SHORTLIST_MIN:
            st.caption(f"Add at least {SHORTLIST_MIN} films to start a vote.")
            return
        st.button(
            f"Start tonight's vote on these {len(films)}",
            type="primary",
            key=keys.EXPLORE_VOTE,
            on_click=_open_vote,
            args=(room.code, host, list(films)),
        )


def graph_view(model_name: str, room_code: str | None, current: object) -> None:
    basis = similarity_basis()
    center = centre_picker()
    if basis == "taste" and not model_ready(model_name):
        return
    graph = insights.ego_graph(model_name, center, basis=basis)
    items = [int(n) for n in graph.nodes]
    # co-watching needs no model; the members' stars do (shown once it is ready)
    ready = bool(room_code) and (basis == "taste" or model_ready(model_name))
    marks = insights.member_marks(model_name, room_code, items) if ready else {}
    st.caption(
        f"**{md(graph.nodes[center]['label'])}** and the {graph.number_of_nodes() - 1} films most "
        "like it. Tap a film for who would like it and what to do next; bigger = more rated. "
        "Members' stars are written under the films they rated."
    )
    show_ego_graph(
        graph,
        marks=marks,
        vote=insights.vote_items(room_code),
        links=_links(items, getattr(current, "is_host", False)),
    )
    with st.expander("The films in this graph, and why they are linked"):
        st.dataframe(
            neighbourhood_table(graph), hide_index=True, width="stretch", key=keys.GRAPH_TABLE
        )


def similar_view(model_name: str) -> None:
    basis = similarity_basis()
    item = centre_picker()
    if basis == "taste" and not model_ready(model_name):
        return
    films = insights.similar_films(model_name, item, k=10, basis=basis)
    st.markdown(f"**Films like {md(insights.film_label(item))}**")
    table = pd.DataFrame(
        {
            "Film": films["label"],
            "Why": films["why"],
            "Ratings": films["n_ratings"],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", key=keys.SIMILAR_FILMS)
