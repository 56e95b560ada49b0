"""The plain progress bar a guest sees while a film model is being prepared.

Training runs as a server job (``app.jobs``); a page polls its progress and draws it here. No
jargon, no paths, no model internals: a percentage and what it means.
"""

from __future__ import annotations

import streamlit as st

READY_TEXT = "Getting the film model ready"


def progress_text(state: str, fraction: float) -> str:
    """ "Getting the film model ready — 60 %" (or that it is waiting to start)."""
    if state == "queued":
        return f"{READY_TEXT} — starting soon"
    return f"{READY_TEXT} — {round(fraction * 100)} %"


def training_progress(state: str, fraction: float) -> None:
    """Draw the bar for a model being prepared, or a plain line when its preparation failed."""
    if state == "failed":
        st.warning(
            "The film model could not be prepared. The organiser can see why and try again "
            "on the Lab page; everything else here still works."
        )
        return
    st.progress(min(max(fraction, 0.0), 1.0), text=progress_text(state, fraction))
    st.caption("This happens once; you can keep using the other pages meanwhile.")
