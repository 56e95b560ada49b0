"""Search-as-you-type for a film: a text box that asks the server after a short pause, and the
best matches as buttons big enough to tap.

A fragment, so typing reruns only this box and its results, not the page around it. The
matching itself is ``app.services.search_films`` (rapidfuzz on the server): the browser never
receives the whole catalogue.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.services import catalogue, search
from app.widgets.text import md

TYPING_PAUSE = "150ms"  # commit after this pause in typing (Streamlit's ``live``): shorter
# than the gap between a person's keystrokes when they stop, long enough not to search per key


def film_search(key: str, on_chosen: Callable[[int], None] | None = None) -> int | None:
    """Draw the search box and its results; returns the chosen movieId (kept in the session
    under ``key + ':chosen'`` until another is chosen), or None.

    ``on_chosen(movie_id)`` runs in the button's callback when a result is tapped.
    """
    chosen_key = f"{key}:chosen"
    query = st.text_input(
        "Search for a film",
        key=key,
        placeholder="Type at least two letters of a title…",
        live=TYPING_PAUSE,
        type="search",
        autocomplete="off",
    )
    found = search.search_films(query or "")
    if query and query.strip() and not found:
        if len(query.strip()) < search.MIN_QUERY:
            st.caption("Keep typing: two letters or more.")
        else:
            st.caption("No film matches that; try fewer or other words.")

    def choose(movie_id: int) -> None:
        st.session_state[chosen_key] = movie_id
        if on_chosen is not None:
            on_chosen(movie_id)

    with st.container(key=f"{key}-results", gap="small"):
        for item in found:
            film = catalogue.film(item)
            st.button(
                md(film["label"]),  # button labels read Markdown: a title stays its text
                key=f"{key}:pick:{film['movieId']}",
                on_click=choose,
                args=(int(film["movieId"]),),
                width="stretch",
            )
    chosen = st.session_state.get(chosen_key)
    return int(chosen) if chosen is not None else None
