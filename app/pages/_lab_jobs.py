"""The Lab's training jobs (operator only; not a page itself): live progress of every job, from
any replica, with Cancel; the candidates the swap rule held back, with both scores and the
operator's decision; recent results, and Try again for a failed job."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import session_keys as keys
from app.pages._flash import Kind, flash
from app.services import lab
from app.store import Job, StoreError
from app.widgets.text import md

POLL_EVERY = "2s"
PURPOSE = {"serve": "first training", "candidate": "retrain"}
STATE = {
    "queued": "waiting for a worker",
    "running": "training",
    "review": "waiting for your decision",
    "done": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _score(found: dict[str, Any] | None) -> str:
    if not isinstance(found, dict) or not isinstance(found.get("value"), int | float):
        return "–"
    return f"{found.get('metric', '')} {found['value']:.4f}"


def _act(action: str, job_id: int) -> None:
    """Run an operator decision, then redraw the whole page (the models table changes too)."""
    message: tuple[Kind, str]
    try:
        if action == "cancel":
            lab.cancel_job(job_id)
            message = ("info", "Cancelling: the job stops at its next step.")
        elif action == "retry":
            lab.retry_job(job_id)
            message = ("info", "Queued again; it resumes from its last checkpoint if it has one.")
        elif action == "confirm":
            lab.confirm_candidate(job_id)
            message = ("success", "The retrained model is live; every room uses it now.")
        else:
            lab.keep_live_model(job_id)
            message = ("success", "Kept the live model; the retrained one was deleted.")
    except (ValueError, StoreError, OSError, RuntimeError) as exc:
        message = ("error", f"That did not work: {exc}")
    flash(*message)
    st.rerun()


def _active(job: Job) -> None:
    with st.container(border=True):
        head = f"**{md(job.model)}** · {PURPOSE.get(job.purpose, job.purpose)} · job {job.id}"
        st.markdown(head)
        text = f"{STATE[job.state]} — {job.fraction:.0%}"
        if job.message:
            text += f" · {job.message}"
        st.progress(job.fraction, text=text)
        if job.cancel_requested:
            st.caption("Cancel requested; it stops at its next step.")
        elif st.button("Cancel", key=keys.job_cancel(job.id)):
            _act("cancel", job.id)


def _review(job: Job) -> None:
    with st.container(border=True):
        st.markdown(f"**{md(job.model)}** retrained (job {job.id}): {md(job.result['decision'])}")
        left, right = st.columns(2)
        left.metric("Retrained model, held-out", _score(job.result.get("candidate")))
        right.metric("Live model, held-out", _score(job.result.get("live")))
        go, keep = st.columns(2)
        if go.button("Use the retrained model", key=keys.job_confirm(job.id), type="primary"):
            _act("confirm", job.id)
        if keep.button("Keep the live model", key=keys.job_keep(job.id)):
            _act("keep", job.id)


def _recent(jobs: list[Job]) -> None:
    rows = [
        {
            "Job": job.id,
            "Model": job.model,
            "What": PURPOSE.get(job.purpose, job.purpose),
            "State": STATE[job.state],
            "New score": _score(job.result.get("candidate")),
            "Live score": _score(job.result.get("live")),
            "Outcome": job.error or job.result.get("decision", ""),
            "Ended": job.finished_at.strftime("%Y-%m-%d %H:%M") if job.finished_at else "",
        }
        for job in jobs
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=keys.LAB_JOBS)
    for job in jobs:
        if job.state in ("failed", "cancelled") and st.button(
            f"Try job {job.id} ({job.model}) again", key=keys.job_retry(job.id)
        ):
            _act("retry", job.id)


@st.fragment(run_every=POLL_EVERY)
def jobs_section() -> None:
    """Every job of every replica, redrawn every two seconds on its own."""
    st.header("Training jobs")
    jobs = lab.training_jobs()
    active = [j for j in jobs if j.active]
    review = [j for j in jobs if j.state == "review"]
    ended = [j for j in jobs if not j.active and j.state != "review"][:8]
    if not jobs:
        st.caption("No training jobs yet.")
    for job in active:
        _active(job)
    for job in review:
        _review(job)
    if ended:
        with st.expander(f"Recent jobs ({len(ended)})", expanded=not active and not review):
            _recent(ended)
