"""What several pages do the same way (not a page itself: streamlit_app.py lists the pages)."""

from __future__ import annotations

import streamlit as st

from app.services import families, models
from app.store import StoreError
from app.widgets.progress import training_progress

POLL_EVERY = "2s"


@st.fragment(run_every=POLL_EVERY)
def _wait_for(name: str) -> None:
    """The model's progress, redrawn every two seconds on its own; when the model is ready the
    whole page runs again and shows what needed it."""
    try:
        status = models.model_status(name)
    except StoreError as exc:  # the database is unreachable for a moment: say so, keep polling
        st.warning(str(exc))
        return
    if status.ready:
        st.rerun()
    training_progress(status.state, status.fraction)


def model_ready(name: str | None) -> bool:
    """Whether model ``name`` (None: the default) is ready for the page to use.

    Never waits: a model not trained yet is asked for (a server job shared by every session,
    which navigation, refresh or closing the tab do not restart), its progress is drawn and
    kept up to date, and this returns False so the page can skip only what needs the model.
    A family that cannot be loaded gets an error line.
    """
    name = name or families.default_model_name()
    try:
        status = models.model_status(name)
    except (models.ModelUnavailable, StoreError) as exc:
        st.error(str(exc))
        return False
    if status.ready:
        return True
    _wait_for(name)
    return False
