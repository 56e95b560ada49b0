"""Picks page: the films the whole room will enjoy, each saying in plain words why it suits whom,
and Tonight's vote.

Live without ever rerunning the whole page on its own: the vote and the list are each a fragment
(``st.fragment(run_every=...)``) that reads the room's change stamp every few seconds and redraws
in place, so a setting the person just chose (in the URL) is never overwritten by a rerun the
server started. The blend is cached per room state, so a redraw with nothing changed costs a few
store reads. The strategy is the one control above the list; filters, the model, the strategy's
own score and citation, and the table sit below it. The settings are in the URL, so a refresh or
a shared link shows the same picks; the model is the room's. The page never trains: a model not
ready yet is a server job whose progress it shows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import session_keys as keys
from app import state
from app.pages._common import model_ready
from app.pages._flash import flash, show_flash
from app.pages._models import room_model_section
from app.pages._vote import vote_section, vote_starter
from app.services import catalogue, room_input, rooms
from app.services.store import get_store
from app.store import StoreError
from app.widgets.group_score import score_caption
from app.widgets.member_bars import member_bars_html
from app.widgets.pick_card import pick_card_html, why_line
from app.widgets.text import md

PRED = "pred:"
TOP_K = 10
POLL_EVERY = 1.5  # seconds between the live parts asking the store whether the room changed
CSS = Path(__file__).resolve().parents[2] / "assets" / "picks.css"
DEFAULT_SCORE_LABEL = "Group score"
# "Films we probably haven't all seen": engine.group.novelty's ν (0 off .. 1 strongest), which
# re-ranks the strategy's own pool against the share of the room likely to have seen each film;
# protocol G (docs/BENCHMARKS.md) measures what each ν costs in NDCG and gains in novelty
NOVELTY = {"Off": 0.0, "A little": 0.25, "More": 0.5, "Mostly new to us": 1.0}


def _mark_watched(code: str, movie_id: int, title: str, watched: bool) -> None:
    store = get_store()
    try:
        if watched:
            store.mark_watched(code, movie_id)
            flash("success", f"Marked {md(title)} as watched.")
        else:
            store.unmark_watched(code, movie_id)
    except StoreError as exc:
        flash("error", str(exc))


def strategy_choice() -> str:
    """How to balance the group: the one setting above the list, kept in the URL."""
    labels = rooms.strategies()
    return str(
        st.selectbox(
            "How to balance the group",
            list(labels),
            format_func=lambda n: labels[n],
            key=keys.STRATEGY,
            bind="query-params",
        )
    )


def controls(room_code: str, strategy: str) -> room_input.PicksOptions:
    """Filters and novelty, each kept in the URL (``bind="query-params"``): a refresh or a
    shared link shows the same picks, and they are still set after visiting another page. The
    model is the room's (an operator setting), named in one caption line."""
    with st.expander("Filters"):
        novelty = st.select_slider(
            "Films we probably haven't all seen",
            list(NOVELTY),
            value="Off",
            key=keys.NOVELTY,
            bind="query-params",
            help="Trades a little predicted enjoyment for films fewer people have rated, so the "
            "list is not only the classics most of you know.",
        )
        genres = st.multiselect(
            "Genres (any of)", catalogue.genres(), key=keys.GENRES, bind="query-params"
        )
        lo, hi = catalogue.year_range()
        decades = list(range(lo // 10 * 10, hi // 10 * 10 + 10, 10))
        d_lo, d_hi = st.select_slider(
            "Decades",
            decades,
            value=(decades[0], decades[-1]),
            format_func=lambda d: f"{d}s",
            key=keys.DECADES,
            bind="query-params",
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
            key=keys.MIN_RATINGS,
            bind="query-params",
        )
    model = room_model_section(room_code)
    years = None if (d_lo, d_hi) == (decades[0], decades[-1]) else (d_lo, d_hi + 9)
    return room_input.PicksOptions(
        model_name=model,
        strategy=strategy,
        k=TOP_K,
        genres=tuple(genres),
        years=years,
        min_ratings=int(min_ratings),
        novelty=NOVELTY.get(str(novelty), 0.0),
    )


def score_label(picks: pd.DataFrame) -> str:
    """What ``group_score`` is: the strategy's own label for the score it ranked by."""
    return str(picks.attrs.get("score_label") or DEFAULT_SCORE_LABEL)


def score_text(picks: pd.DataFrame, score: float) -> str:
    unit = str(picks.attrs.get("score_unit", ""))
    return f"{score_label(picks)}: {score:.2f}{unit}"


def picks_table(picks: pd.DataFrame) -> pd.DataFrame:
    preds = [str(c) for c in picks.columns if str(c).startswith(PRED)]
    table = pd.DataFrame(picks[["rank", "label", "group_score", *preds]])
    table.columns = ["#", "Film", score_label(picks), *(c[len(PRED) :] for c in preds)]
    return table


def pick_cards(code: str, picks: pd.DataFrame) -> None:
    """One compact card per pick: why it suits whom in plain words; the strategy's own reason,
    its score and everyone's bar under "Details"; "We watched it" takes it off the list."""
    preds = [c for c in picks.columns if c.startswith(PRED)]
    ranks: dict = picks.attrs.get("member_ranks", {})
    strategy = rooms.strategies().get(str(picks.attrs.get("strategy")))
    for j, row in enumerate(picks.to_dict("records")):
        film = {**catalogue.film(row["item"]), **row}  # adds the bare title for the poster
        stars = {c[len(PRED) :]: float(film[c]) for c in preds}
        why = why_line(stars, {n: int(r[j]) for n, r in ranks.items()}) or str(film["reason"])
        how = f"{strategy}: {film['reason']}" if strategy else str(film["reason"])
        details = [how, score_text(picks, float(film["group_score"]))]
        with st.container(border=True, key=keys.pick_card(film["movieId"])):
            st.html(pick_card_html(film, why, details, member_bars_html(stars)))
            st.button(
                "We watched it",
                key=keys.watched(film["movieId"]),
                type="tertiary",
                on_click=_mark_watched,
                args=(code, int(film["movieId"]), str(film["title"]), True),
            )


def explain_choice(
    code: str, picks: pd.DataFrame, options: room_input.PicksOptions, people: rooms.RoomPeople
) -> None:
    """What the strategy is and what its group score means, and which other choices give this
    room the very same list (so a choice that changes nothing says so)."""
    labels = rooms.strategies()
    strategy = options.strategy or next(iter(labels))  # the default comes first
    st.caption(rooms.strategy_description(strategy))
    st.caption(md(score_caption(picks.attrs)))
    if not any(len(m.items) for m in people.members):  # every strategy shows the same films
        return
    if options.novelty:  # the comparison is of the strategies' own lists, without novelty
        return
    same = rooms.room_same_picks(code, options)
    if same:
        st.info(
            f"For this room, {md(labels[strategy])} gives the same {len(picks)} films in the "
            f"same order as {md(', '.join(same))}: choosing between them changes nothing here."
        )


def watched_list(code: str) -> None:
    watched = sorted(get_store().watched(code))
    if not watched:
        return
    with st.expander(f"Watched together ({len(watched)})"):
        for movie_id in watched:
            info = catalogue.film_by_movie_id(movie_id)
            label = info["label"] if info else f"movieId {movie_id}"
            text, undo = st.columns([5, 1])
            text.text(label)
            undo.button(
                "Undo",
                key=keys.unwatch(movie_id),
                on_click=_mark_watched,
                args=(code, movie_id, str(label), False),
            )


def who_is_missing(people: rooms.RoomPeople) -> None:
    if not people.names:
        st.info(
            "Nobody has joined this room yet, so these are popular, well-rated films. Add "
            "members on the Room page to get picks for your group."
        )
    elif not any(len(m.items) or len(m.seen) for m in people.members):
        st.info(
            "Nobody has rated any films yet, so these are popular, well-rated films. Rate a "
            "few on the Room page to make them personal."
        )
    else:
        quiet = [
            n
            for n, m in zip(people.names, people.members, strict=True)
            if not len(m.items) and not len(m.seen)
        ]
        if quiet:
            st.caption(
                f"Not rated anything yet: {md(', '.join(quiet))} (counted as average taste)."
            )


@st.fragment(run_every=POLL_EVERY)
def live_vote(code: str, token: str | None, host: str | None) -> None:
    """Tonight's vote (ballot, tally, result), redrawn in place every ``POLL_EVERY`` s."""
    show_flash()
    try:
        vote_section(code, token, host)
    except StoreError as exc:  # the database is unreachable for a moment: say so, keep polling
        st.warning(str(exc))


@st.fragment(run_every=POLL_EVERY)
def live_picks(code: str, options: room_input.PicksOptions, host: str | None) -> None:
    """The list for the room as it is now, redrawn in place every ``POLL_EVERY`` s (from the
    cache while the room's stamp is unchanged): who has not rated yet, the host's vote button,
    the cards, how they were chosen (and the table), the films watched together."""
    show_flash()
    try:
        stamp = get_store().room_stamp(code)
        people = rooms.room_people(code)
        vote = get_store().tonight.latest_vote(code)
    except StoreError as exc:
        st.warning(str(exc))
        return
    who_is_missing(people)
    if model_ready(options.model_name):
        picks = rooms.room_picks(code, options, stamp).frame
        if picks.empty:
            st.warning(
                "No films match these filters. Widen the decades, lower the minimum "
                "popularity, or drop a genre."
            )
        else:
            if host and (vote is None or not vote.is_open):
                vote_starter(code, host, picks)
            pick_cards(code, picks)
            with st.expander("How these picks were chosen"):
                explain_choice(code, picks, options, people)
                st.dataframe(
                    picks_table(picks), hide_index=True, width="stretch", key=keys.PICKS_TABLE
                )
    watched_list(code)


def picks_page() -> None:
    store = get_store()
    current = state.current(store)
    st.html(f"<style>{CSS.read_text(encoding='utf-8')}</style>")
    show_flash()
    st.title("Tonight's picks")
    if current.room is None:
        if current.room_problem:
            st.error(f"{current.room_problem} Or start a room on the Room page.")
        else:
            st.info(
                "No room yet. Start or join a room on the Room page, rate a few films, then "
                "come back here for the group's picks."
            )
        st.page_link("app/pages/room.py", label="Go to the Room page", icon=":material/group:")
        return
    room = current.room
    token = current.member.token if current.member else None
    st.caption(f"Room: {md(room.name)}")
    live_vote(room.code, token, current.host)
    st.subheader("The group's picks")
    strategy = strategy_choice()
    slot = st.container()  # the list goes here, above the settings it depends on
    options = controls(room.code, strategy)
    with slot:
        live_picks(room.code, options, current.host)


picks_page()
