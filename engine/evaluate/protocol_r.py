"""Protocol R, top-N: per user ⌊n/5⌋ (at least 1) ratings to test with default_rng(0); rank all
films not in the user's train set; relevant = test films rated >= 4. Every registered model, and
implicit's ALS, BPR, logistic MF and item-kNN (each tuned on a validation split of train), plus
popularity."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from engine.data.ratings import Ratings
from engine.data.splits import split_r
from engine.evaluate.peers import implicit_peers as peers
from engine.evaluate.protocols import evaluate_r
from engine.evaluate.report import OURS, BenchContext, ProtocolResult, add_ratio, timed_fit

TITLE = "top-N recommendation (NDCG@10)"
COLUMNS = ["model", "by", "Recall@10", "NDCG@10", "MAP@10", "AUC", "coverage", "fit s", "params"]


def _row(name: str, by: str, metrics: dict[str, Any], fit_s: float, params: str) -> dict[str, Any]:
    return {
        "model": name,
        "by": by,
        "Recall@10": metrics["recall"],
        "NDCG@10": metrics["ndcg"],
        "MAP@10": metrics["map"],
        "AUC": metrics["auc"],
        "coverage": metrics["coverage"],
        "fit s": fit_s,
        "params": params,
    }


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) if params else "defaults"


def _validation_ndcg(k: int, threshold: float) -> Callable[[Any, Ratings, Ratings], float]:
    def score(model: Any, fit_part: Ratings, val_part: Ratings) -> float:
        return evaluate_r(
            None, fit_part, val_part, k=k, threshold=threshold, score_users=model.score_users
        )["ndcg"]

    return score


def peer_plan(
    ctx: BenchContext,
) -> list[tuple[str, Callable[[Ratings], tuple[peers.Fitted, str, pd.DataFrame | None]]]]:
    """(label, fit) for the R peers; each fit tunes on a validation split of train where stated."""
    score = _validation_ndcg(ctx.k, ctx.threshold)

    def als(train: Ratings) -> tuple[peers.Fitted, str, pd.DataFrame | None]:
        grid = peers.QUICK_ALS_GRID if ctx.quick else peers.ALS_GRID
        iterations = 4 if ctx.quick else 15
        best, table = peers.tune(lambda t, p: peers.fit_als(t, p, iterations), grid, train, score)
        return peers.fit_als(train, best, iterations), f"tuned: {_describe(best)}", table

    def bpr(train: Ratings) -> tuple[peers.Fitted, str, pd.DataFrame | None]:
        if ctx.quick:
            params = {"iterations": 10}
            return peers.fit_bpr(train, params), _describe(params), None
        best, table = peers.tune(peers.fit_bpr, peers.BPR_GRID, train, score)
        return peers.fit_bpr(train, best), f"tuned: {_describe(best)}", table

    def lmf(train: Ratings) -> tuple[peers.Fitted, str, pd.DataFrame | None]:
        grid = peers.QUICK_LMF_GRID if ctx.quick else peers.LMF_GRID
        best, table = peers.tune(peers.fit_lmf, grid, train, score)
        return peers.fit_lmf(train, best), f"tuned: {_describe(best)}", table

    def knn(kind: str) -> Callable[[Ratings], tuple[peers.Fitted, str, pd.DataFrame | None]]:
        def fit(train: Ratings) -> tuple[peers.Fitted, str, pd.DataFrame | None]:
            ks = peers.KNN_K[kind][2:3] if ctx.quick else peers.KNN_K[kind]
            grid = [{"K": k} for k in ks]
            best, table = peers.tune(
                lambda t, p: peers.fit_item_knn(t, kind, p["K"]), grid, train, score
            )
            return peers.fit_item_knn(train, kind, best["K"]), f"tuned: K={best['K']}", table

        return fit

    def popularity(train: Ratings) -> tuple[peers.Fitted, str, pd.DataFrame | None]:
        return peers.fit_popularity(train), "rating counts", None

    plan: list[tuple[str, Callable[[Ratings], tuple[peers.Fitted, str, pd.DataFrame | None]]]] = []
    if peers.version("implicit"):
        plan += [
            ("implicit ALS", als),
            ("implicit BPR", bpr),
            ("implicit logistic MF", lmf),
            ("implicit item-kNN (cosine)", knn("cosine")),
            ("implicit item-kNN (BM25)", knn("bm25")),
        ]
    plan.append(("popularity (counts)", popularity))
    return plan


def _peer_note(ctx: BenchContext) -> str:
    """How the implicit peers were tuned."""
    return (
        "implicit peers are tuned on validation_split(train, 'R', seed=100) by NDCG@10 "
        f"({len(peers.QUICK_ALS_GRID if ctx.quick else peers.ALS_GRID)} ALS settings with "
        f"{4 if ctx.quick else 15} iterations, {len(peers.BPR_GRID)} BPR settings, "
        f"{len(peers.QUICK_LMF_GRID if ctx.quick else peers.LMF_GRID)} logistic MF settings "
        "(LogisticMatrixFactorization, 30 iterations), K for item-kNN: see the grids), "
        f"num_threads={peers.threads()}, BLAS single-threaded as implicit recommends."
    )


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    train, test = split_r(ctx.ratings)
    names, notes = ctx.model_names()
    notes.insert(
        0,
        f"split: per user ⌊n/5⌋ (at least 1) ratings to test, default_rng(0); {len(train):,} train, "
        f"{len(test):,} test. Users with a test rating >= {ctx.threshold:g} are scored; candidates are "
        "all films not in their train set. Means over users; recall = hits / #relevant.",
    )
    plan = []
    if ctx.peers:
        plan = peer_plan(ctx)
        if not peers.version("implicit"):
            notes.append(peers.missing_note("implicit"))
        notes.append(_peer_note(ctx))
    progress = ctx.progress_factory("R")
    total, done = len(names) + len(plan), 0
    rows, extra = [], {}
    n_users = None
    for name in names:
        progress(done, total, name)
        try:
            model = ctx.create(name)
            fit_s = timed_fit(model, train)
            metrics = evaluate_r(model, train, test, k=ctx.k, threshold=ctx.threshold)
            rows.append(_row(name, OURS, metrics, fit_s, _describe(ctx.params(name))))
            n_users = metrics["n_users"]
        except Exception as err:  # one broken model must not hide the others' figures
            notes.append(f"{name}: FAILED ({type(err).__name__}: {err})")
        done += 1
    for label, fit in plan:
        progress(done, total, label)
        fitted, params, grid_table = fit(train)
        metrics = evaluate_r(
            None,
            train,
            test,
            k=ctx.k,
            threshold=ctx.threshold,
            score_users=fitted.model.score_users,
        )
        n_users = metrics["n_users"]
        rows.append(_row(fitted.name, fitted.library, metrics, fitted.fit_s, params))
        if grid_table is not None and len(grid_table) > 1:
            extra[f"{label}: validation grid (NDCG@10 on a validation split of train)"] = grid_table
        done += 1
    progress(total, total, "done")
    table = pd.DataFrame(rows, columns=COLUMNS)
    notes += add_ratio(table, "NDCG@10", lower_is_better=False)
    table = table.reindex(columns=[c for c in table.columns if c != "params"] + ["params"])
    if n_users is not None:
        notes.append(f"{n_users} users scored.")
    return ProtocolResult("R", TITLE, table, notes, time.perf_counter() - start, extra_tables=extra)
