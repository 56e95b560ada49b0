"""Training orchestration: where trained models live, and load-or-train with a reason.

The app and the CLI both go through ``load_or_train``: a saved model is used when it is intact and
was trained on the same dataset; otherwise the model is retrained (and the message says why),
never a crash. Models are saved under ``data/models/<dataset fingerprint>/<model name>/``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from engine.artifacts import ArtifactError, ArtifactMissing, load_model, save_model
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models import Recommender, create
from engine.progress import Progress

DEFAULT_MODEL = "mf"


def model_dir(dataset: Ratings, name: str, root: Path | None = None) -> Path:
    """The folder a model trained on ``dataset`` is saved in."""
    return (root or data_dir() / "models") / dataset.fingerprint / name


def evaluate_rmse(model: Recommender, test: Ratings) -> float:
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
) -> tuple[Recommender, dict[str, Any]]:
    """Fit model ``name`` on all of ``dataset`` and save it.

    With ``evaluate``, first fit on protocol E's train split and report test RMSE (explicit models),
    so the saved model's manifest carries an honest held-out figure.
    """
    from engine.data.splits import split_e

    metrics: dict[str, Any] = {}
    params = params or {}
    if evaluate and create(name, device="cpu", **params).kind == "explicit":
        train, test = split_e(dataset)
        started = time.perf_counter()
        held_out = create(name, device=device, **params).fit(train, progress)
        metrics["protocol_e"] = {
            "rmse": evaluate_rmse(held_out, test),
            "fit_seconds": time.perf_counter() - started,
            "n_train": len(train),
            "n_test": len(test),
        }
    started = time.perf_counter()
    model = create(name, device=device, **params).fit(dataset, progress)
    metrics["fit_seconds"] = time.perf_counter() - started
    if save:
        save_model(model, model_dir(dataset, name), dataset=dataset, metrics=metrics)
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
