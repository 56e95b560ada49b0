"""Protocol E, rating prediction: all ratings shuffled with default_rng(0), 80 % train, 20 % test.
RMSE, MAE and fit seconds for every explicit model and for surprise's algorithms: at the library's
defaults and at its strongest settings (item-based KNNBaseline, SVD tuned on a validation split)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine.data.splits import split_e
from engine.evaluate.peers import implicit_peers as peers
from engine.evaluate.peers.surprise_peers import surprise_plan
from engine.evaluate.protocols import evaluate_e
from engine.evaluate.report import OURS, BenchContext, ProtocolResult, add_ratio, timed_fit

if TYPE_CHECKING:  # surprise's module is imported only when surprise is installed
    from engine.evaluate.peers.surprise_peers import Plan

TITLE = "rating prediction (RMSE)"
COLUMNS = ["model", "by", "RMSE", "MAE", "fit s", "params"]


def _row(
    name: str, by: str, metrics: dict[str, float], fit_s: float, params: str
) -> dict[str, Any]:
    return {
        "model": name,
        "by": by,
        "RMSE": metrics["rmse"],
        "MAE": metrics["mae"],
        "fit s": fit_s,
        "params": params,
    }


def _peer_plan(ctx: BenchContext, notes: list[str]) -> Plan:
    """surprise's peers when asked for and installed; their notes (or why none) go to ``notes``."""
    if not ctx.peers:
        return []
    if not peers.version("surprise"):
        notes.append(peers.missing_note("surprise"))
        return []

    plan, peer_notes = surprise_plan(ctx.skip_slow_peers, ctx.quick)
    notes += peer_notes
    return plan


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    train, test = split_e(ctx.ratings)
    names, notes = ctx.model_names(kind="explicit")
    notes.insert(
        0,
        f"split: all ratings shuffled with default_rng(0); {len(train):,} train, {len(test):,} test. "
        "Our models run with their defaults (chosen on a validation split of train only).",
    )
    plan = _peer_plan(ctx, notes)
    progress = ctx.progress_factory("E")
    total, done = len(names) + len(plan), 0
    rows, extra = [], {}
    for name in names:
        progress(done, total, name)
        try:
            model = ctx.create_explicit(name)
            fit_s = timed_fit(model, train)
            metrics = evaluate_e(model, test)
            rows.append(_row(name, OURS, metrics, fit_s, "defaults"))
        except Exception as err:  # one broken model must not hide the others' figures
            notes.append(f"{name}: FAILED ({type(err).__name__}: {err})")
        done += 1
    for label, fit in plan:
        progress(done, total, label)
        fitted = fit(train)
        metrics = evaluate_e(fitted.model, test)
        rows.append(_row(fitted.name, fitted.library, metrics, fitted.fit_s, fitted.params))
        if fitted.grid is not None and len(fitted.grid) > 1:
            extra[f"{label}: validation grid (RMSE on a validation split of train)"] = fitted.grid
        done += 1
    progress(total, total, "done")
    table = pd.DataFrame(rows, columns=COLUMNS)
    notes += add_ratio(table, "RMSE", lower_is_better=True)
    table = table.loc[:, [c for c in table.columns if c != "params"] + ["params"]]
    return ProtocolResult("E", TITLE, table, notes, time.perf_counter() - start, extra_tables=extra)
