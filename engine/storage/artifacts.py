"""Saving and loading trained models: a safetensors file plus a JSON manifest.

Nothing is ever unpickled: tensors go through ``safetensors`` (a format that cannot carry code) and
everything else through JSON. The manifest records the model, its hyperparameters, the fingerprint
of the dataset it was trained on, metrics and library versions, and the SHA-256 of the tensor file
so that a truncated or altered file is caught before use. Each failure raises a specific
``ArtifactError`` subclass, which callers turn into a retrain.

Several processes may share the data folder (app replicas, a training job). A new model is built
in a staging folder beside its place and renamed into it (``save_model``, ``promote``), and
``load_model`` checks the checksum on the very bytes it then loads, so a reader never uses a
model whose manifest and tensors come from two different versions: while a swap is under way it
gets an ``ArtifactMissing`` or ``ArtifactCorrupt`` for a moment and can simply try again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save_file

import engine
from engine.data.ratings import Ratings
from engine.models import model_class
from engine.models.base import Recommender
from engine.storage.files import sha256_file

FORMAT_VERSION = 1
TENSORS = "model.safetensors"
MANIFEST = "manifest.json"


class ArtifactError(RuntimeError):
    """A saved model cannot be used; the message says why."""


class ArtifactMissing(ArtifactError):
    """No model saved at that path."""


class ArtifactCorrupt(ArtifactError):
    """Files unreadable, truncated, or not matching their recorded checksum."""


class ArtifactMismatch(ArtifactError):
    """A valid model, but trained on another dataset (or an incompatible format)."""


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "engine": engine.__version__,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def save_model(
    model: Recommender,
    path: str | Path,
    dataset: Ratings | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` into folder ``path`` atomically (a crash never leaves a half-written model)."""
    model._check_fitted()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_tensors().items()}
    save_file(tensors, str(staging / TENSORS))
    manifest = {
        "format": FORMAT_VERSION,
        "model": model.name,
        "kind": model.kind,
        "hyperparameters": model.config.to_dict(),
        "n_users": model.n_users,
        "n_items": model.n_items,
        "dataset": None
        if dataset is None
        else {
            "name": dataset.name,
            "fingerprint": dataset.fingerprint,
            "n_ratings": len(dataset),
        },
        "info": _jsonable(model.info),
        "metrics": _jsonable(metrics or {}),
        "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sha256": sha256_file(staging / TENSORS),
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    _move_into_place(staging, path)
    return path


def _move_into_place(staging: Path, path: Path, tries: int = 20) -> None:
    """Rename the finished folder ``staging`` to ``path``, replacing what is there (with any
    subfolder, e.g. train_model's checkpoint/ of this fit). Two renames on one filesystem: a
    reader in between finds no model for a moment, never half of one. Two processes replacing
    the same model at once both succeed, in turn (the last one wins): a rename that finds the
    place taken or already moved away tries again."""
    for _ in range(tries):
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-{os.getpid()}-", dir=path.parent))
            old.rmdir()
            try:
                path.rename(old)
            except FileNotFoundError:  # another process moved it away first
                old = None
        try:
            staging.rename(path)
        except OSError:  # another process put its model there in between: move it aside too
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            continue
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    raise ArtifactError(f"could not put the new model in place at {path}: it kept changing")


def promote(candidate: str | Path, path: str | Path) -> Path:
    """Make the model saved at ``candidate`` the one at ``path`` (a retrain's candidate replaces
    the live model). The candidate is checked first (``ArtifactError`` if it is not a complete
    model), and is moved, not copied: it must be on the same filesystem as ``path``."""
    candidate, path = Path(candidate), Path(path)
    manifest = read_manifest(candidate)
    if sha256_file(candidate / TENSORS) != manifest.get("sha256"):
        raise ArtifactCorrupt(f"{candidate / TENSORS} does not match its checksum")
    path.parent.mkdir(parents=True, exist_ok=True)
    _move_into_place(candidate, path)
    return path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of the model saved at ``path``."""
    path = Path(path)
    file = path / MANIFEST
    try:
        data = file.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # never saved, or swapped out just now
        raise ArtifactMissing(f"no saved model at {path}") from None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactCorrupt(f"{file} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ArtifactMismatch(f"{file} has an unknown format (expected version {FORMAT_VERSION})")
    return manifest


def load_model(
    path: str | Path,
    device: str | torch.device | None = None,
    dataset: Ratings | None = None,
) -> Recommender:
    """Load the model at ``path``; with ``dataset``, refuse one trained on other data."""
    path = Path(path)
    manifest = read_manifest(path)
    tensor_file = path / TENSORS
    try:
        # read once: the checksum is checked on the bytes that are then loaded, so a model
        # swapped in by another process between the two steps cannot slip through
        data = tensor_file.read_bytes()
    except FileNotFoundError:
        raise ArtifactMissing(f"{tensor_file} is missing") from None
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise ArtifactCorrupt(f"{tensor_file} does not match its checksum (truncated or altered)")
    if dataset is not None:
        saved = (manifest.get("dataset") or {}).get("fingerprint")
        if saved != dataset.fingerprint:
            raise ArtifactMismatch(
                f"{path} was trained on dataset {saved}, not on the loaded {dataset.name} ({dataset.fingerprint})"
            )
    try:
        cls = model_class(manifest["model"])
        hyperparameters = dict(manifest["hyperparameters"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ArtifactCorrupt(f"{path} cannot be restored: {exc}") from exc
    try:
        config = cls.config_class.from_dict(hyperparameters)
    except (ValueError, TypeError) as exc:
        # e.g. saved before a hyperparameter was renamed: retrain rather than guess
        raise ArtifactMismatch(
            f"{path} was saved with hyperparameters this version does not accept ({exc})"
        ) from exc
    model = cls(config, device=device)
    try:
        tensors = {k: v.to(model.device) for k, v in load_bytes(data).items()}
    except SafetensorError as exc:
        raise ArtifactCorrupt(f"{path} cannot be restored: {exc}") from exc
    del data
    model.n_users, model.n_items = int(manifest["n_users"]), int(manifest["n_items"])
    model.info = dict(manifest.get("info") or {})
    try:
        model.load_state_tensors(tensors)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ArtifactCorrupt(f"{path} holds tensors this model cannot use: {exc}") from exc
    model.fitted = True
    return model
