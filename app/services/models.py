"""The fitted models the pages use: which families there are, the default, each room's model, and
one shared copy per family loaded from ``data/models/``. A request never trains.

A model that is not trained yet is *asked for* (``model_status``): a "serve" training job in the
store (``app.jobs``), run by a replica's supervisor in a worker process and shared by everyone
who needs it; pages show its progress and keep working meanwhile. A trained model is loaded
once per process and shared; every ``RECHECK_S`` seconds its manifest's checksum is read again,
and when another replica or the Lab swapped in a new model, the new one is loaded completely in
the background while requests keep using the old one, then replaces it in one assignment: no
request sees a half-loaded model.

Also the serving process's torch threads (``use_serving_threads``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.jobs.spec import JobSpec, default_model_name, saved_model_intact
from app.services.catalogue import dataset_path, get_catalogue
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models.base import Recommender
from engine.progress import Progress

# Intra-op threads of the serving process. Each Streamlit rerun runs on its own thread, and a
# request's tensor work is tiny (fold-ins of a few ratings, one blend over the catalogue): with
# several intra-op threads, waking the pool for 10×32 matrices cost 50–1000 ms on a busy 2-core
# machine against ~0.5 ms for the maths itself (6 fold-ins: 2.5 ms on one thread, 127–1421 ms on
# two). Concurrency comes from sessions, not from splitting one small product. Training runs in
# worker processes with threads of their own (app.jobs.worker).
SERVING_THREADS = 1
RECHECK_S = 2.0  # how often a served model's manifest is read again (a swap elsewhere)
LOAD_TRIES = 5  # a swap under way leaves no model on disk for a moment: try again
# Plain names for the families a room can use (guests see these, never a registry key alone).
MODEL_LABELS = {
    "hybrid": "likely to watch × likely to enjoy",
    "pmf": "predicted stars (probabilistic)",
    "mf": "predicted stars",
    "bpmf": "predicted stars (Bayesian)",
    "baseline": "film and viewer averages",
}


class ModelUnavailable(RuntimeError):
    """A model could not be loaded or trained; the message says why and what to do."""


def use_serving_threads() -> None:
    """Set torch's intra-op threads for serving, once when the server process starts.

    Threads started later (every rerun's) take the setting from the process; setting it per
    request instead (and restoring it after) raced between sessions' threads.
    """
    import torch

    torch.set_num_threads(SERVING_THREADS)


def model_names() -> list[str]:
    """Registered model families, the default first."""
    from engine.models import REGISTRY

    default = default_model_name()
    return [default, *sorted(n for n in REGISTRY if n != default)]


def model_family(name: str) -> type[Recommender] | None:
    """The registered class of family ``name``, or None when its module cannot be imported (a
    broken install or registry entry): it is then left out, and asking for it explains why."""
    from engine.models import model_class

    try:
        return model_class(name)
    except (ImportError, AttributeError, ValueError):
        return None


def model_kind(name: str) -> str:
    """Whether the family predicts stars ("explicit") or ranks what people watch ("implicit");
    "unavailable" when it cannot be imported."""
    family = model_family(name)
    return "unavailable" if family is None else family.kind


def model_label(name: str) -> str:
    """The family in plain words, for people: "predicted stars (mf)"."""
    plain = MODEL_LABELS.get(name)
    return f"{plain} ({name})" if plain else name


# --------------------------------------------------------------------------- served models

ModelKey = tuple[str, str, str]  # (data dir, dataset fingerprint, model family)


def _key(name: str, catalogue: Ratings) -> ModelKey:
    return (str(data_dir()), catalogue.fingerprint, name)


def _folder(name: str, catalogue: Ratings) -> Path:
    from app.jobs.spec import live_dir

    return live_dir(catalogue.fingerprint, name)


def _stamp(folder: Path) -> str | None:
    """The saved model's identity (its tensors' checksum, from the manifest), None if there is
    no readable manifest (not trained, or a swap under way)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    stamp = manifest.get("sha256") if isinstance(manifest, dict) else None
    return str(stamp) if stamp else None


def _load(folder: Path, catalogue: Ratings) -> Recommender | None:
    """The saved model, or None when there is none usable; a swap caught mid-way (missing or
    mismatched files for a moment) is retried."""
    from engine.storage.artifacts import ArtifactCorrupt, ArtifactError, ArtifactMissing, load_model

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
class _Served:
    """One served model, the checksum it was loaded from, and when the disk was last looked at."""

    model: Recommender
    stamp: str
    checked: float


