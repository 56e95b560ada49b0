"""Half-star rating buttons plus "haven't seen it" for one film; each click is saved at once."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

UNSEEN = "unseen"
STAR_VALUES = [x / 2 for x in range(1, 11)]  # 0.5 .. 5.0 in half steps
OPTIONS = [f"{v:.1f}" for v in STAR_VALUES] + [UNSEEN]


def option_label(option: str) -> str:
    """'3.5' -> '3½★', 'unseen' -> "Haven't seen it"."""
    if option == UNSEEN:
        return "Haven't seen it"
    value = float(option)
    whole = int(value)
    half = "½" if value - whole else ""
    return f"{whole if whole else ''}{half}★"


def answer_to_option(answer: float | object | None) -> str | None:
    """A stored answer (stars, None = unseen) as a pill option; ``missing`` -> no selection."""
    if answer is None:
        return UNSEEN
    if isinstance(answer, int | float):
        return f"{float(answer):.1f}"
    return None


def option_to_answer(option: str | None) -> tuple[bool, float | None]:
    """(answered?, stars or None for unseen)."""
    if option is None:
        return False, None
    if option == UNSEEN:
        return True, None
    return True, float(option)


def rating_row(
    key: str,
    current: float | object | None,
    on_answer: Callable[[bool, float | None], None],
    label: str = "Your rating",
) -> None:
    """Pills for 0.5–5 stars and "haven't seen it". ``current`` is the stored answer (a sentinel
    other than a number/None means "not answered"). ``on_answer(answered, stars)`` runs in the
    widget callback, before the rerun, so the store is written before anything else happens."""

    def _changed() -> None:
        on_answer(*option_to_answer(st.session_state.get(key)))

    st.pills(
        label,
        OPTIONS,
        selection_mode="single",
        default=answer_to_option(current),
        format_func=option_label,
        key=key,
        on_change=_changed,
        label_visibility="collapsed",
    )
