"""MF and PMF resume from a checkpoint to exactly the uninterrupted fit; the CLI resumes on re-run."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from training_helpers import interrupt_after

import engine.cli.train as cli_train
from engine.cli import main
from engine.data.synthetic import planted_explicit
from engine.models import create, model_class
from engine.storage.checkpoint import Checkpoint
from engine.train import checkpoint_dir, model_dir

EPOCHS = {"mf": "epochs", "pmf": "epochs"}
CASES = {
    "mf full batch": ("mf", {"factors": 3, "epochs": 8, "lr": 0.05}),
    "mf mini-batch": ("mf", {"factors": 3, "epochs": 6, "lr": 0.05, "batch_size": 256}),
    "pmf vb": ("pmf", {"factors": 3, "epochs": 6, "warmup": 1}),
    "pmf vb adaptive": ("pmf", {"factors": 3, "epochs": 6, "warmup": 1, "adaptive": True}),
    "pmf map": ("pmf", {"factors": 3, "epochs": 6, "warmup": 1, "method": "map"}),
}


@pytest.fixture(scope="module")
def data():
    return planted_explicit(n_users=60, n_items=40, density=0.3, seed=2).ratings


pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    _, params = CASES["mf full batch"]
    progress, _ = interrupt_after(1)
    with pytest.raises(KeyboardInterrupt):
        create("mf", device="cpu", **params).fit(data, progress, checkpoint=Checkpoint(tmp_path))
    saved = load_file(str(Checkpoint(tmp_path).tensor_file()))
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


# ---------------------------------------------------------------------- the CLI
def cli_interrupting_at(monkeypatch, epoch: int | None):
    """Make `train` report progress to a listener that presses Ctrl-C at ``epoch`` (None: never)."""

    def fake_tqdm(desc: str):
        def progress(done: int, total: int, message: str = "") -> None:
            if done == epoch:
                raise KeyboardInterrupt

        return progress, lambda: None

    monkeypatch.setattr(cli_train, "tqdm_progress", fake_tqdm)


@pytest.mark.parametrize("evaluate", [False, True])
def test_cli_train_resumes_after_ctrl_c_and_cleans_up(capsys, monkeypatch, embedded, evaluate):
    command = ["train", "--model", "pmf", "--set", "factors=2", "epochs=4", "warmup=1"]
    command += [] if evaluate else ["--no-eval"]
    folder = checkpoint_dir(embedded, "pmf")

    cli_interrupting_at(monkeypatch, 3)
    assert main(command) == 130
    captured = capsys.readouterr()
    phase = "protocol E fit" if evaluate else "full-data fit"
    assert f"interrupted after epoch 3 of the {phase}; run the same command to resume" in (
        captured.err
    )
    assert "Traceback" not in captured.err
    assert folder.is_dir()

    cli_interrupting_at(monkeypatch, None)
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "resuming from epoch 3" in out
    assert "saved to" in out
    assert not folder.exists()  # cleared once the model is saved
    assert (model_dir(embedded, "pmf") / "manifest.json").exists()
    if evaluate:
        assert "test RMSE" in out


def test_cli_fresh_ignores_the_checkpoint_and_other_settings_start_afresh(
    capsys, monkeypatch, embedded
):
    command = ["train", "--model", "pmf", "--no-eval", "--set", "factors=2", "epochs=4"]
    cli_interrupting_at(monkeypatch, 2)
    assert main(command) == 130
    capsys.readouterr()

    cli_interrupting_at(monkeypatch, None)
    assert main([*command[:-1], "epochs=5"]) == 0
    out = capsys.readouterr().out
    assert "has another hyperparameters; starting afresh" in out and "resuming" not in out

    cli_interrupting_at(monkeypatch, 2)
    assert main(command) == 130
    capsys.readouterr()
    cli_interrupting_at(monkeypatch, None)
    assert main([*command, "--fresh"]) == 0
    assert "resuming" not in capsys.readouterr().out
    assert not checkpoint_dir(embedded, "pmf").exists()


def test_cli_interrupt_of_a_model_without_checkpoints(capsys, monkeypatch, embedded):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model_class("knn"), "fit", interrupted)
    assert main(["train", "--model", "knn", "--no-eval"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "knn saves no checkpoints" in err
    assert not checkpoint_dir(embedded, "knn").exists()
