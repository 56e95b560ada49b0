"""Training as a server job: shared by every session, owned by the server, resumable.

A page that needs a model that is not trained yet *asks* for it (``JobSpec`` → a row in the
store's ``training_jobs``, one per model, dataset, settings and purpose) and polls the row's
progress; it never trains in its own run. Each app replica's ``Supervisor`` claims jobs
atomically through the store and runs each in a worker process (``app.jobs.worker``), which
checkpoints as it goes, so navigation, refresh, closed tabs and other sessions change nothing,
and a server restart resumes the job from its checkpoint. ``./scripts/start`` trains the default
model before the app serves (``python -m app.startup``, through ``ensure``), and a retrain from
the Lab is a *candidate* that replaces the live model only as ``app.jobs.swap`` allows.

Modules: ``spec`` (what a job makes, its key, its folders), ``runner`` (run a claimed job here),
``swap`` (candidate vs live), ``supervisor`` (claim and spawn), ``worker`` (the child process).
No Streamlit anywhere in this package.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.jobs.runner import STALE_AFTER_S, run_job
from app.jobs.spec import JobSpec, candidate_dir, checked_params, live_dir, saved_model_intact
from app.jobs.supervisor import Supervisor, new_owner, supervisor_for
from app.store import Job, Store
from engine.progress import Progress


def ensure(
    store: Store,
    spec: JobSpec,
    echo: Progress | None = None,
    log: Callable[[str], None] | None = None,
    stale_after: float = STALE_AFTER_S,
    poll: float = 0.5,
) -> Job:
    """Ask for ``spec``'s job and wait for it to end: run it here when nobody else is running
    it, else follow the replica that is (``echo`` hears its progress either way). Returns the
    job as it ended. For ``./scripts/start``, tools and tests; pages never wait like this."""
    job = store.jobs.request(**spec.as_request())
    if (
        not job.active
        and spec.purpose == "serve"
        and not saved_model_intact(spec.dataset, spec.model)
    ):
        job = store.jobs.request(**spec.as_request(), again=True)  # gone or damaged since
    while job.active:
        owner = new_owner()
        claimed = store.jobs.claim(owner, stale_after, job_id=job.id)
        if claimed is not None:
            return run_job(store.jobs, claimed, owner, echo=echo, log=log)
        if echo is not None:
            echo(int(job.fraction * 1000), 1000, job.message or "another process is training it")
        time.sleep(poll)
        job = store.jobs.get(job.id)
    return job


__all__ = [
    "STALE_AFTER_S",
    "JobSpec",
    "Supervisor",
    "candidate_dir",
    "checked_params",
    "ensure",
    "live_dir",
    "new_owner",
    "run_job",
    "saved_model_intact",
    "supervisor_for",
]
