"""Running one claimed training job in this process: train, report, decide, swap.

``run_job`` is what a worker process (``app.jobs.worker``) and ``./scripts/start`` (``app.jobs
warm``) call once they hold a job's claim. It trains through ``engine.train.train_model`` with
checkpoints (so a job stopped mid-way resumes where it stopped, on whichever replica claims it
next), writes progress and a heartbeat to the store, and stops early when the operator cancels
or when the claim was lost (another replica presumed this one dead and took the job over).

Progress is one bar over the job's phases (held-out fit, full fit, and the live model's held-out
fit when a candidate needs it for the comparison); each phase is an equal share.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from app.jobs.spec import JobSpec, candidate_dir, live_dir
from app.jobs.swap import decide, promote_candidate
from app.store.errors import StoreError
from app.store.jobs import Job, JobQueue
from engine.data import load_embedded
from engine.data.movielens import load_dataset as load_folder
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.progress import Progress
from engine.storage.artifacts import ArtifactError, load_model, read_manifest
from engine.train import CHECKPOINT, HeldOut, clear_checkpoints, held_out_score, train_model

HEARTBEAT_S = 3.0  # how often a running job says it is alive, even inside one long epoch
STALE_AFTER_S = 30.0  # a running job silent for this long is presumed dead and taken over
REPORT_EVERY_S = 0.5  # progress writes at most this often


class JobStopped(KeyboardInterrupt):
    """Raised inside the fit when the job must stop (cancelled, or no longer ours). A
    KeyboardInterrupt, so that the engine treats it as Ctrl-C: the last checkpoint is kept."""


class DatasetChanged(RuntimeError):
    """The job's dataset is no longer what it was when the job was asked for."""


def load_dataset(spec: JobSpec) -> Ratings:
    """The job's dataset: the embedded sample or its MovieLens folder, checked to be the same
    data (by fingerprint) as when the job was asked for."""
    if spec.dataset_path:
        data = load_folder(spec.dataset_path)
    else:
        data = load_embedded(data_dir() / "datasets")
    if data.fingerprint != spec.dataset:
        raise DatasetChanged(
            f"the dataset changed since this job was asked for (now {data.fingerprint}, "
            f"was {spec.dataset}); ask for the model again"
        )
    return data


class _Reporter:
    """Progress to the store (throttled) and a heartbeat thread; knows when to stop."""

    def __init__(
        self,
        queue: JobQueue,
        job: Job,
        owner: str,
        phases: list[str],
        echo: Progress | None,
        interrupt: Callable[[], None] | None,
    ) -> None:
        self.queue, self.job, self.owner = queue, job, owner
        self.phases = phases
        self.echo = echo
        self.interrupt = interrupt
        self.phase = 0
        self.cancelled = False
        self.lost = False
        self._last = 0.0
        self.stopping = False  # the fit was told to stop (JobStopped raised)
        self._flagged_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_loop, daemon=True, name="job-heartbeat")

    # ------------------------------------------------------------ heartbeat
    def __enter__(self) -> _Reporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._take(self.queue.beat(self.job.id, self.owner))
            except Exception:  # a database hiccup: the next beat tries again
                continue
            if not (self.cancelled or self.lost) or self.interrupt is None or self.stopping:
                continue
            now = time.monotonic()
            self._flagged_at = self._flagged_at or now
            if now - self._flagged_at >= 2 * HEARTBEAT_S:  # the fit has not reported since
                self.interrupt()  # so stop it between two of its steps instead
                return

    def _take(self, beat: Any) -> None:
        self.cancelled = self.cancelled or beat.cancel
        self.lost = self.lost or not beat.owned

    # ------------------------------------------------------------ progress
    def enter(self, phase: str) -> None:
        """A new phase starts (a label of ``phases``, or ``train_model``'s phase key)."""
        label = PHASE_LABELS.get(phase, phase)
        if label in self.phases:
            self.phase = self.phases.index(label)
        self.report(0, 1, "")

    def report(self, done: int, total: int, message: str = "") -> None:
        inner = min(max(done / max(total, 1), 0.0), 1.0)
        overall = (self.phase + inner) / len(self.phases)
        text = f"{self.phases[self.phase]}: {message}" if message else self.phases[self.phase]
        if self.echo is not None:
            self.echo(int(overall * 1000), 1000, text)
        now = time.monotonic()
        if now - self._last >= REPORT_EVERY_S or inner >= 1.0:
            self._last = now
            with contextlib.suppress(StoreError):  # the database is away a moment: train on
                self._take(self.queue.beat(self.job.id, self.owner, overall, 1.0, text))
        if self.cancelled or self.lost:
            self.stopping = True
            raise JobStopped


PHASE_LABELS = {
    "protocol_e": "held-out fit",
    "protocol_r": "held-out fit",
    "full": "full-data fit",
}
LIVE_SCORE = "live model's held-out fit"


def _phases(spec: JobSpec, live_needs_score: bool) -> list[str]:
    if spec.purpose == "serve":
        return ["full-data fit"]
    phases = ["held-out fit", "full-data fit"]
    return [*phases, LIVE_SCORE] if live_needs_score else phases


