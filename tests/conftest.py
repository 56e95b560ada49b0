"""Shared fixtures. Models are tested on data where the right answer is known."""

from __future__ import annotations

import os

import pytest
import torch

from engine.data import load_embedded
from engine.data.synthetic import planted_explicit

os.environ.setdefault("MOVIENIGHT_DEVICE", "cpu")
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of tiny-tensor model tests (its module-scoped fits too):
    thread hand-offs cost more than they save on a shared 2-core machine. Opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def embedded():
    """The embedded MovieLens sample (cached as parquet after the first load)."""
    return load_embedded()


@pytest.fixture(scope="session")
def planted():
    """A planted rank-3 explicit dataset with noise 0.25."""
    return planted_explicit()


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Tests never write into the real data/ folder (except the shared dataset cache)."""
    if "MOVIENIGHT_DATA_DIR" not in os.environ:
        monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(tmp_path_factory.getbasetemp() / "data"))


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
