"""Fixtures shared by the app tests (found by pytest without an import)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_helpers import DEFAULT_MODEL

from engine.data import load_embedded
from engine.train import load_or_train

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
_STEPS = pytest.StashKey[dict[str, bool]]()  # step -> every run of it passed so far


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each test's own outcome on it (for ``in_order``)."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture(autouse=True)
def _main_module_back() -> Iterator[None]:
    """AppTest runs its script as ``__main__`` and leaves it there; a later test's spawned
    process (multiprocessing's spawn re-runs the parent's ``__main__``) would then run a page, or
    fail on an ``AppTest.from_function`` script's ``NameError``. Put pytest's own back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def in_order(request) -> Iterator[None]:
    """For a class whose tests are the steps of one story sharing state (one server, one
    browser, pages a step leaves for the next): each step reports its own failure, and a step
    whose earlier step did not pass (it failed, was skipped or was not selected) is skipped,
    naming that step, instead of failing on state it should have left. Steps run in the order
    the class defines them. Use ``@pytest.mark.usefixtures("in_order")`` on the class."""
    cls = request.node.getparent(pytest.Class)
    assert cls is not None, "in_order is for the test methods of a class"
    steps = [name for name in vars(cls.obj) if name.startswith("test")]
    name = request.node.originalname
    passed = cls.stash.setdefault(_STEPS, {})
    missing = [step for step in steps[: steps.index(name)] if not passed.get(step)]
    if missing:
        pytest.skip(f"needs the earlier step {missing[0]}, which did not pass")
    yield
    report = request.node.stash.get(_CALL_REPORT, None)
    ok = report is not None and report.passed
    passed[name] = passed.get(name, True) and ok  # a parametrised step: all of its cases


@pytest.fixture(scope="session")
def trained_hybrid(tmp_path_factory) -> Path:
    """A data dir holding the app's default model, trained once per test session: the tests
    that need it point ``MOVIENIGHT_DATA_DIR`` there (AppTest sessions, the browser test's
    server) and load it instead of training their own. Its own folder, so the other tests'
    data dir (the Lab page lists every saved model) does not change under them."""
    given = os.environ.get("MOVIENIGHT_TEST_MODEL_DIR")
    if given:  # a folder where `python -m engine train --model hybrid` already ran: iterate
        return Path(given)  # on the browser tests without training (never set in CI)
    folder = tmp_path_factory.mktemp("hybrid-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOVIENIGHT_DATA_DIR", str(folder))
        load_or_train(DEFAULT_MODEL, load_embedded(folder / "datasets"))
    return folder
