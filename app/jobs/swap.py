"""When a retrained candidate replaces the live model, and the replacing itself.

The rule: the candidate replaces the live model when its held-out score is not worse than the
live model's by more than ``TOLERANCE`` (relative: 2 % of the live score; RMSE for explicit
models, NDCG@10 for implicit ones, both on the protocol's fixed split, ``engine.train.HeldOut``).
Otherwise the job waits in "review" with both scores, and the operator either confirms the swap
or keeps the live model. With no live model there is nothing to protect and the candidate goes
live.

The swap itself is ``engine.storage.artifacts.promote``: the candidate folder is renamed into the live
model's place, so other processes see either the old model or the new one, and each app replica
loads the new one completely before its requests use it (``app.services.models``).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from typing import Any

from app.jobs.spec import JobSpec, candidate_dir, live_dir
from engine.storage.artifacts import promote
from engine.train import HeldOut

TOLERANCE = 0.02


@dataclass(frozen=True)
class Decision:
    """Whether the candidate goes live, and why, in one sentence for the operator."""

    swap: bool
    reason: str


def decide(candidate: HeldOut, live: HeldOut | None, tolerance: float = TOLERANCE) -> Decision:
    """Apply the rule above to two held-out scores."""
    if live is None:
        return Decision(True, "there was no live model to compare with")
    if not math.isfinite(candidate.value):
        return Decision(
            False,
            f"the candidate's held-out {candidate.metric} is not a number ({candidate.value}): "
            "waiting for the operator",
        )
    worse = candidate.worse_than(live)
    where = f"{candidate.metric} {candidate.value:.4f} against the live model's {live.value:.4f}"
    if worse <= tolerance:
        verdict = "better" if worse < 0 else "as good, within the tolerance"
        return Decision(True, f"{verdict}: {where}")
    return Decision(
        False,
        f"{worse:.1%} worse than the live model ({where}; tolerance {tolerance:.0%}): "
        "waiting for the operator",
    )


def promote_candidate(spec: JobSpec) -> None:
    """Put the candidate of ``spec`` live (``ArtifactError`` if the candidate is gone or
    damaged, e.g. discarded meanwhile)."""
    promote(candidate_dir(spec), live_dir(spec.dataset, spec.model))


def discard_candidate(spec: JobSpec) -> None:
    """Delete the candidate of ``spec`` (nothing if it is already gone)."""
    shutil.rmtree(candidate_dir(spec), ignore_errors=True)


def summary(result: dict[str, Any]) -> str:
    """The job result's decision line (for the Lab)."""
    return str(result.get("decision", ""))
