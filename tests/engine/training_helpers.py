"""Shared helper for the interrupt/resume tests (checkpoint, resume)."""

from __future__ import annotations


def interrupt_after(epoch: int):
    """A progress callback that records every epoch and presses Ctrl-C after ``epoch``."""
    seen: list[int] = []

    def progress(done: int, total: int, message: str = "") -> None:
        seen.append(done)
        if done == epoch:
            raise KeyboardInterrupt

    return progress, seen
