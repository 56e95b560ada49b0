"""The served models: one shared copy per (data dir, dataset, family), loaded from
``data/models/`` and swapped whole when a newer one appears there.

A trained model is loaded once per process and shared by every session; every ``RECHECK_S``
seconds its manifest's checksum is read again, and when another replica or the Lab swapped in a
new model, the new one is loaded completely in the background while requests keep using the
old one, then replaces it in one assignment: no request sees a half-loaded model. Nothing here
trains or asks for training (``app.services.models`` does).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.jobs.spec import live_dir
from app.services.catalogue import get_catalogue
from app.services.families import model_names
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models.base import Recommender
from engine.storage.artifacts import ArtifactCorrupt, ArtifactError, ArtifactMissing, load_model

RECHECK_S = 2.0  # how often a served model's manifest is read again (a swap elsewhere)
LOAD_TRIES = 5  # a swap under way leaves no model on disk for a moment: try again

ModelKey = tuple[str, str, str]  # (data dir, dataset fingerprint, model family)


def _key(name: str, catalogue: Ratings) -> ModelKey:
    return (str(data_dir()), catalogue.fingerprint, name)


def _folder(name: str, catalogue: Ratings) -> Path:
    return live_dir(catalogue.fingerprint, name)


def _checksum(folder: Path) -> str | None:
    """The saved model's identity (its tensors' checksum, from the manifest), None if there is
    no readable manifest (not trained, or a swap under way)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    checksum = manifest.get("sha256") if isinstance(manifest, dict) else None
    return str(checksum) if checksum else None


def _load(folder: Path, catalogue: Ratings) -> Recommender | None:
    """The saved model, or None when there is none usable; a swap caught mid-way (missing or
    mismatched files for a moment) is retried."""
    for attempt in range(LOAD_TRIES):
        try:
            return load_model(folder, dataset=catalogue)
        except (ArtifactMissing, ArtifactCorrupt):
            if attempt < LOAD_TRIES - 1:
                time.sleep(0.1 * (attempt + 1))
        except ArtifactError:  # trained on other data or an old format: needs a new training
            return None
    return None


@dataclass
class Served:
    """One served model, the checksum it was loaded from, and when the disk was last looked at."""

    model: Recommender
    checksum: str  # the saved model's tensors, from its manifest: a new one is a new version
    checked: float


class _ServedModels:
    """One model per (data dir, dataset, family), shared by every session of this process."""

    def __init__(self) -> None:
        self._served: dict[ModelKey, Served] = {}
        self._locks: dict[ModelKey, threading.Lock] = {}
        self._reloading: set[ModelKey] = set()
        self._guard = threading.Lock()

    def _lock(self, key: ModelKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def current(self, name: str, catalogue: Ratings) -> Served | None:
        """The served model (loading it the first time, < 3 s), or None while it is not trained.
        A newer model on disk is loaded in the background; until it is, this returns the old."""
        key = _key(name, catalogue)
        served = self._served.get(key)
        now = time.monotonic()
        if served is not None and now - served.checked < RECHECK_S:
            return served
        folder = _folder(name, catalogue)
        checksum = _checksum(folder)
        if served is not None:
            served.checked = now
            if checksum is not None and checksum != served.checksum:
                self._reload_later(key, folder, catalogue, checksum)
            return served  # also while the files are briefly missing during a swap
        if checksum is None:
            return None
        with self._lock(key):  # the first load: other sessions wait for it instead of loading too
            served = self._served.get(key)
            if served is None:
                model = _load(folder, catalogue)
                if model is None:
                    return None
                served = self._served[key] = Served(model, checksum, time.monotonic())
        return served

    def _reload_later(self, key: ModelKey, folder: Path, catalogue: Ratings, checksum: str) -> None:
        with self._guard:
            if key in self._reloading:
                return
            self._reloading.add(key)

        def reload() -> None:
            try:
                model = _load(folder, catalogue)
                if model is not None:
                    # one assignment: a request gets the old model or the new one, whole
                    self._served[key] = Served(model, checksum, time.monotonic())
            finally:
                with self._guard:
                    self._reloading.discard(key)

        threading.Thread(target=reload, daemon=True, name=f"reload-{key[2]}").start()

    def forget(self) -> None:
        """Drop every served model (tests)."""
        with self._guard:
            self._served.clear()


_SERVED = _ServedModels()


def served_model(name: str, catalogue: Ratings) -> Served | None:
    """The served ``name`` model for ``catalogue``, or None while there is none trained."""
    return _SERVED.current(name, catalogue)


def trained_models(names: list[str] | None = None) -> list[str]:
    """Of ``names`` (default: every family), those with a saved model for the current data."""
    catalogue = get_catalogue()
    return [n for n in (names or model_names()) if _checksum(_folder(n, catalogue)) is not None]


def model_key(name: str) -> tuple[str, str, str, str]:
    """A cache key for everything computed from the served ``name`` model: it changes with the
    data dir, the dataset and every new version (a swap after a retrain, on any replica)."""
    catalogue = get_catalogue()
    served = _SERVED.current(name, catalogue)
    return (*_key(name, catalogue), served.checksum if served is not None else "")


def forget_served_models() -> None:
    """Drop the models this process loaded (tests that delete the data folder)."""
    _SERVED.forget()
