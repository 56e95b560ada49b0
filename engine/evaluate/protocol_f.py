"""Protocol F, a new member: 10 % of users with >= 25 ratings (default_rng(1)) leave training. Each
reveals k ∈ {5, 10, 20} ratings, (a) at random (default_rng(2)) or (b) those the elicitation
strategy asks for (answering only films they rated), and is folded in without retraining. The
hidden rest is scored (NDCG@10, Recall@10, RMSE), and compared with a model *retrained* with all
revealed ratings added to train: fold-in should come within 5 % of retraining at a fraction of
the cost."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit, split_f
from engine.evaluate import peers
from engine.evaluate.protocol_r import _describe, _validation_ndcg
from engine.evaluate.protocols import (
    Reveal,
    evaluate_f,
    reveal_elicit,
    reveal_random,
    revealed_ratings,
)
from engine.evaluate.report import OURS, BenchContext, ProtocolResult, add_ratio, timed_fit

TITLE = "new member fold-in (NDCG@10 from k revealed ratings)"
K_REVEAL = (5, 10, 20)
TOLERANCE = 0.05  # "within 5 %" of retraining
RETRAIN_K = (10,)
COLUMNS = [
    "model", "by", "k", "reveal", "revealed", "NDCG@10", "Recall@10", "RMSE", "fold-in ms",
    "retrain NDCG@10", "retrain RMSE", "retrain s", "fold-in ÷ retrain NDCG", "within 5 %",
]  # fmt: skip

Maker = Callable[[Ratings], tuple[Any, float]]  # train -> (fitted model, fit seconds)


def _elicitor() -> tuple[Callable[..., list[int]] | None, str]:
    try:
        from engine.elicit import DEFAULT_ELICITATION, elicitor
    except Exception as err:  # the GROUP helper's module may not be there yet
        return (
            None,
            f"variant (b), elicitation, skipped: engine.elicit does not import ({type(err).__name__}: {err})",
        )
    return (
        elicitor(DEFAULT_ELICITATION),
        f"variant (b) asks engine.elicit's default strategy '{DEFAULT_ELICITATION}', 5 films at a time, at most 200 asks",
    )


def retrain_ks(ctx: BenchContext) -> tuple[int, ...]:
    """The k at which fold-in is compared with a retrain (one refit of the model each): k=10 by
    default, since every extra k costs a full fit per model; ``--retrain-k 5,10,20`` for all,
    ``--retrain-k none`` (an empty tuple) for no retrain at all."""
    return RETRAIN_K if ctx.retrain_ks is None else tuple(ctx.retrain_ks)


def _within(fold: dict[str, Any], retrain: dict[str, Any]) -> tuple[float, bool]:
    ratio = fold["ndcg"] / retrain["ndcg"] if retrain["ndcg"] else float("nan")
    ok = fold["ndcg"] >= (1 - TOLERANCE) * retrain["ndcg"]
    if fold["rmse"] == fold["rmse"] and retrain["rmse"] == retrain["rmse"]:  # explicit: RMSE too
        ok = ok and fold["rmse"] <= (1 + TOLERANCE) * retrain["rmse"]
    return ratio, bool(ok)


def measure(
    label: str,
    by: str,
    make: Maker,
    split: FoldInSplit,
    reveals: dict[int, list[Reveal]],
    ctx: BenchContext,
    elicit: Callable[..., list[int]] | None = None,
    tick: Callable[[str], None] = lambda message: None,
) -> list[dict[str, Any]]:
    """Rows for one model: per k, random reveals (fold-in vs retrain) and, if given, elicitation."""
    model, _ = make(split.train)
    rows = []
    for k, revealed in reveals.items():
        tick(f"{label} k={k}")
        fold = evaluate_f(model, split, reveals=revealed, k=ctx.k, threshold=ctx.threshold)
        row = {
            "model": label, "by": by, "k": k, "reveal": "random", "revealed": fold["revealed"],
            "NDCG@10": fold["ndcg"], "Recall@10": fold["recall"], "RMSE": fold["rmse"],
            "fold-in ms": fold["foldin_ms"],
        }  # fmt: skip
        if k in retrain_ks(ctx):
            retrained, retrain_s = make(split.train.concat(revealed_ratings(split, revealed)))
            again = evaluate_f(
                retrained, split, reveals=revealed, k=ctx.k, threshold=ctx.threshold, fold_in=False
            )
            ratio, ok = _within(fold, again)
            row.update(
                {
                    "retrain NDCG@10": again["ndcg"], "retrain RMSE": again["rmse"],
                    "retrain s": retrain_s, "fold-in ÷ retrain NDCG": ratio, "within 5 %": ok,
                }
            )  # fmt: skip
        rows.append(row)
        if elicit is not None:
            tick(f"{label} k={k} elicit")
            asked = reveal_elicit(model, split, k, elicit)
            out = evaluate_f(model, split, reveals=asked, k=ctx.k, threshold=ctx.threshold)
            rows.append(
                {
                    "model": label, "by": by, "k": k, "reveal": "elicit", "revealed": out["revealed"],
                    "NDCG@10": out["ndcg"], "Recall@10": out["recall"], "RMSE": out["rmse"],
                    "fold-in ms": out["foldin_ms"],
                }
            )  # fmt: skip
    return rows


def _ours(ctx: BenchContext, name: str) -> Maker:
    def make(train: Ratings) -> tuple[Any, float]:
        model = ctx.create(name)
        return model, timed_fit(model, train)

    return make


def _peer_makers(
    ctx: BenchContext, split: FoldInSplit, notes: list[str]
) -> list[tuple[str, str, Maker]]:
    out: list[tuple[str, str, Maker]] = []
    if peers.version("implicit"):
        grid = peers.QUICK_ALS_GRID if ctx.quick else peers.ALS_GRID
        iterations = 4 if ctx.quick else 15
        best, _ = peers.tune(
            lambda t, p: peers.fit_als(t, p, iterations),
            grid,
            split.train,
            _validation_ndcg(ctx.k, ctx.threshold),
        )
        notes.append(
            f"implicit ALS tuned on a validation split of the F train set ({_describe(best)}); "
            "its fold-in is implicit's recalculate_user (a least-squares solve with items fixed)."
        )

        def als(train: Ratings) -> tuple[Any, float]:
            fitted = peers.fit_als(train, best, iterations)
            return fitted.model, fitted.fit_s

        out.append(("implicit ALS", f"implicit {peers.version('implicit')}", als))
    else:
        notes.append(peers.missing_note("implicit"))

    def popularity(train: Ratings) -> tuple[Any, float]:
        fitted = peers.fit_popularity(train)
        return fitted.model, fitted.fit_s

    out.append(("popularity (counts)", "numpy", popularity))
    return out


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    split = split_f(ctx.ratings)
    names, notes = ctx.model_names()
    ks = (10,) if ctx.quick else K_REVEAL
    notes.insert(
        0,
        f"split: {len(split.new_users)} new users (10 % of users with >= 25 ratings, default_rng(1)); "
        f"random reveals with one default_rng(2) over the users in order, k ∈ {sorted(ks)}. Candidates: "
        "all films the member did not reveal; relevant = hidden films rated >= 4; RMSE pools every "
        "hidden rating (explicit models). Retrain (at k ∈ "
        f"{sorted(set(retrain_ks(ctx)) & set(ks)) or 'none'}) = the same model refitted on train plus every "
        "member's revealed ratings, scoring the members as training users; 'within 5 %' = fold-in "
        "NDCG@10 >= 0.95 × retrain NDCG@10 (and RMSE <= 1.05 × retrain RMSE for explicit models).",
    )
    elicit, note = _elicitor()
    notes.append(note)
    reveals = {k: reveal_random(split, k) for k in ks}
    plan = [(name, OURS, _ours(ctx, name), elicit) for name in names]
    progress = ctx.progress_factory("F")
    steps_each = len(ks) * (2 if elicit else 1)
    done = 0
    total = (len(plan) + 2) * steps_each

    def tick(message: str) -> None:
        nonlocal done
        progress(min(done, total), total, message)
        done += 1

    if ctx.peers:
        tick("tuning implicit ALS")
        plan += [(label, by, make, None) for label, by, make in _peer_makers(ctx, split, notes)]
    total = done + sum(len(ks) * (2 if e else 1) for *_, e in plan)
    rows: list[dict[str, Any]] = []
    for label, by, make, elicit_fn in plan:
        try:
            rows += measure(label, by, make, split, reveals, ctx, elicit_fn, tick)
        except Exception as err:  # one broken model must not hide the others' figures
            notes.append(f"{label}: FAILED ({type(err).__name__}: {err})")
    progress(total, total, "done")
    table = pd.DataFrame(rows, columns=COLUMNS)
    notes += add_ratio(table, "NDCG@10", lower_is_better=False, by=["k", "reveal"])
    return ProtocolResult("F", TITLE, table, notes, time.perf_counter() - start)