def run_job(
    queue: JobQueue,
    job: Job,
    owner: str,
    echo: Progress | None = None,
    interrupt: Callable[[], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Job:
    """Run ``job`` (claimed by ``owner``) to its end here; returns the job as stored after.

    ``echo`` also hears the progress (a terminal bar); ``interrupt`` is called from the
    heartbeat thread when the job must stop (a worker process interrupts its main thread, so
    that a fit that reports rarely stops too). A real Ctrl-C (KeyboardInterrupt) puts the job
    back in the queue, checkpoint kept, and is re-raised.
    """
    spec = JobSpec.of(job)
    say = log or (lambda message: None)
    reporter: _Reporter | None = None
    try:
        dataset = load_dataset(spec)
        live_score = _live_score(spec) if spec.purpose == "candidate" else None
        live_exists = live_dir(spec.dataset, spec.model).joinpath("manifest.json").exists()
        phases = _phases(spec, live_exists and live_score is None)
        reporter = _Reporter(queue, job, owner, phases, echo, interrupt)
        # the heartbeat thread is joined when this block ends, so no interrupt it may send can
        # land in the handlers below
        with reporter:
            if spec.purpose == "serve":
                result = _serve(spec, dataset, reporter, say)
            else:
                result = _candidate(spec, dataset, reporter, live_score, say)
    except KeyboardInterrupt:
        if reporter is not None and reporter.lost:
            say("another replica took this job over; stopping here")
            return queue.get(job.id)
        if reporter is not None and reporter.cancelled:
            _forget(spec)
            queue.finish(job.id, owner, "cancelled", message="cancelled by the operator")
            return queue.get(job.id)
        queue.release(job.id, owner, "interrupted; resumes from its last checkpoint")
        raise
    except Exception as exc:  # any failure ends the job with the reason, never a silent hang
        say(traceback.format_exc())
        queue.finish(job.id, owner, "failed", error=f"{type(exc).__name__}: {exc}")
        return queue.get(job.id)
    state = "review" if result.get("review") else "done"
    queue.finish(job.id, owner, state, result=result, message=str(result.get("decision", "")))
    return queue.get(job.id)


def _serve(
    spec: JobSpec, dataset: Ratings, reporter: _Reporter, say: Callable[[str], None]
) -> dict[str, Any]:
    """Make the served model exist: use the saved one if it is fine, else train and save it."""
    target = live_dir(spec.dataset, spec.model)
    try:
        load_model(target, device="cpu", dataset=dataset)
        return {"decision": "the saved model was already there", "trained": False}
    except ArtifactError as exc:
        say(f"training {spec.model}: {exc}")
    _, metrics = train_model(
        spec.model,
        dataset,
        progress=reporter.report,
        params=spec.params,
        resume=True,
        log=say,
        folder=target,
        phase=reporter.enter,
    )
    return {"decision": "trained and saved", "trained": True, "metrics": metrics}


def _live_score(spec: JobSpec) -> Any:
    """The live model's recorded held-out score (None if it has none or there is no model)."""
    try:
        return HeldOut.from_metrics(
            read_manifest(live_dir(spec.dataset, spec.model)).get("metrics")
        )
    except ArtifactError:
        return None


def _candidate(
    spec: JobSpec,
    dataset: Ratings,
    reporter: _Reporter,
    live_score: Any,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Train the candidate with a held-out score, score the live model the same way if its
    manifest has no score, and swap if the rule allows (``app.jobs.swap``)."""
    folder = candidate_dir(spec)
    _, metrics = train_model(
        spec.model,
        dataset,
        progress=reporter.report,
        params=spec.params,
        evaluate=True,
        resume=True,
        log=say,
        folder=folder,
        phase=reporter.enter,
    )
    score = HeldOut.from_metrics(metrics)
    assert score is not None  # train_model(evaluate=True) always records it
    live = live_score
    try:
        live_manifest: dict[str, Any] | None = read_manifest(live_dir(spec.dataset, spec.model))
    except ArtifactError:
        live_manifest = None
    if live_manifest is not None and live is None:
        reporter.enter(LIVE_SCORE)
        live, _ = held_out_score(
            spec.model,
            dataset,
            params=live_manifest.get("hyperparameters") or {},
            progress=reporter.report,
            checkpoints=folder / "live-score",
            log=say,
        )
        shutil.rmtree(folder / "live-score", ignore_errors=True)
    decision = decide(score, live if live_manifest is not None else None)
    result: dict[str, Any] = {
        "decision": decision.reason,
        "candidate": score.to_dict(),
        "live": None if live is None else live.to_dict(),
        "fit_seconds": metrics.get("fit_seconds"),
    }
    if decision.swap:
        promote_candidate(spec)
        result["swapped"] = True
    else:
        result["review"] = True
        result["swapped"] = False
    return result


def _forget(spec: JobSpec) -> None:
    """A cancelled job's leftovers: its checkpoints (and a candidate's folder)."""
    if spec.purpose == "candidate":
        shutil.rmtree(candidate_dir(spec), ignore_errors=True)
    else:
        clear_checkpoints(live_dir(spec.dataset, spec.model) / CHECKPOINT)
