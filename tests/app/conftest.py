"""Fixtures shared by the app tests (found by pytest without an import)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import DEFAULT_MODEL


@pytest.fixture(scope="session")
def trained_hybrid(tmp_path_factory) -> Path:
    """A data dir holding the app's default model, trained once per test session: the tests
    that need it point ``MOVIENIGHT_DATA_DIR`` there (AppTest sessions, the browser test's
    server) and load it instead of training their own. Its own folder, so the other tests'
    data dir (the Lab page lists every saved model) does not change under them."""
    import os

    from engine.data import load_embedded
    from engine.train import load_or_train

    given = os.environ.get("MOVIENIGHT_TEST_MODEL_DIR")
    if given:  # a folder where `python -m engine train --model hybrid` already ran: iterate
        return Path(given)  # on the browser tests without training (never set in CI)
    folder = tmp_path_factory.mktemp("hybrid-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOVIENIGHT_DATA_DIR", str(folder))
        load_or_train(DEFAULT_MODEL, load_embedded(folder / "datasets"))
    return folder
