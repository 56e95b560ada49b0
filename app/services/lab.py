"""The Lab's work (operator only; the page checks the credential): saved manifests, the declared
hyperparameters, retraining as a candidate job, and the operator's say over jobs: cancel a
running one, retry a failed one, and confirm or refuse a candidate the swap rule held back.

Nothing trains here: a retrain is a "candidate" job (``app.jobs``) that a replica's worker runs,
and ``app.jobs.swap`` decides whether it replaces the live model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.jobs.spec import JobSpec
from app.jobs.swap import discard_candidate, promote_candidate
from app.services.catalogue import dataset_path, get_catalogue
from app.services.models import wake_supervisor
from app.services.store import get_store
from app.store import Job
from engine.models import REGISTRY, Param, model_class
from engine.storage.artifacts import ArtifactError, read_manifest
from engine.train import model_dir


def model_manifests() -> dict[str, dict[str, Any] | str]:
    """For each registered model: its saved manifest for the current dataset, or why there is none."""
    cat = get_catalogue()
    found: dict[str, dict[str, Any] | str] = {}
    for name in sorted(REGISTRY):
        try:
            found[name] = read_manifest(model_dir(cat, name))
        except ArtifactError as exc:
            found[name] = str(exc)
    return found


def model_declarations(name: str) -> tuple[Param, ...]:
    """The hyperparameters of a family as declared once in its config: name, type, range or
    choices, default, meaning (the Lab's form is built from these)."""
    return model_class(name).hyperparameters()


def model_hyperparameters(name: str) -> dict[str, Any]:
    """The default hyperparameters of a model family."""
    return {p.name: p.default for p in model_declarations(name)}


def request_retrain(name: str, params: dict[str, Any]) -> Job:
    """Queue a retrain of ``name`` with ``params`` on the current dataset as a candidate job.

    The values are checked against the declarations first: ``ValueError`` naming the field and
    what is allowed, and nothing is queued. The same settings asked for again reuse the job (it
    is queued again once it has ended).
    """
    spec = JobSpec.make(name, get_catalogue(), "candidate", params, dataset_path=dataset_path())
    job = get_store().jobs.request(**spec.as_request(), again=True)
    wake_supervisor()
    return job


def training_jobs(limit: int = 20) -> list[Job]:
    """Jobs, newest first."""
    return get_store().jobs.jobs(limit=limit)


def cancel_job(job_id: int) -> Job:
    return get_store().jobs.cancel(job_id)


def retry_job(job_id: int) -> Job:
    """Queue a failed or cancelled job again (resuming from any checkpoint it left)."""
    jobs = get_store().jobs
    job = jobs.get(job_id)
    spec = JobSpec.of(job)
    again = jobs.request(**spec.as_request(), again=True)
    wake_supervisor()
    return again


def _decide(job_id: int, act: Callable[[JobSpec], None], swapped: bool, decision: str) -> Job:
    """Carry out the operator's decision on a retrain waiting for review, and record it."""
    jobs = get_store().jobs
    job = jobs.get(job_id)
    if job.state != "review":
        raise ValueError("This retrain is not waiting for a decision any more.")
    act(JobSpec.of(job))
    jobs.settle(job_id, "done", {**job.result, "swapped": swapped, "decision": decision})
    return jobs.get(job_id)


def confirm_candidate(job_id: int) -> Job:
    """The operator saw both scores and wants the candidate live: swap it in now."""
    decision = "put live by the operator after comparing the scores"
    return _decide(job_id, promote_candidate, True, decision)


def keep_live_model(job_id: int) -> Job:
    """The operator keeps the live model: the candidate is deleted."""
    decision = "the operator kept the live model; the candidate was deleted"
    return _decide(job_id, discard_candidate, False, decision)
