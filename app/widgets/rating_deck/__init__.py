"""The rating deck: a Streamlit custom component (components v2, inline, no build step) that
shows one film to rate at a time and answers a tap in the browser.

Why a component: with Streamlit widgets every tap waited for a server round trip before the
next card appeared, and a tap that landed while the page was rerunning could be lost. Here the
browser holds the card on screen plus a few spare ones, so a tap shows the next film in the same
frame, and the answers travel as the component's *state*: the whole queue of answers the server
has not acknowledged (``deck.js`` explains the protocol; ``app.services.answer_queue`` applies it).
Search runs in the browser too, over a compact title index sent once (``app.services.deck``).

This module only draws: the page passes the data (cards, saved answers, the acknowledgement) and
applies the queue in the ``on_queue_change`` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.components.v2 import component

HERE = Path(__file__).resolve().parent
COMPONENT_NAME = "movienight.rating_deck"


# The component's script, one module joined from files with one job each: the search over the
# title index, the deck's state and protocol (and the default export), and its drawing (methods
# added to Deck's prototype). Components v2 takes one inline script, so they are joined here
# rather than imported from each other.
SCRIPTS = ("search.js", "deck.js", "view.js")


@cache
def script() -> str:
    """The deck's whole script, as the browser runs it."""
    return "\n".join((HERE / name).read_text(encoding="utf-8") for name in SCRIPTS)


@cache
def _component() -> Callable[..., Any]:
    return component(
        COMPONENT_NAME, css=(HERE / "deck.css").read_text(encoding="utf-8"), js=script()
    )


def queue_state(key: str) -> object:
    """The deck's last state value (the queue it sent), read inside ``on_queue_change``."""
    value = st.session_state.get(key)
    if isinstance(value, dict):
        return value.get("queue")
    return getattr(value, "queue", None)


def rating_deck(key: str, data: dict[str, Any], on_queue: Callable[[], None]) -> None:
    """Mount the deck with ``data``; ``on_queue()`` runs (before the rerun draws) whenever the
    browser sends a new queue state. ``data`` keys: ``name``, ``cards``, ``answers``, ``known``,
    ``ack``, ``retry``, ``refused``, ``ready_at``, ``palette``, ``storage``, ``index``,
    ``index_available``, ``found``, ``found_for``, ``cards_done``."""
    _component()(key=key, data=data, on_queue_change=on_queue, default={"queue": None})
