"""app/services/models.py: one shared fitted model per family, trained with the caller's progress
callback, retrained through the Lab; and torch's serving threads set once."""

from __future__ import annotations

import threading

import pytest
import torch
from app_helpers import app_env  # noqa: F401  (fixture)

from app import services

pytestmark = pytest.mark.usefixtures("app_env", "own_data_dir")


@pytest.fixture
def own_data_dir(tmp_path, monkeypatch):
    """A data dir of this test's own: models are keyed by it, so each test starts with none
    (whatever other tests trained), and nothing it trains reaches them."""
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(tmp_path / "data"))


def test_first_use_trains_with_the_callers_progress_then_shares_the_model():
    reports: list[tuple[int, int, str]] = []
    note = services.prepare_model("popularity", lambda d, t, m="": reports.append((d, t, m)))
    assert note is not None and "trained it" in note  # why it had to be trained
    assert reports and all(0 <= d <= t for d, t, _ in reports)
    model, message = services.get_model("popularity")
    assert message == note and model.fitted
    again: list[tuple[int, int, str]] = []
    assert services.prepare_model("popularity", lambda d, t, m="": again.append((d, t, m))) is None
    assert again == []  # ready: no work, no progress
    assert services.get_model("popularity")[0] is model


def test_concurrent_sessions_wait_for_one_training():
    calls = []
    from engine import train

    real = train.load_or_train

    def counted(name, dataset, **kw):
        calls.append(name)
        return real(name, dataset, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "load_or_train", counted)
        got: list[object] = []
        threads = [
            threading.Thread(target=lambda: got.append(services.get_model("knn")[0]))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert calls == ["knn"] and len(got) == 4 and all(m is got[0] for m in got)


def test_a_retrain_replaces_the_model_and_moves_its_cache_token():
    from engine.progress import silent

    services.get_model("baseline")
    before = services.model_token("baseline")
    model, metrics = services.retrain_model("baseline", silent, params={"epochs": 2})
    after = services.model_token("baseline")
    assert after[:3] == before[:3] and after[3] == before[3] + 1
    assert services.get_model("baseline") == (model, "retrained baseline on the Lab page")
    assert metrics["fit_seconds"] >= 0


def test_a_broken_family_is_unavailable_not_a_crash(monkeypatch):
    from engine.models import REGISTRY

    monkeypatch.setitem(REGISTRY, "broken", "engine.models.does_not_exist:Nothing")
    assert services.model_family("broken") is None
    assert services.model_kind("broken") == "unavailable"
    assert "broken" not in services.insight_models()
    with pytest.raises(services.ModelUnavailable, match="could not be loaded"):
        services.get_model("broken")


def test_serving_threads_are_set_for_the_process():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        services.use_serving_threads()
        assert torch.get_num_threads() == services.SERVING_THREADS == 1
        seen: list[int] = []
        worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        worker.start()
        worker.join()
        assert seen == [1]  # a rerun's new thread takes the process setting
    finally:
        torch.set_num_threads(before)
