"""Fixtures shared by the app tests (found by pytest without an import)."""

from __future__ import annotations

import pytest
from app_helpers import DEFAULT_MODEL, shared_data_dir


@pytest.fixture(scope="session")
def trained_hybrid(tmp_path_factory) -> str:
    """The app's default model, trained once per test session and saved in the shared data dir:
    AppTest sessions and the browser test's server then load it instead of training their own.
    Returns how it was obtained."""
    from engine.data import load_embedded
    from engine.train import load_or_train

    folder = shared_data_dir(tmp_path_factory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOVIENIGHT_DATA_DIR", str(folder))
        _, message = load_or_train(DEFAULT_MODEL, load_embedded(folder / "datasets"))
    return message
