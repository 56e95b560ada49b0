"""What a training job makes: a model family, its checked hyperparameters, a dataset, a purpose.

A job's ``key`` is a hash of all four, so everyone asking for the same model on the same data
with the same settings shares one job (one row in ``training_jobs``). Purposes:

- ``serve``: make the model the app serves exist (default hyperparameters); it is written
  straight to ``engine.train.model_dir`` (when it is missing, nothing is being replaced);
- ``candidate``: an operator's retrain; it is trained (with a held-out score) into a candidate
  folder and replaces the live model only through ``app.jobs.swap``.

No Streamlit here: ``./scripts/start`` and worker processes use it too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store.jobs import Job, Purpose
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models import REGISTRY, model_class
from engine.storage.artifacts import TENSORS, ArtifactError, read_manifest
from engine.storage.files import sha256_file

CANDIDATES = ".candidates"
DEFAULT_MODEL_ENV = "MOVIENIGHT_DEFAULT_MODEL"
# The hybrid (P(watch) × E[rating], als × pmf) picks films members go on to watch and like about
# twice as often as mf's star ranking in protocol G (docs/BENCHMARKS.md), and it still shows each
# member's expected stars. ./scripts/start trains it before the app serves.
PREFERRED_MODEL = "hybrid"
FALLBACK_MODEL = "baseline"


def default_model_name() -> str:
    """The model the app serves by default: ``MOVIENIGHT_DEFAULT_MODEL`` (tests use a fast
    one), else the hybrid, else the bias baseline."""
    chosen = os.environ.get(DEFAULT_MODEL_ENV, "").strip()
    if chosen in REGISTRY:
        return chosen
    return PREFERRED_MODEL if PREFERRED_MODEL in REGISTRY else FALLBACK_MODEL


def checked_params(model: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every hyperparameter of ``model`` (defaults where ``params`` leaves one out), checked
    against its declaration: ``ValueError`` naming the field and what is allowed, before
    anything is queued. Unknown families raise ``ValueError`` too."""
    return model_class(model).config_class.from_dict(dict(params or {})).to_dict()


@dataclass(frozen=True)
class JobSpec:
    """One job's identity. ``params`` are the full, checked hyperparameters; ``dataset_path``
    the MovieLens folder (None: the embedded sample) a worker loads ``dataset`` from."""

    model: str
    params: dict[str, Any]
    dataset: str
    purpose: Purpose
    dataset_path: str | None = None

    @classmethod
    def make(
        cls,
        model: str,
        catalogue: Ratings,
        purpose: Purpose = "serve",
        params: dict[str, Any] | None = None,
        dataset_path: str | None = None,
    ) -> JobSpec:
        """A spec with checked hyperparameters (``ValueError`` if they are not allowed)."""
        return cls(
            model, checked_params(model, params), catalogue.fingerprint, purpose, dataset_path
        )

    @classmethod
    def of(cls, job: Job) -> JobSpec:
        return cls(job.model, job.params, job.dataset, job.purpose, job.dataset_path)

    @property
    def key(self) -> str:
        blob = json.dumps(
            [self.model, self.params, self.dataset, self.purpose], sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def as_request(self) -> dict[str, Any]:
        """Keyword arguments for ``JobQueue.request``."""
        return {
            "key": self.key,
            "model": self.model,
            "dataset": self.dataset,
            "params": self.params,
            "purpose": self.purpose,
            "dataset_path": self.dataset_path,
        }


def live_dir(dataset: str, model: str, root: Path | None = None) -> Path:
    """Where the model the app serves lives (``engine.train.model_dir``'s layout)."""
    return (root or data_dir() / "models") / dataset / model


def candidate_dir(spec: JobSpec, root: Path | None = None) -> Path:
    """Where a candidate is trained, beside the live models (same filesystem, so the swap is a
    rename)."""
    return (root or data_dir() / "models") / spec.dataset / CANDIDATES / f"{spec.model}-{spec.key}"


def saved_model_intact(dataset: str, model: str) -> bool:
    """Whether the served model is saved, made for this dataset, and its tensors match their
    checksum (checked without loading it: quick)."""
    folder = live_dir(dataset, model)
    try:
        manifest = read_manifest(folder)
        return (manifest.get("dataset") or {}).get("fingerprint") == dataset and (
            sha256_file(folder / TENSORS) == manifest.get("sha256")
        )
    except (ArtifactError, OSError):
        return False
