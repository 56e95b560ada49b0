"""Training orchestration: where trained models live, training with checkpoints and a held-out
score, and load-or-train with a reason.

The CLI (and the app's training jobs, ``app.jobs``) train through ``train_model``;
``load_or_train`` uses a saved model when it is intact and was trained on the same dataset, and
otherwise retrains it (the message says why), never a crash. Models are saved under
``data/models/<dataset fingerprint>/<model name>/``.

``train_model(..., resume=True)`` (what ``python -m engine train`` does) makes a long fit
interruptible: a ``resumable`` model (als, mf, pmf) saves a checkpoint every epoch under
``<model folder>/checkpoint/<phase>/`` (phase ``protocol_e`` for the held-out fit, ``full`` for
the full-data one), the same call after Ctrl-C resumes each fit from its last saved epoch, and the
checkpoints are deleted once the finished model is saved. Ctrl-C surfaces as
``TrainingInterrupted`` (a KeyboardInterrupt) saying which fit stopped after which epoch.

``evaluate=True`` first fits on a held-out split and records one headline score, ``HeldOut``:
protocol E's test RMSE for explicit models (lower is better), protocol R's NDCG@10 for implicit
ones (higher is better). The app compares a retrained candidate with the live model by it
(``HeldOut.worse_than``) before it replaces the live one. ``folder`` saves somewhere other than
``model_dir`` (the app's candidates); its checkpoints then live under ``folder/checkpoint``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.data.splits import split_e, split_r
from engine.evaluate.protocols import evaluate_r
from engine.models import Recommender, create, model_class
from engine.models.base import ExplicitRecommender, RatingPredictor
from engine.progress import Progress
from engine.storage.artifacts import ArtifactError, ArtifactMissing, load_model, save_model
from engine.storage.checkpoint import Checkpoint

DEFAULT_MODEL = "mf"
CHECKPOINT = "checkpoint"
PHASES = {"protocol_e": "protocol E fit", "protocol_r": "protocol R fit", "full": "full-data fit"}


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


@dataclass(frozen=True)
class HeldOut:
    """A model's headline score on held-out data: protocol E's RMSE (explicit models, lower is
    better) or protocol R's NDCG@10 (implicit models, higher is better)."""

    metric: str
    value: float
    higher_is_better: bool
    protocol: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any] | None) -> HeldOut | None:
        """The score a manifest's metrics record (None when the model was not evaluated)."""
        found = (metrics or {}).get("held_out")
        if not isinstance(found, dict):
            return None
        try:
            return cls(
                metric=str(found["metric"]),
                value=float(found["value"]),
                higher_is_better=bool(found["higher_is_better"]),
                protocol=str(found["protocol"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def worse_than(self, live: HeldOut) -> float:
        """How much worse this score is than ``live``'s, relative to ``live`` (0.05 = 5 %
        worse; negative = better). Scores of different metrics cannot be compared: ValueError."""
        if (self.metric, self.protocol) != (live.metric, live.protocol):
            raise ValueError(f"cannot compare {self.metric} with {live.metric}")
        if not (math.isfinite(self.value) and math.isfinite(live.value)):
            return math.inf if not math.isfinite(self.value) else -math.inf
        gap = live.value - self.value if self.higher_is_better else self.value - live.value
        return gap / max(abs(live.value), 1e-12)


def held_out_score(
    name: str,
    dataset: Ratings,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    device: str | torch.device | None = None,
    checkpoints: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[HeldOut, dict[str, Any]]:
    """Fit ``name`` with ``params`` on the held-out protocol's train split and score it on the
    test split: (the headline score, the protocol's figures with fit seconds). ``checkpoints``:
    a folder to checkpoint into and resume from (resumable models)."""
    params = params or {}
    explicit = model_class(name).kind == "explicit"
    phase = "protocol_e" if explicit else "protocol_r"
    train, test = (split_e if explicit else split_r)(dataset)
    model, timing = _fit(name, phase, train, progress, device, params, checkpoints, log)
    figures: dict[str, Any] = {**timing, "n_train": len(train), "n_test": len(test)}
    if explicit:
        if not isinstance(model, ExplicitRecommender):
            raise TypeError(f"{name} says it is explicit but predicts no ratings")
        figures["rmse"] = evaluate_rmse(model, test)
        return HeldOut("RMSE", figures["rmse"], False, "E"), figures

    ranking = evaluate_r(model, train, test, k=10)
    figures |= {key: ranking[key] for key in ("ndcg", "recall", "n_users")}
    return HeldOut("NDCG@10", float(ranking["ndcg"]), True, "R"), figures


def _fit(
    name: str,
    phase: str,
    data: Ratings,
    progress: Progress | None,
    device: str | torch.device | None,
    params: dict[str, Any],
    checkpoints: Path | None,
    log: Callable[[str], None] | None,
) -> tuple[Recommender, dict[str, Any]]:
    """One fit of one phase, checkpointed into ``checkpoints/<phase>`` when given (and the model
    can resume); Ctrl-C becomes ``TrainingInterrupted``."""
    model = create(name, device=device, **params)
    label = PHASES[phase]
    checkpoint = None
    if checkpoints is not None and model.resumable:
        say = log or (lambda message: None)
        checkpoint = Checkpoint(checkpoints / phase, log=lambda m: say(f"{label}: {m}"))
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
    folder: Path | None = None,
    phase: Callable[[str], None] | None = None,
) -> tuple[Recommender, dict[str, Any]]:
    """Fit model ``name`` on all of ``dataset`` and save it (in ``folder``, default
    ``model_dir(dataset, name)``).

    With ``evaluate``, first fit on the held-out protocol's train split and record its score
    (``held_out_score``: RMSE for explicit models, NDCG@10 for implicit ones) under
    ``metrics["held_out"]``, with the protocol's figures under ``protocol_e`` or ``protocol_r``,
    so the saved model's manifest carries an honest held-out figure.

    With ``resume`` (and ``save``), a resumable model checkpoints every epoch into
    ``<folder>/checkpoint`` and picks up a checkpoint left by an interrupted call with the same
    hyperparameters (``fresh``: delete it first). ``log`` hears "resuming from epoch N" or why a
    checkpoint was not used; ``phase`` hears the key of each fit as it starts ("protocol_e",
    "protocol_r", "full"). Ctrl-C raises ``TrainingInterrupted``. A resumed fit's
    ``fit_seconds`` counts only the epochs run in this call.
    """
    metrics: dict[str, Any] = {}
    params = params or {}
    target = folder if folder is not None else model_dir(dataset, name)
    checkpoints = target / CHECKPOINT
    if fresh:
        clear_checkpoints(checkpoints)
    use = checkpoints if resume and save else None

    create(name, device="cpu", **params)  # invalid hyperparameters fail here, before any fit
    if evaluate:
        held_phase = "protocol_e" if model_class(name).kind == "explicit" else "protocol_r"
        if phase is not None:
            phase(held_phase)
        score, figures = held_out_score(name, dataset, params, progress, device, use, log)
        metrics[held_phase] = figures
        metrics["held_out"] = score.to_dict()
    if phase is not None:
        phase("full")
    model, timing = _fit(name, "full", dataset, progress, device, params, use, log)
    metrics.update(timing)
    if save:
        save_model(model, target, dataset=dataset, metrics=metrics)
        clear_checkpoints(checkpoints)
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
