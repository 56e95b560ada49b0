"""Where runtime data lives: ``data/`` beside the code, or ``MOVIENIGHT_DATA_DIR``."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The git-ignored folder for dataset caches, the SQLite file and trained models."""
    root = Path(os.environ.get("MOVIENIGHT_DATA_DIR", PROJECT_ROOT / "data"))
    root.mkdir(parents=True, exist_ok=True)
    return root
