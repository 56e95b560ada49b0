"""Picks page: the films the whole room will enjoy, with everyone's predicted rating."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state
from app.pages._common import model_ready
from app.pages._models import room_model
from app.store import StoreError
from app.widgets.film_card import film_card
from app.widgets.group_score import score_caption
from app.widgets.member_bars import member_bars_html
from app.widgets.text import md

PRED = "pred:"
TOP_K = 10


def _mark_watched(code: str, movie_id: int, title: str, watched: bool) -> None:
    store = services.get_store()
    try:
        if watched:
            store.mark_watched(code, movie_id)
            st.session_state["mn_flash"] = ("success", f"Marked {md(title)} as watched.")
        else:
            store.unmark_watched(code, movie_id)
    except StoreError as exc:
        st.session_state["mn_flash"] = ("error", str(exc))


def controls(room_code: str) -> dict:
    """Strategy and filters, remembered in the session across pages; the model is the room's."""
    labels = services.strategies()
    left, right = st.columns(2)
    strategy = left.selectbox(
        "How to balance the group",
        list(labels),
        format_func=lambda n: labels[n],
        key="mn_strategy",
    )
    left.caption(services.strategy_description(strategy))
    with right:
        model = room_model(room_code)
    with st.expander("Filters"):
        genres = st.multiselect("Genres (any of)", services.genres(), key="mn_genres")
        lo, hi = services.year_range()
        decades = list(range(lo // 10 * 10, hi // 10 * 10 + 10, 10))
        d_lo, d_hi = st.select_slider(
            "Decades",
            decades,
            value=(decades[0], decades[-1]),
            format_func=lambda d: f"{d}s",
            key="mn_decades",
        )
        min_ratings = st.slider(
            "Minimum popularity (people in the dataset who rated it)",
            0,
            100,
            # 10 by default: star predictions (mf, pmf) favour films a handful of people rated;
            # protocol G measured group NDCG@10 ~15x higher for mf with this floor. The default
            # hybrid already weighs P(watch); the floor costs it little (docs/BENCHMARKS.md)
            10,
            step=5,
            key="mn_min_ratings",
        )
    years = None if (d_lo, d_hi) == (decades[0], decades[-1]) else (d_lo, d_hi + 9)
    return {
        "strategy": strategy,
        "model_name": model,
        "genres": genres,
        "years": years,
        "min_ratings": min_ratings,
    }


def picks_table(picks: pd.DataFrame) -> pd.DataFrame:
    preds = [str(c) for c in picks.columns if str(c).startswith(PRED)]
    table = pd.DataFrame(picks[["rank", "label", "group_score", *preds]])
    table.columns = ["#", "Film", "Group score", *(c[len(PRED) :] for c in preds)]
    return table


def pick_cards(code: str, picks: pd.DataFrame) -> None:
    preds = [c for c in picks.columns if c.startswith(PRED)]
    for row in picks.to_dict("records"):
        film = {**services.film(row["item"]), **row}  # adds the bare title for the poster
        bars = member_bars_html({c[len(PRED) :]: film[c] for c in preds})
        with st.container(border=True):
            card, action = st.columns([5, 1])
            with card:
                film_card(film, reason=f"#{film['rank']} · {film['reason']}", extra_html=bars)
            action.button(
                "We watched it",
                key=f"watched:{film['movieId']}",
                on_click=_mark_watched,
                args=(code, int(film["movieId"]), str(film["title"]), True),
            )


def explain_choice(code: str, picks: pd.DataFrame, options: dict, anyone_rated: bool) -> None:
    """What the group score is for this strategy, and which other choices give this room the
    very same list (so a choice that changes nothing says so)."""
    labels = services.strategies()
    strategy = options["strategy"]
    st.caption(md(score_caption(picks.attrs)))
    if not anyone_rated:  # every strategy shows the same popular films; the note above says so
        return
    same = services.same_picks_as(code, k=TOP_K, **options)
    if same:
        st.info(
            f"For this room, {md(labels[strategy])} gives the same {len(picks)} films in the "
            f"same order as {md(', '.join(same))}: choosing between them changes nothing here."
        )


def watched_list(code: str) -> None:
    watched = sorted(services.get_store().watched(code))
    if not watched:
        return
    with st.expander(f"Watched together ({len(watched)})"):
        for movie_id in watched:
            info = services.film_by_movie_id(movie_id)
            label = info["label"] if info else f"movieId {movie_id}"
            text, undo = st.columns([5, 1])
            text.text(label)
            undo.button(
                "Undo",
                key=f"unwatch:{movie_id}",
                on_click=_mark_watched,
                args=(code, movie_id, str(label), False),
            )


def picks_page() -> None:
    store = services.get_store()
    current = state.current(store)
    kind, message = st.session_state.pop("mn_flash", (None, None))
    if message:
        getattr(st, kind)(message)
    st.title("Tonight's picks")
    if current.room is None:
        if current.room_problem:
            st.error(f"{current.room_problem} Check the link or code on the Room page.")
        else:
            st.info(
                "No room yet. Start or join a room on the Room page, rate a few films, then "
                "come back here for the group's picks."
            )
        st.page_link("app/pages/room.py", label="Go to the Room page", icon=":material/group:")
        return
    room = current.room
    st.caption(f"Room: {md(room.name)}")
    people = services.room_people(room.code)
    anyone_rated = any(len(m.items) for m in people.members)
    if not people.names:
        st.info(
            "Nobody has joined this room yet, so these are popular, well-rated films. Add "
            "members on the Room page to get picks for your group."
        )
    elif not anyone_rated:
        st.info(
            "Nobody has rated any films yet, so these are popular, well-rated films. Rate a "
            "few on the Room page to make them personal."
        )
    else:
        quiet = [n for n, m in zip(people.names, people.members, strict=True) if not len(m.items)]
        if quiet:
            st.caption(
                f"Not rated anything yet: {md(', '.join(quiet))} (counted as average taste)."
            )

    options = controls(room.code)
    if not model_ready(options["model_name"]):
        return
    picks = services.group_picks(room.code, k=TOP_K, **options)
    if picks.empty:
        st.warning(
            "No films match these filters. Widen the decades, lower the minimum "
            "popularity, or drop a genre."
        )
    else:
        explain_choice(room.code, picks, options, anyone_rated)
        with st.expander("All picks as a table"):
            st.dataframe(picks_table(picks), hide_index=True, width="stretch", key="picks_table")
        pick_cards(room.code, picks)
    watched_list(room.code)


picks_page()
