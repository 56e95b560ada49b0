"""A model for a request: the served one when it is ready, else its training job, asked for and
followed. A request never trains.

A model that is not trained yet is *asked for* (``model_status``): a "serve" training job in the
store (``app.jobs``), run by a replica's supervisor in a worker process and shared by everyone
who needs it; pages show its progress and keep working meanwhile. Once trained it is served from
disk, one shared copy per process (``app.services.served``).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Literal

from app.jobs import ensure
from app.jobs.spec import JobSpec, default_model_name, saved_model_intact
from app.jobs.supervisor import supervisor_for
from app.services.catalogue import dataset_path, get_catalogue
from app.services.families import model_family
from app.services.served import served_model
from app.services.store import get_store
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models.base import Recommender
from engine.progress import Progress


class ModelUnavailable(RuntimeError):
    """A model could not be loaded or trained; the message says why and what to do."""


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
    supervisor_for(get_store().url, str(data_dir())).wake()


def model_status(name: str | None = None) -> ModelStatus:
    """Ready, or the progress of the job making it. A model nobody asked for yet is asked for
    now (a "serve" job with its default hyperparameters); nothing waits here. A failed job is
    left as it is: the operator retries it from the Lab."""
    name = name or default_model_name()
    _check_family(name)
    catalogue = get_catalogue()
    if served_model(name, catalogue) is not None:
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
    served = served_model(name, get_catalogue())
    if served is None:
        raise ModelNotReady(model_status(name))
    return served.model, f"{name} (version {served.checksum[:8]})"


def ready_model(name: str | None = None) -> Recommender | None:
    """The served model if it is ready, else None (its training is asked for). For what can
    do without a model meanwhile (the rating cards)."""
    try:
        return get_model(name)[0]
    except ModelNotReady:
        return None


def ensure_model(name: str | None = None, echo: Progress | None = None) -> Recommender:
    """Train ``name`` now if it is missing (in this thread, or following the replica that is
    training it) and return it. For tools and tests; pages use ``model_status``."""
    name = name or default_model_name()
    _check_family(name)
    catalogue = get_catalogue()
    if served_model(name, catalogue) is None:
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
