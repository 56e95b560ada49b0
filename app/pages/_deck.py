"""The Room page's rating deck: wiring between the browser component and the store.

The deck (``app.widgets.rating_deck``) answers taps in the browser and sends its queue of
unacknowledged answers as state; here, in the state's callback, the queue is applied to the
store (``app.services.answer_queue.apply_queue``: in order, once each) and the acknowledgement
is kept per page load (``mount``) in the session, then the deck is drawn again with fresh spare
cards chosen with the new answers in mind. The section is a fragment, so a tap reruns only it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import session_keys as keys
from app.services import catalogue, search
from app.services import deck as deck_service
from app.services.answer_queue import QueueOutcome, apply_queue, parse_queue
from app.services.store import get_store
from app.store import StoreError
from app.widgets.palette import GENRE_COLOURS, NO_GENRE_COLOUR
from app.widgets.rating_deck import queue_state, rating_deck


def _apply(token: str) -> None:
    """The state callback: save the queue the browser sent, remember how far it got."""
    queue = parse_queue(queue_state(keys.deck(token)))
    if queue is None:
        return
    acks: dict[str, int] = st.session_state.setdefault(keys.deck_acks(token), {})
    outcome = apply_queue(get_store(), token, queue, acks.get(queue.mount, 0))
    acks[queue.mount] = outcome.acked
    st.session_state[keys.deck_outcome(token)] = (queue.mount, outcome)


def _search_fields(state: dict[str, Any]) -> dict[str, Any]:
    """The title index (once, when the browser asks and lacks it) or, for a catalogue too large
    to send, the server's matches for what was typed."""
    index = deck_service.title_index()
    if index is not None:
        have = state.get("index") == index["fingerprint"]
        wants = bool(state.get("want_index"))
        return {"index_available": True, "index": index if wants and not have else None}
    query = str(state.get("query") or "")[:200]
    found = search.search_films(query) if query.strip() else []
    cards = deck_service.film_cards(int(catalogue.film(i)["movieId"]) for i in found)
    return {"index_available": False, "found": cards, "found_for": query.strip()}


def deck_data(token: str, name: str) -> dict[str, Any]:
    """Everything the deck draws, after the latest queue was applied."""
    raw = queue_state(keys.deck(token))
    state = raw if isinstance(raw, dict) else {}
    mount, outcome = st.session_state.get(keys.deck_outcome(token), (None, QueueOutcome(0)))
    data: dict[str, Any] = {
        "name": name,
        "closeness": deck_service.closeness_rule(),
        "storage": keys.deck(token),
        "palette": {**GENRE_COLOURS, "": NO_GENRE_COLOUR},
        "ack": {"mount": mount, "seq": outcome.acked} if mount else None,
        "retry": outcome.retry,
        "refused": list(outcome.refused),
    }
    try:
        answers = deck_service.saved_answers(token)
        cards = deck_service.next_cards(token)
    except StoreError as exc:  # nothing can be read: say so, keep the browser's queue
        return {**data, "retry": str(exc), "answers": {}, "cards": []}
    data.update(
        answers={str(k): v for k, v in answers.items()},
        known={str(c["id"]): c for c in deck_service.film_cards(answers)},
        cards=cards,
        cards_done=not cards,
        **_search_fields(state),
    )
    return data


@st.fragment
def deck_section(token: str, name: str) -> None:
    """The member's deck and search; a tap reruns only this fragment."""
    key = keys.deck(token)
    rating_deck(key, deck_data(token, name), on_queue=lambda: _apply(token))
