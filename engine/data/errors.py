"""Errors and warnings a user can act on: each names the file and what to fix."""

from __future__ import annotations

from pathlib import Path


class DatasetError(ValueError):
    """A dataset file or folder cannot be read as MovieLens; the message says which and why."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}")


class DatasetWarning(UserWarning):
    """Input was usable after a documented repair (e.g. duplicate ratings resolved)."""
