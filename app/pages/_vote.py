"""Tonight's vote on the Picks page: the host starts it on the shortlist, every member answers on
their phone, everyone sees the anonymous tally, the host closes it, everyone sees the match.

Not a page itself (streamlit_app.py lists the pages): the Picks page calls ``vote_section`` at
its top and ``vote_starter`` beside its list. Host actions pass the host token to the store,
which checks it; answers pass the member's own token, so a guest changes only their own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from app import session_keys as keys
from app.pages._flash import flash
from app.services import catalogue, tonight
from app.services.store import get_store
from app.store import (
    NO,
    REWATCH,
    RULE_ALL,
    RULE_MAJORITY,
    SEEN_CHOICES,
    SHORTLIST_MAX,
    SHORTLIST_MIN,
    SKIP,
    YES,
    StoreError,
    Tally,
    Vote,
)
from app.widgets.film_card import film_card
from app.widgets.rating_row import rating_row
from app.widgets.text import md
from app.widgets.vote import tally_html, vote_row

RULE_LABELS = {RULE_ALL: "Everyone accepts it", RULE_MAJORITY: "Most of us accept it"}
SHORTLIST_DEFAULT = 5
_MISSING = object()


# --------------------------------------------------------------------------- host actions


def _open(code: str, host: str, films: list[int], rule: str) -> None:
    try:
        get_store().tonight.open_vote(code, host, films, rule)
    except StoreError as exc:
        flash("error", str(exc))


def _close(code: str, host: str) -> None:
    try:
        get_store().tonight.close_vote(code, host)
    except StoreError as exc:
        flash("error", str(exc))


def vote_starter(code: str, host: str, picks: pd.DataFrame) -> None:
    """The host's control, one tap away: a button that opens a vote on the top films of the
    list shown, and beside it a small panel for how many films and what counts as a match."""
    films = [int(m) for m in picks["movieId"]]
    if len(films) < SHORTLIST_MIN:
        return
    row = st.container(horizontal=True, vertical_alignment="center", key=keys.VOTE_STARTER)
    with row:
        start = st.empty()
        with st.popover("Vote options"):
            st.markdown(
                "**Tonight's vote**: everyone says yes or no to the top films on their own "
                "phone; the app finds the one you all accept."
            )
            most = min(len(films), SHORTLIST_MAX)
            least = min(SHORTLIST_DEFAULT, most)
            n = (
                st.slider("Films on the shortlist", least, most, least, key=keys.VOTE_N)
                if most > least
                else most
            )
            rule = st.radio(
                "A match is a film that…",
                list(RULE_LABELS),
                format_func=RULE_LABELS.__getitem__,
                key=keys.VOTE_RULE,
            )
    start.button(
        f"Start the vote on the top {n}",
        type="primary",
        key=keys.VOTE_OPEN,
        on_click=_open,
        args=(code, host, films[:n], rule),
    )


# --------------------------------------------------------------------------- a member's ballot


def _answer_saver(token: str, vote_id: int, movie_id: int):
    def save(choice: str) -> None:
        try:
            get_store().tonight.cast_vote(token, vote_id, movie_id, choice)
        except StoreError as exc:
            flash("error", str(exc))

    return save


def _stars_saver(token: str, movie_id: int):
    def save(answered: bool, stars: float | None) -> None:
        store = get_store()
        try:
            if answered and stars is not None:
                store.set_rating(token, movie_id, stars)
            else:  # cleared: back to "seen it" without stars
                store.clear_rating(token, movie_id)
                store.tonight.set_seen(token, movie_id)
        except StoreError as exc:
            flash("error", str(exc))

    return save


@st.fragment
def ballot(token: str, vote: Vote) -> None:
    """The member's answers, one film at a time; a tap reruns only the ballot. After "Seen it",
    the member may add stars: a rating counts for their picks like any other."""
    store = get_store()
    mine = store.tonight.my_votes(token, vote.id)
    answers = store.answers(token)
    left = sum(m not in mine for m in vote.films)
    st.caption(
        "Your answers are secret: everyone sees only how many have voted and the result."
        + (f" {left} film{'s' if left != 1 else ''} left to answer." if left else " All done!")
    )
    for movie_id in vote.films:
        info = catalogue.film_by_movie_id(movie_id)
        if info is None:
            continue
        with st.container(border=True, key=keys.ballot(vote.id, movie_id)):
            film_card(info)
            choice = vote_row(
                keys.vote_answer(vote.id, movie_id),
                mine.get(movie_id),
                _answer_saver(token, vote.id, movie_id),
            )
            if choice in SEEN_CHOICES:
                rating_row(
                    keys.vote_stars(vote.id, movie_id),
                    answers.get(movie_id, _MISSING),
                    _stars_saver(token, movie_id),
                    label="Your rating (optional)",
                )
                st.caption("Stars are optional; they help the picks fit you.")


# --------------------------------------------------------------------------- the section


def counts_text(tally: Tally, movie_id: int) -> str:
    counts = tally.counts[movie_id]
    parts = [
        f"{counts[YES]} yes",
        f"{counts[REWATCH]} happy to rewatch",
        f"{counts[SKIP] + counts[NO]} not tonight",
    ]
    return " · ".join(parts)


def result_panel(code: str, tally: Tally, host: str | None) -> None:
    decision = tonight.decide(tally)
    vote = tally.vote
    if decision.match is not None:
        info = catalogue.film_by_movie_id(decision.match)
        label = info["label"] if info else f"movieId {decision.match}"
        st.success(f"It's a match: **{md(label)}**")
        if info:
            film_card(info, reason=counts_text(tally, decision.match))
        return
    rule = "everyone" if vote.rule == RULE_ALL else "most of you"
    st.warning(
        f"No film on the shortlist suited {rule}. The closest, by how many said yes:"
        if tally.voted or any(sum(c.values()) for c in tally.counts.values())
        else "Nobody voted. The shortlist, as it was:"
    )
    for movie_id in decision.closest:
        info = catalogue.film_by_movie_id(movie_id)
        if info:
            film_card(info, reason=counts_text(tally, movie_id))
    if decision.rejected:
        st.caption(
            "The picks below have been refilled without the films the vote ruled out"
            + (": the host can start a new vote on them." if host else ".")
        )


def vote_section(code: str, token: str | None, host: str | None) -> Vote | None:
    """Tonight's vote, if there is one tonight: the ballot for members, the live tally for
    everyone, the close button for the host, the result once closed. Returns the open vote."""
    store = get_store()
    vote = store.tonight.latest_vote(code)
    if vote is None:
        return None
    if vote.closed_at is not None and datetime.now(UTC) - vote.closed_at > tonight.TONIGHT:
        return None  # last week's vote
    tally = store.tonight.tally(code, vote)
    st.subheader("Tonight's vote")
    if not vote.is_open:
        result_panel(code, tally, host)
        return None
    st.html(tally_html(tally.voted, tally.members))
    st.caption(f"A match is a film that {RULE_LABELS[vote.rule].lower().replace('us ', 'you ')}.")
    if host:
        st.button(
            "Close the vote and show the match",
            type="primary",
            key=keys.VOTE_CLOSE,
            on_click=_close,
            args=(code, host),
        )
    if token:
        ballot(token, vote)
    elif not host:
        st.info("Add yourself on the Room page to vote.")
    return vote
