"""MF and PMF resume from a checkpoint to exactly the uninterrupted fit."""

from __future__ import annotations

import pytest
import torch

from engine.checkpoint import Checkpoint
from engine.data.synthetic import planted_explicit
from engine.models import create

EPOCHS = {"mf": "epochs", "pmf": "sweeps"}
CASES = {
    "mf full batch": ("mf", {"factors": 3, "epochs": 8, "lr": 0.05}),
    "mf mini-batch": ("mf", {"factors": 3, "epochs": 6, "lr": 0.05, "batch_size": 256}),
    "pmf vb": ("pmf", {"factors": 3, "sweeps": 6, "warmup": 1}),
    "pmf vb adaptive": ("pmf", {"factors": 3, "sweeps": 6, "warmup": 1, "adaptive": True}),
    "pmf map": ("pmf", {"factors": 3, "sweeps": 6, "warmup": 1, "method": "map"}),
}


@pytest.fixture(scope="module")
def data():
    return planted_explicit(n_users=60, n_items=40, density=0.3, seed=2).ratings


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def interrupt_after(epoch: int):
    seen: list[int] = []

    def progress(done: int, total: int, message: str = "") -> None:
        seen.append(done)
        if done == epoch:
            raise KeyboardInterrupt

    return progress, seen


def learned(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_tensors().items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        tol = 1e-12 if a[key].dtype == torch.float64 else 1e-6
        assert torch.allclose(a[key].double(), b[key].double(), rtol=tol, atol=tol), key


@pytest.mark.parametrize("case", list(CASES))
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, data, case):
    name, params = CASES[case]
    total = params[EPOCHS[name]]
    reference = create(name, device="cpu", **params).fit(data)

    folder = tmp_path / "ckpt"
    progress, seen = interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        create(name, device="cpu", **params).fit(data, progress, checkpoint=Checkpoint(folder))
    assert seen == [1, 2] and Checkpoint(folder).epoch() == 2

    resumed_epochs: list[int] = []
    messages: list[str] = []
    resumed = create(name, device="cpu", **params).fit(
        data,
        lambda d, t, m="": resumed_epochs.append(d),
        checkpoint=Checkpoint(folder, log=messages.append),
    )
    assert resumed_epochs == list(range(3, total + 1))  # epochs 1-2 were not redone
    assert messages == ["resuming from epoch 2"]
    assert_same(learned(resumed), learned(reference))
    assert resumed.info == reference.info  # e.g. PMF's learned precisions and MAP objective
    if name == "mf":
        probe = data.users[:20], data.items[:20]
        assert (resumed.predict(*probe) == reference.predict(*probe)).all()
    else:
        assert resumed.history == reference.history  # MAP objective per sweep (empty for VB)

    # the test can fail: two epochs alone are far from the full fit
    short = create(name, device="cpu", **{**params, EPOCHS[name]: 2}).fit(data)
    assert not torch.allclose(
        short.state_tensors()["item_factors"].double(),
        reference.state_tensors()["item_factors"].double(),
        atol=1e-4,
    )


@pytest.mark.parametrize("case", ["mf mini-batch", "pmf map"])
def test_a_checkpoint_of_the_last_epoch_resumes_to_the_finished_model(tmp_path, data, case):
    name, params = CASES[case]
    total = params[EPOCHS[name]]
    progress, _ = interrupt_after(total)  # Ctrl-C after the last epoch was saved
    with pytest.raises(KeyboardInterrupt):
        create(name, device="cpu", **params).fit(data, progress, checkpoint=Checkpoint(tmp_path))
    epochs: list[int] = []
    resumed = create(name, device="cpu", **params).fit(
        data, lambda d, t, m="": epochs.append(d), checkpoint=Checkpoint(tmp_path)
    )
    reference = create(name, device="cpu", **params).fit(data)
    assert epochs == []
    assert_same(learned(resumed), learned(reference))
    assert resumed.info == reference.info


def test_mf_checkpoint_carries_adam_moments_the_artifact_does_not(tmp_path, data):
    from safetensors.torch import load_file

    from engine.checkpoint import TENSORS

    _, params = CASES["mf full batch"]
    progress, _ = interrupt_after(1)
    with pytest.raises(KeyboardInterrupt):
        create("mf", device="cpu", **params).fit(data, progress, checkpoint=Checkpoint(tmp_path))
    saved = load_file(str(tmp_path / TENSORS))
    assert {"adam.item_factors.exp_avg", "adam.item_factors.exp_avg_sq"} <= saved.keys()
    assert float(saved["adam.mu.step"]) == 1.0

    model = create("mf", device="cpu", **params).fit(data)
    assert not any(k.startswith("adam.") for k in model.state_tensors())
    assert model.checkpoint_tensors().keys() == model.state_tensors().keys()


@pytest.mark.parametrize("case", ["mf full batch", "pmf vb"])
def test_checkpoint_of_other_hyperparameters_is_skipped(tmp_path, data, case):
    name, params = CASES[case]
    folder = tmp_path / "ckpt"
    create(name, device="cpu", **params).fit(data, checkpoint=Checkpoint(folder))

    other = {**params, "seed": 7}
    messages: list[str] = []
    checkpoint = Checkpoint(folder, log=messages.append)
    model = create(name, device="cpu", **other).fit(data, checkpoint=checkpoint)
    assert checkpoint.resumed_from == 0 and "hyperparameters" in checkpoint.skipped
    assert messages == [checkpoint.skipped]
    assert_same(learned(model), learned(create(name, device="cpu", **other).fit(data)))


def test_models_that_cannot_resume_refuse_a_checkpoint(tmp_path, data):
    with pytest.raises(TypeError, match="cannot resume"):
        create("baseline", device="cpu").fit(data, checkpoint=Checkpoint(tmp_path))
    with pytest.raises(TypeError, match="cannot resume"):
        create("bpmf", device="cpu").fit(data, checkpoint=Checkpoint(tmp_path))
