"""Interrupt a fit, resume it from the last saved epoch, and get exactly the uninterrupted result."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from training_helpers import interrupt_after

import engine.storage.checkpoint as checkpoint_module
from engine.data.synthetic import planted_implicit
from engine.models import create
from engine.storage.checkpoint import META, Checkpoint


@pytest.fixture(scope="module")
def data():
    return planted_implicit(n_users=80, n_items=50, per_user=7, seed=3)


def als(**params):
    return create("als", device="cpu", factors=5, epochs=6, **params)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, data, solver):
    reference = als(solver=solver).fit(data)

    checkpoint = Checkpoint(tmp_path / "ckpt")
    progress, seen = interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        als(solver=solver).fit(data, progress=progress, checkpoint=checkpoint)
    assert seen == [1, 2]
    assert Checkpoint(tmp_path / "ckpt").epoch() == 2

    resumed_progress: list[int] = []
    resumed = als(solver=solver).fit(
        data,
        progress=lambda d, t, m="": resumed_progress.append(d),
        checkpoint=Checkpoint(tmp_path / "ckpt"),
    )
    assert resumed_progress == [3, 4, 5, 6]  # epochs 1-2 were not redone
    np.testing.assert_array_equal(resumed._user_factors.numpy(), reference._user_factors.numpy())
    np.testing.assert_array_equal(resumed._item_factors.numpy(), reference._item_factors.numpy())
    # a fresh fit without the checkpoint really differs from the state after epoch 2
    after_two = als(solver=solver, seed=0)
    after_two.config = replace(after_two.config, epochs=2)
    after_two.fit(data)
    assert not np.allclose(after_two._user_factors.numpy(), reference._user_factors.numpy())


def test_checkpoint_of_other_settings_or_data_is_ignored(tmp_path, data):
    folder = tmp_path / "ckpt"
    als(alpha=1.0).fit(data, checkpoint=Checkpoint(folder))
    assert Checkpoint(folder).epoch() == 6

    other = Checkpoint(folder)
    model = als(alpha=2.0).fit(data, progress=None, checkpoint=other)
    assert other.resumed_from == 0 and "hyperparameters" in other.skipped
    np.testing.assert_array_equal(
        model._user_factors.numpy(), als(alpha=2.0).fit(data)._user_factors.numpy()
    )

    other_data = planted_implicit(n_users=80, n_items=50, per_user=7, seed=4)
    third = Checkpoint(folder)
    als(alpha=2.0).fit(other_data, checkpoint=third)
    assert third.resumed_from == 0 and "dataset" in third.skipped


def test_corrupt_checkpoint_is_skipped_not_loaded(tmp_path, data):
    folder = tmp_path / "ckpt"
    progress, _ = interrupt_after(3)
    with pytest.raises(KeyboardInterrupt):
        als().fit(data, progress=progress, checkpoint=Checkpoint(folder))
    tensors = Checkpoint(folder).tensor_file()
    assert tensors is not None
    raw = bytearray(tensors.read_bytes())
    raw[-5] ^= 0xFF
    tensors.write_bytes(bytes(raw))
    checkpoint = Checkpoint(folder)
    model = als().fit(data, checkpoint=checkpoint)
    assert checkpoint.resumed_from == 0 and "checksum" in checkpoint.skipped
    np.testing.assert_array_equal(
        model._user_factors.numpy(), als().fit(data)._user_factors.numpy()
    )

    (folder / META).write_text("{not json")
    broken = Checkpoint(folder)
    assert broken.epoch() == 0 and "JSON" in broken.skipped


def test_every_n_epochs_and_atomic_files(tmp_path, data):
    folder = tmp_path / "ckpt"
    progress, _ = interrupt_after(5)
    with pytest.raises(KeyboardInterrupt):
        als().fit(data, progress=progress, checkpoint=Checkpoint(folder, every=2))
    meta = json.loads((folder / META).read_text())
    assert meta["epoch"] == 4 and meta["model"] == "als"
    # one record and the one tensor file it names: no older tensors, no temp files left
    assert sorted(p.name for p in folder.iterdir()) == sorted([META, meta["tensors"]])
    with pytest.raises(ValueError, match="every"):
        Checkpoint(folder, every=0)
    Checkpoint(folder).clear()
    assert not any(folder.iterdir())


def test_resume_loads_tensors_onto_the_model_device(tmp_path, data):
    folder = tmp_path / "ckpt"
    model = als().fit(data, checkpoint=Checkpoint(folder))
    fresh = als()
    fresh.n_users, fresh.n_items = data.n_users, data.n_items
    assert Checkpoint(folder).resume(fresh, data) == 6
    assert (
        isinstance(fresh._user_factors, torch.Tensor) and fresh._user_factors.device == model.device
    )
    np.testing.assert_array_equal(fresh._item_factors.numpy(), model._item_factors.numpy())


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


def test_a_kill_between_writing_the_tensors_and_the_record_keeps_the_previous_epoch(
    tmp_path, data, monkeypatch
):
    """KI-14's cause: the tensors and their record were two files, each renamed into place; a
    process killed after the first rename and before the second left new tensors under the old
    record, whose checksum then failed, so the take-over trained from the first epoch."""
    folder = tmp_path / "ckpt"
    real_write = checkpoint_module.atomic_write
    writes: list[str] = []

    def killed_before_the_third_record(target, write):
        if target.suffix == ".json" and len(writes) == 2:
            raise _Killed
        real_write(target, write)
        if target.suffix == ".json":
            writes.append(target.name)

    monkeypatch.setattr(checkpoint_module, "atomic_write", killed_before_the_third_record)
    with pytest.raises(_Killed):
        als().fit(data, checkpoint=Checkpoint(folder))
    monkeypatch.setattr(checkpoint_module, "atomic_write", real_write)

    checkpoint = Checkpoint(folder)
    assert checkpoint.epoch() == 2
    fresh = als()
    fresh.n_users, fresh.n_items = data.n_users, data.n_items
    assert checkpoint.resume(fresh, data) == 2, checkpoint.skipped
    reference = als()
    reference.config = replace(reference.config, epochs=2)
    reference.fit(data)
    np.testing.assert_array_equal(fresh._user_factors.numpy(), reference._user_factors.numpy())
