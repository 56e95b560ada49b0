"""app/services/{models,served,families,model_choice,threads}.py: models are served from disk
and never trained in a request; a missing one is asked for as a job; one loaded copy per process,
shared; a swap reaches every request whole; each room's model; torch's serving threads set
once."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest
import torch
from app_helpers import app_env, seed_room  # noqa: F401  (fixture)

from app.jobs import JobSpec, live_dir
from app.jobs.spec import candidate_dir
from app.services import catalogue, families, insights, model_choice, models, rooms, served, threads
from app.services.store import get_store
from engine.models import REGISTRY, create
from engine.storage.artifacts import promote, save_model
from engine.train import train_model

pytestmark = pytest.mark.usefixtures("app_env", "own_data_dir")


@pytest.fixture
def own_data_dir(tmp_path, monkeypatch):
    """A data dir of this test's own: models are keyed by it, so each test starts with none
    (whatever other tests trained), and nothing it trains reaches them."""
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(tmp_path / "data"))


def test_a_missing_model_is_asked_for_and_the_request_does_not_wait():
    started = time.perf_counter()
    status = models.model_status("baseline")
    assert time.perf_counter() - started < 5  # asked for, not trained here
    assert status.state in ("queued", "training") and not status.ready
    jobs = get_store().jobs.jobs()
    assert [(j.model, j.purpose) for j in jobs] == [("baseline", "serve")]
    assert models.model_status("baseline").job_id == jobs[0].id  # asked again: same job
    assert len(get_store().jobs.jobs()) == 1
    with pytest.raises(models.ModelNotReady):
        models.get_model("baseline")
    assert models.ready_model("baseline") is None


def test_a_trained_model_is_loaded_once_and_shared(monkeypatch):
    models.ensure_model("popularity")
    served.forget_served_models()
    loads = []
    real = served._load

    def counted(folder, data):
        loads.append(folder)
        time.sleep(0.2)  # a slow disk: every session arrives while the first is loading
        return real(folder, data)

    monkeypatch.setattr(served, "_load", counted)
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(models.get_model("popularity")[0]))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(loads) == 1 and len(got) == 4 and all(m is got[0] for m in got)
    assert models.model_status("popularity").ready


def test_a_broken_family_is_unavailable_not_a_crash(monkeypatch):
    monkeypatch.setitem(REGISTRY, "broken", "engine.models.does_not_exist:Nothing")
    assert families.model_family("broken") is None
    assert families.model_kind("broken") == "unavailable"
    assert "broken" not in insights.insight_models()
    assert "broken" not in model_choice.room_model_families()
    with pytest.raises(models.ModelUnavailable, match="could not be loaded"):
        models.get_model("broken")


def test_serving_threads_are_set_for_the_process():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        threads.use_serving_threads()
        assert torch.get_num_threads() == threads.SERVING_THREADS == 1
        seen: list[int] = []
        worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        worker.start()
        worker.join()
        assert seen == [1]  # a rerun's new thread takes the process setting
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- the room's model


def small_pmf() -> None:
    """A small pmf saved where the app serves it (its defaults take ~30 s to train here)."""
    train_model("pmf", catalogue.get_catalogue(), params={"factors": 3, "epochs": 2, "warmup": 1})


def test_only_models_with_stars_can_be_a_rooms_model():
    usable = model_choice.room_model_families()
    assert usable[0] == families.default_model_name() == "baseline"
    assert {"hybrid", "mf", "pmf", "bpmf", "baseline"} <= set(usable)
    # no stars: popularity would show 5.0 for everyone; als, knn, ease, ranking only rank
    assert not {"popularity", "als", "knn", "ease", "ranking"} & set(usable)


def test_the_operator_sets_a_trained_room_model_and_nothing_else():
    code, _ = seed_room("Model room", {"Ann": {1: 4.0}})
    assert model_choice.room_model(code) == "baseline"  # the app's default
    models.ensure_model("baseline")
    assert served.trained_models(["baseline", "mf", "popularity"]) == ["baseline"]
    with pytest.raises(ValueError, match="cannot be a room's model"):
        model_choice.set_room_model(code, "mf")  # not trained
    models.ensure_model("popularity")
    with pytest.raises(ValueError, match="cannot be a room's model"):
        model_choice.set_room_model(code, "popularity")  # trained, but no stars
    small_pmf()
    model_choice.set_room_model(code, "pmf")
    assert model_choice.room_model(code) == "pmf"
    assert model_choice.room_model(seed_room("Other", {})[0]) == "baseline"  # per room
    model_choice.set_room_model(code, None)
    assert model_choice.room_model(code) == "baseline"


# --------------------------------------------------------------------------- swaps


def _versions(catalogue):
    """Two baselines that rank films differently: nearly no film damping (films with a few
    glowing ratings first) and the default damping."""
    folders = []
    for i, params in enumerate(({"item_damping": 0.5}, {})):
        model = create("baseline", device="cpu", **params).fit(catalogue)
        spec = JobSpec.make("baseline", catalogue, "candidate", {**params, "seed": 100 + i})
        save_model(model, candidate_dir(spec), dataset=catalogue)
        folders.append((spec, candidate_dir(spec)))
    return folders


def test_a_swap_is_atomic_under_concurrent_picks_requests(monkeypatch):
    """Picks requests run while the live model is swapped back and forth: every answer is one
    version's picks whole (never an error, never a half-loaded model), both versions are
    served, and after the last swap every request gets the last version."""
    monkeypatch.setattr(served, "RECHECK_S", 0.0)
    code, _ = seed_room("Swap night", {"Ann": {260: 5.0, 318: 2.0}, "Bob": {318: 5.0}})
    cat = catalogue.get_catalogue()
    versions = _versions(cat)
    live = live_dir(cat.fingerprint, "baseline")
    expected = []
    for _, folder in versions:  # what each version alone recommends
        keep = folder.with_name(folder.name + "-copy")
        shutil.copytree(folder, keep)
        promote(keep, live)
        served.forget_served_models()
        expected.append(rooms.group_picks(code, model_name="baseline")["item"].tolist())
    assert expected[0] != expected[1]

    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def picks() -> None:
        while not stop.is_set():
            try:
                items = rooms.group_picks(code, model_name="baseline")["item"].tolist()
            except BaseException as exc:
                errors.append(exc)
                return
            if items not in expected:
                errors.append(AssertionError(f"picks of neither version: {items}"))
                return
            seen.append(expected.index(items))

    sessions = [threading.Thread(target=picks) for _ in range(4)]
    for s in sessions:
        s.start()
    for swap in range(12):
        _, folder = versions[swap % 2]
        copy = folder.with_name(f"{folder.name}-{swap}")
        shutil.copytree(folder, copy)
        promote(copy, live)
        time.sleep(0.15)
    last = expected[11 % 2]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the last swap is picked up by the background reload
        if rooms.group_picks(code, model_name="baseline")["item"].tolist() == last:
            break
        time.sleep(0.1)
    stop.set()
    for s in sessions:
        s.join(timeout=60)
    assert not errors, errors[:3]
    assert {0, 1} <= set(seen)
    assert rooms.group_picks(code, model_name="baseline")["item"].tolist() == last
    assert np.isfinite(rooms.group_picks(code, model_name="baseline")["group_score"]).all()


def test_a_damaged_saved_model_is_asked_for_again_not_waited_on_forever():
    models.ensure_model("baseline")
    served.forget_served_models()
    cat = catalogue.get_catalogue()
    tensors = live_dir(cat.fingerprint, "baseline") / "model.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:100])  # truncated on disk
    (before,) = get_store().jobs.jobs()
    status = models.model_status("baseline")
    assert status.state in ("queued", "training") and status.fraction < 1.0
    (after,) = get_store().jobs.jobs()
    assert after.id == before.id and after.state in ("queued", "running")  # queued again
