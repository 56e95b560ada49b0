"""A progress bar for long work that reports through a callback (``engine.progress.Progress``).

Services never draw: a page opens ``progress_bar`` around a call and passes the callback in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from engine.progress import Progress


@contextmanager
def progress_bar(label: str, idle: str = "working") -> Iterator[Progress]:
    """Yield a ``Progress`` callback drawing one bar, and remove the bar when the block ends.

    The bar appears at the first report, so work that has nothing to do (a model already loaded)
    draws nothing; its text is ``label: message`` (``idle`` when a report has no message).
    """
    holder = st.empty()
    bar: list[Any] = []

    def update(done: int, total: int, message: str = "") -> None:
        fraction = min(max(done / max(total, 1), 0.0), 1.0)
        text = f"{label}: {message or idle}"
        if bar:
            bar[0].progress(fraction, text=text)
        else:
            bar.append(holder.progress(fraction, text=text))

    try:
        yield update
    finally:
        holder.empty()
