"""What several pages do the same way (not a page itself: streamlit_app.py lists the pages)."""

from __future__ import annotations

import streamlit as st

from app import services
from app.widgets.progress import progress_bar


def model_ready(name: str | None) -> bool:
    """Load or train model ``name`` (None: the default) before the page uses it.

    A progress bar shows while it trains (first run only), a toast says why it had to be
    trained, and when it cannot be had an error line says so and this returns False.
    """
    label = f"Preparing the {name or services.default_model_name()} model (first run only)"
    try:
        with progress_bar(label, idle="training") as progress:
            note = services.prepare_model(name, progress)
    except services.ModelUnavailable as exc:
        st.error(str(exc))
        return False
    if note:
        st.toast(note)
    return True
