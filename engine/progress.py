"""Progress reporting that the engine can call without knowing who listens.

The CLI passes a tqdm bar, the app a Streamlit progress bar; both are wrapped as a
``Progress`` callable: ``progress(done, total, message)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tqdm.auto import tqdm


class Progress(Protocol):
    def __call__(self, done: int, total: int, message: str = "") -> None: ...


def silent(done: int, total: int, message: str = "") -> None:
    """The default: report to nobody."""


def stage_progress(progress: Progress, stage: int, stages: int, label: str) -> Progress:
    """The ``stage``-th of ``stages`` equal parts of one bar, for a fit made of sub-fits (the
    hybrid fits two models): the inner fit's ``(done, total)`` moves the bar within its part."""
    steps = 1000

    def update(done: int, total: int, message: str = "") -> None:
        inner = min(max(done / max(total, 1), 0.0), 1.0)
        text = f"{label}: {message}" if message else label
        progress(stage * steps + int(steps * inner), stages * steps, text)

    return update


def span_progress(progress: Progress, start: float, end: float, label: str) -> Progress:
    """The share ``start``..``end`` (fractions of 0..1) of ``progress``'s bar for one phase of
    a longer step: the phase's own ``(done, total)`` moves the bar within its share, so a step
    made of unequal phases (fits, then searches) never stands still for a whole phase."""
    steps = 100

    def update(done: int, total: int, message: str = "") -> None:
        inner = min(max(done / max(total, 1), 0.0), 1.0)
        text = f"{label}: {message}" if message else label
        progress(int(steps * (start + (end - start) * inner)), steps, text)

    return update


def tqdm_progress(desc: str) -> tuple[Progress, Callable[[], None]]:
    """A Progress backed by a tqdm bar, and a function that closes it."""
    bar = tqdm(total=1, desc=desc, leave=True)

    def update(done: int, total: int, message: str = "") -> None:
        if done < bar.n:  # a new phase (e.g. the full-data fit after the held-out one)
            bar.reset(total=max(total, 1))
        bar.total = max(total, 1)
        bar.n = done
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    return update, bar.close