class _ServedModels:
    """One model per (data dir, dataset, family), shared by every session of this process."""

    def __init__(self) -> None:
        self._served: dict[ModelKey, _Served] = {}
        self._locks: dict[ModelKey, threading.Lock] = {}
        self._reloading: set[ModelKey] = set()
        self._guard = threading.Lock()

    def _lock(self, key: ModelKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def current(self, name: str, catalogue: Ratings) -> _Served | None:
        """The served model (loading it the first time, < 3 s), or None while it is not trained.
        A newer model on disk is loaded in the background; until it is, this returns the old."""
        key = _key(name, catalogue)
        served = self._served.get(key)
        now = time.monotonic()
        if served is not None and now - served.checked < RECHECK_S:
            return served
        folder = _folder(name, catalogue)
        stamp = _stamp(folder)
        if served is not None:
            served.checked = now
            if stamp is not None and stamp != served.stamp:
                self._reload_later(key, folder, catalogue, stamp)
            return served  # also while the files are briefly missing during a swap
        if stamp is None:
            return None
        with self._lock(key):  # the first load: other sessions wait for it instead of loading too
            served = self._served.get(key)
            if served is None:
                model = _load(folder, catalogue)
                if model is None:
                    return None
                served = self._served[key] = _Served(model, stamp, time.monotonic())
        return served

    def _reload_later(self, key: ModelKey, folder: Path, catalogue: Ratings, stamp: str) -> None:
        with self._guard:
            if key in self._reloading:
                return
            self._reloading.add(key)

        def reload() -> None:
            try:
                model = _load(folder, catalogue)
                if model is not None:
                    # one assignment: a request gets the old model or the new one, whole
                    self._served[key] = _Served(model, stamp, time.monotonic())
            finally:
                with self._guard:
                    self._reloading.discard(key)

        threading.Thread(target=reload, daemon=True, name=f"reload-{key[2]}").start()

    def forget(self) -> None:
        """Drop every served model (tests)."""
        with self._guard:
            self._served.clear()


_SERVED = _ServedModels()


@dataclass(frozen=True)
class ModelStatus:
    """Whether a model is ready and, if not, how far its training job got.

    ``state``: "ready", "queued" (waiting for a worker), "training", or "failed" (the operator
    sees why on the Lab page); ``fraction`` the job's progress in 0..1.
    """

    name: str
    state: Literal["ready", "queued", "training", "failed"]
    fraction: float = 1.0
    job_id: int | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class ModelNotReady(ModelUnavailable):
    """The model is still being trained (or its training failed); ``status`` says how far."""

    def __init__(self, status: ModelStatus) -> None:
        self.status = status
        super().__init__(
            f"The {status.name} model is not ready yet ({status.state}, "
            f"{status.fraction:.0%}); it is being prepared in the background."
        )


def _check_family(name: str) -> None:
    if model_family(name) is None:
        raise ModelUnavailable(
            f"The {name!r} model could not be loaded: its code is missing from this "
            "installation. Pick another model."
        )


def _serve_spec(name: str, catalogue: Ratings) -> JobSpec:
    return JobSpec.make(name, catalogue, "serve", dataset_path=dataset_path())


def wake_supervisor() -> None:
    """Have this process's job supervisor look for work now (started if it was idle)."""
    from app.jobs.supervisor import supervisor_for
    from app.services.store import get_store

    supervisor_for(get_store().url, str(data_dir())).wake()


def model_status(name: str | None = None) -> ModelStatus:
    """Ready, or the progress of the job making it. A model nobody asked for yet is asked for
    now (a "serve" job with its default hyperparameters); nothing waits here. A failed job is
    left as it is: the operator retries it from the Lab."""
    from app.services.store import get_store

    name = name or default_model_name()
    _check_family(name)
    catalogue = get_catalogue()
    if _SERVED.current(name, catalogue) is not None:
        return ModelStatus(name, "ready")
    spec = _serve_spec(name, catalogue)
    jobs = get_store().jobs
    job = jobs.find(spec.key)
    if job is None or (
        job.state in ("done", "cancelled") and not saved_model_intact(spec.dataset, name)
    ):  # never asked for, or its model went missing or was damaged since
        job = jobs.request(**spec.as_request(), again=job is not None)
    if job.active:
        wake_supervisor()  # also takes over a job whose replica died
    state = {"queued": "queued", "running": "training", "failed": "failed"}.get(job.state)
    if state is None:  # done a moment ago: the next look loads it
        return ModelStatus(name, "training", 1.0, job.id)
    return ModelStatus(name, state, job.fraction, job.id)  # type: ignore[arg-type]


def get_model(name: str | None = None) -> tuple[Recommender, str]:
    """(the served model, a line saying which): shared by every session. Raises
    ``ModelNotReady`` while it is being trained (pages check ``model_status`` first) and
    ``ModelUnavailable`` for a family that cannot be loaded."""
    name = name or default_model_name()
    _check_family(name)
    served = _SERVED.current(name, get_catalogue())
    if served is None:
        raise ModelNotReady(model_status(name))
    return served.model, f"{name} (version {served.stamp[:8]})"


def ready_model(name: str | None = None) -> Recommender | None:
    """The served model if it is ready, else None (its training is asked for). For what can
    do without a model meanwhile (the rating cards)."""
    try:
        return get_model(name)[0]
    except ModelNotReady:
        return None


def model_token(name: str) -> tuple[str, str, str, str]:
    """A cache key for everything computed from the served ``name`` model: it changes with the
    data dir, the dataset and every new version (a swap after a retrain, on any replica)."""
    catalogue = get_catalogue()
    served = _SERVED.current(name, catalogue)
    return (*_key(name, catalogue), served.stamp if served is not None else "")


def ensure_model(name: str | None = None, echo: Progress | None = None) -> Recommender:
    """Train ``name`` now if it is missing (in this thread, or following the replica that is
    training it) and return it. For tools and tests; pages use ``model_status``."""
    from app.jobs import ensure
    from app.services.store import get_store

    name = name or default_model_name()
    _check_family(name)
    catalogue = get_catalogue()
    if _SERVED.current(name, catalogue) is None:
        job = ensure(get_store(), _serve_spec(name, catalogue), echo=echo)
        if job.state != "done":
            raise ModelUnavailable(f"Training {name} ended {job.state}: {job.error or ''}")
    return get_model(name)[0]


def preload(name: str | None = None) -> None:
    """At server start, in the background: load the trained model so that the first request
    finds it loaded, or, when it is not trained (the app was started without
    ``./scripts/start``), ask for its training job right away."""
    name = name or default_model_name()

    def load() -> None:
        try:
            model_status(name)
        except Exception as exc:  # e.g. the database is down: the first request says so
            detail = getattr(exc, "detail", exc)  # the operator's text (a store error's path)
            print(f"[movienight] could not prepare the {name} model: {detail}", file=sys.stderr)

    threading.Thread(target=load, daemon=True, name=f"preload-{name}").start()


def forget_served_models() -> None:
    """Drop the models this process loaded (tests that delete the data folder)."""
    _SERVED.forget()


# --------------------------------------------------------------------------- the room's model


def room_model_families() -> list[str]:
    """Families a room can use: those that give every member expected stars (the Picks cards
    show them), the default first. Never ``popularity``: it has no stars (it would show 5.0★
    for everyone)."""
    names = []
    for name in model_names():
        family = model_family(name)
        if family is not None and (
            family.kind == "explicit" or "expected_stars" in family.capabilities
        ):
            names.append(name)
    return names


def trained_models(names: list[str] | None = None) -> list[str]:
    """Of ``names`` (default: every family), those with a saved model for the current data."""
    catalogue = get_catalogue()
    return [n for n in (names or model_names()) if _stamp(_folder(n, catalogue)) is not None]


def room_model(room_code: str | None) -> str:
    """The model a room's pages use: the operator's choice for the room if it is still a room
    model, else the app's default (also without a room)."""
    from app.services.store import get_store
    from app.store import StoreError

    if room_code:
        try:
            chosen = get_store().room_model(room_code)
        except StoreError:
            chosen = None
        if chosen and chosen in room_model_families():
            return chosen
    return default_model_name()


def set_room_model(room_code: str, name: str | None) -> None:
    """Set a room's model (None: back to the default); an operator action, the page checks
    the credential. Only a trained room model can be chosen (``ValueError`` otherwise)."""
    from app.services.store import get_store

    if name is not None and name not in trained_models(room_model_families()):
        raise ValueError(
            f"{name!r} cannot be a room's model: choose one of "
            f"{', '.join(trained_models(room_model_families())) or 'the trained models'}."
        )
    get_store().set_room_model(room_code, name)


# The model Explore falls back to when neither the room's nor the default has film vectors.
INSIGHT_FALLBACK = "mf"


def explore_model(room_code: str | None) -> str:
    """The model Explore draws: the room's model when it has film vectors to draw, else the
    default's, else mf (the plainest vectors to read)."""
    for name in (room_model(room_code), default_model_name()):
        family = model_family(name)
        if family is not None and "item_vectors" in family.capabilities:
            return name
    return INSIGHT_FALLBACK
