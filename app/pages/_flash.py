"""A message for the next run, shown once (not a page itself).

A callback runs before the page draws, and an action that ends in ``st.rerun()`` throws away
what it drew, so "Saved" or "That did not work" is kept in the session and shown at the top of
the next run, then forgotten: a later run, or a fragment redrawing on its own, does not show it
again. Every page uses this one key (``session_keys.FLASH``).
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from app import session_keys as keys

Kind = Literal["success", "info", "warning", "error"]


def flash(kind: Kind, message: str) -> None:
    """Show ``message`` as a ``kind`` alert at the top of the next run (of any page)."""
    st.session_state[keys.FLASH] = (kind, message)


def show_flash() -> None:
    """Draw the waiting message, if any, and forget it."""
    kind, message = st.session_state.pop(keys.FLASH, (None, None))
    if message:
        getattr(st, kind)(message)
