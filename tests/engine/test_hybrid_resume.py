"""The hybrid resumes stage by stage: an interrupted fit, run again with the same checkpoint,
ends exactly where the uninterrupted fit does, without redoing the stages it had finished."""

from __future__ import annotations

import pytest
import torch

from engine.data.synthetic import planted_explicit
from engine.models import create
from engine.storage.checkpoint import Checkpoint

PARAMS = {
    "implicit_params": {"factors": 3, "epochs": 4},
    "explicit_params": {"factors": 3, "epochs": 4, "warmup": 1},
}


@pytest.fixture(scope="module")
def data():
    return planted_explicit(n_users=60, n_items=40, density=0.3, seed=3).ratings


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def stop_at(text: str):
    """A progress listener that presses Ctrl-C at the first report that starts with ``text``
    (a stage's label comes first: "calibrating on a validation split: fitting pmf: sweep 2" is
    the calibration's pmf, "fitting pmf: sweep 2" the full fit's), and records every report."""
    seen: list[str] = []

    def progress(done: int, total: int, message: str = "") -> None:
        seen.append(message)
        if message.startswith(text):
            raise KeyboardInterrupt

    return progress, seen


def tensors(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().double() for k, v in model.state_tensors().items()}


@pytest.mark.parametrize(
    ("stop", "skipped"),
    [
        ("calibrating on a validation split: fitting pmf: sweep 2", None),
        ("fitting als: ALS epoch 2/4", "calibrating"),
        ("fitting pmf: sweep 3", "fitting als"),
    ],
)
def test_interrupted_hybrid_resumes_to_the_uninterrupted_fit(tmp_path, data, stop, skipped):
    reference = create("hybrid", device="cpu", **PARAMS).fit(data)
    progress, _ = stop_at(stop)
    with pytest.raises(KeyboardInterrupt):
        create("hybrid", device="cpu", **PARAMS).fit(
            data, progress, checkpoint=Checkpoint(tmp_path)
        )
    messages: list[str] = []
    after: list[str] = []
    resumed = create("hybrid", device="cpu", **PARAMS).fit(
        data,
        lambda d, t, m="": after.append(m),
        checkpoint=Checkpoint(tmp_path, log=messages.append),
    )
    assert resumed.temperature == reference.temperature and resumed.beta == reference.beta
    ours, theirs = tensors(resumed), tensors(reference)
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.allclose(ours[key], theirs[key], rtol=1e-9, atol=1e-9), key
    assert resumed.info["validation_ndcg_by_beta"] == reference.info["validation_ndcg_by_beta"]
    if skipped is not None:  # finished stages are not run again
        assert not any(m.startswith(skipped) for m in after)
        assert "resuming from epoch 1" in messages
    # the component that was stopped resumed from its own checkpoint, not from its first epoch
    assert any("resuming from epoch" in m for m in messages)


def test_clearing_the_checkpoint_removes_the_component_checkpoints(tmp_path, data):
    progress, _ = stop_at("fitting pmf: sweep 2")
    with pytest.raises(KeyboardInterrupt):
        create("hybrid", device="cpu", **PARAMS).fit(
            data, progress, checkpoint=Checkpoint(tmp_path / "ckpt")
        )
    children = {p.name for p in (tmp_path / "ckpt").iterdir() if p.is_dir()}
    assert {"calibration-implicit", "calibration-explicit", "implicit", "explicit"} <= children
    (tmp_path / "ckpt" / "notes.txt").write_text("not a checkpoint")
    Checkpoint(tmp_path / "ckpt").clear()
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["notes.txt"]
