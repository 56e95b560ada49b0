"""Tonight's vote on a phone: four big answer buttons per film, and the anonymous tally.

The answers are a segmented control (real buttons, role "radio", at least 44 px tall by the
stylesheet), saved by its callback before the rerun; the tally is plain counts.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.store import CHOICES, NO, REWATCH, SKIP, YES
from app.widgets.text import h

CHOICE_LABELS = {
    YES: "Yes",
    REWATCH: "Seen it, happy to rewatch",
    SKIP: "Seen it, skip",
    NO: "Not tonight",
}


def vote_row(key: str, current: str | None, on_answer: Callable[[str], None]) -> str | None:
    """The four answers for one film; ``on_answer(choice)`` runs in the widget's callback.
    Returns the answer now shown (None before the member answers)."""

    def _changed() -> None:
        choice = st.session_state.get(key)
        if choice in CHOICES:
            on_answer(choice)

    if st.session_state.get(key) is None and current is not None:
        # the stored answer, set before the widget exists (a default as well would make
        # Streamlit warn); also after a tap on the chosen answer, which deselects it: that is not
        # a fifth answer, so the stored one stays shown
        st.session_state[key] = current
    return st.segmented_control(
        "Your answer",
        list(CHOICES),
        format_func=CHOICE_LABELS.__getitem__,
        key=key,
        on_change=_changed,
        label_visibility="collapsed",
        width="stretch",
    )


def tally_text(voted: int, members: int) -> str:
    """ "3 of 5 have voted" (who is never said)."""
    if members == 0:
        return "Nobody is in the room yet."
    verb = "has" if voted == 1 and members == 1 else "have"
    return f"{voted} of {members} {verb} voted"


def tally_html(voted: int, members: int) -> str:
    """The tally as a big line with a progress bar; numbers only, so nothing to escape but the
    text itself (escaped anyway)."""
    share = 0 if members == 0 else round(100 * voted / members)
    return (
        f'<div class="mn-tally" role="status" aria-live="polite">'
        f'<span class="mn-tally-text">{h(tally_text(voted, members))}</span>'
        f'<span class="mn-tally-track"><span class="mn-tally-fill" style="width:{share}%">'
        "</span></span></div>"
    )
