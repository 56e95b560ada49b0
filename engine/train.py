"""Training orchestration: where trained models live, and load-or-train with a reason.

The app and the CLI both go through ``load_or_train``: a saved model is used when it is intact and
was trained on the same dataset; otherwise the model is retrained (and the message says why),
never a crash. Models are saved under ``data/models/<dataset fingerprint>/<model name>/``.

``train_model(..., resume=True)`` (what ``python -m engine train`` does) makes a long fit
interruptible: a ``resumable`` model (als, mf, pmf) saves a checkpoint every epoch under
``<model folder>/checkpoint/<phase>/`` (phase ``protocol_e`` for the held-out fit, ``full`` for
the full-data one), the same call after Ctrl-C resumes each fit from its last saved epoch, and the
checkpoints are deleted once the finished model is saved. Ctrl-C surfaces as
``TrainingInterrupted`` (a KeyboardInterrupt) saying which fit stopped after which epoch.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from engine.artifacts import ArtifactError, ArtifactMissing, load_model, save_model
from engine.checkpoint import Checkpoint
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models import Recommender, create, model_class
from engine.models.base import ExplicitRecommender, RatingPredictor
from engine.progress import Progress

DEFAULT_MODEL = "mf"
CHECKPOINT = "checkpoint"
PHASES = {"protocol_e": "protocol E fit", "full": "full-data fit"}


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``train_model``: which fit stopped, and the last epoch its checkpoint holds
    (``epoch`` is None for a model that saves no checkpoints)."""

    def __init__(self, model: str, phase: str, epoch: int | None):
        self.model, self.phase, self.epoch = model, phase, epoch
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.epoch is None:
            return (
                f"interrupted during the {self.phase}; {self.model} saves no checkpoints, "
                "so the same command trains it again from the start"
            )
        return (
            f"interrupted after epoch {self.epoch} of the {self.phase}; "
            "run the same command to resume"
        )


def model_dir(dataset: Ratings, name: str, root: Path | None = None) -> Path:
    """The folder a model trained on ``dataset`` is saved in."""
    return (root or data_dir() / "models") / dataset.fingerprint / name


def checkpoint_dir(dataset: Ratings, name: str, root: Path | None = None) -> Path:
    """The folder ``train_model(..., resume=True)`` keeps its per-epoch checkpoints in."""
    return model_dir(dataset, name, root) / CHECKPOINT


def clear_checkpoints(folder: Path) -> None:
    """Delete the checkpoints ``train_model`` keeps in ``folder`` (and the folders, once empty)."""
    for phase in PHASES:
        Checkpoint(folder / phase).clear()
    for empty in (*(folder / phase for phase in PHASES), folder):
        with contextlib.suppress(OSError):  # missing, or holds something that is not ours
            empty.rmdir()


def evaluate_rmse(model: RatingPredictor, test: Ratings) -> float:
    """Test RMSE of an explicit model (protocol E's headline figure)."""
    pred = model.predict(test.users, test.items)
    return float(((pred - test.values) ** 2).mean() ** 0.5)


def train_model(
    name: str,
    dataset: Ratings,
    progress: Progress | None = None,
    device: str | torch.device | None = None,
    params: dict[str, Any] | None = None,
    evaluate: bool = False,
    save: bool = True,
    resume: bool = False,
    fresh: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[Recommender, dict[str, Any]]:
    """Fit model ``name`` on all of ``dataset`` and save it.

    With ``evaluate``, first fit on protocol E's train split and report test RMSE (explicit models),
    so the saved model's manifest carries an honest held-out figure.

    With ``resume`` (and ``save``), a resumable model checkpoints every epoch into
    ``checkpoint_dir(dataset, name)`` and picks up a checkpoint left by an interrupted call with
    the same hyperparameters (``fresh``: delete it first). ``log`` hears "resuming from epoch N"
    or why a checkpoint was not used. Ctrl-C raises ``TrainingInterrupted``. A resumed fit's
    ``fit_seconds`` counts only the epochs run in this call.
    """
    from engine.data.splits import split_e

    metrics: dict[str, Any] = {}
    params = params or {}
    folder = checkpoint_dir(dataset, name)
    if fresh:
        clear_checkpoints(folder)
    checkpoints = resume and save and model_class(name).resumable

    def say(message: str) -> None:
        if log is not None:
            log(message)

    def fit(phase: str, data: Ratings) -> tuple[Recommender, dict[str, Any]]:
        model = create(name, device=device, **params)
        label = PHASES[phase]
        checkpoint = None
        if checkpoints:
            checkpoint = Checkpoint(folder / phase, log=lambda m: say(f"{label}: {m}"))
        started = time.perf_counter()
        try:
            if checkpoint is None:
                model.fit(data, progress)
            else:
                model.fit(data, progress, checkpoint=checkpoint)
        except KeyboardInterrupt:
            epoch = None if checkpoint is None else checkpoint.saved_epoch
            raise TrainingInterrupted(name, label, epoch) from None
        timing: dict[str, Any] = {"fit_seconds": time.perf_counter() - started}
        if checkpoint is not None and checkpoint.resumed_from:
            timing["resumed_from_epoch"] = checkpoint.resumed_from
        return model, timing

    create(name, device="cpu", **params)  # invalid hyperparameters fail here, before any fit
    if evaluate and model_class(name).kind == "explicit":
        train, test = split_e(dataset)
        held_out, timing = fit("protocol_e", train)
        if not isinstance(held_out, ExplicitRecommender):
            raise TypeError(f"{name} says it is explicit but predicts no ratings")
        metrics["protocol_e"] = {
            "rmse": evaluate_rmse(held_out, test),
            **timing,
            "n_train": len(train),
            "n_test": len(test),
        }
    model, timing = fit("full", dataset)
    metrics.update(timing)
    if save:
        save_model(model, model_dir(dataset, name), dataset=dataset, metrics=metrics)
        clear_checkpoints(folder)
    return model, metrics


def load_or_train(
    name: str,
    dataset: Ratings,
    progress: Progress | None = None,
    device: str | torch.device | None = None,
) -> tuple[Recommender, str]:
    """A model for ``dataset``: the saved one when usable, else freshly trained and saved.

    Returns the model and a one-line message saying which happened and why.
    """
    folder = model_dir(dataset, name)
    try:
        return load_model(folder, device=device, dataset=dataset), f"loaded {name} from {folder}"
    except ArtifactMissing:
        reason = f"no saved {name} model for this dataset yet"
    except ArtifactError as exc:
        reason = f"the saved {name} model could not be used ({exc})"
    model, metrics = train_model(name, dataset, progress=progress, device=device)
    return model, f"{reason}; trained it in {metrics['fit_seconds']:.1f} s and saved it to {folder}"
