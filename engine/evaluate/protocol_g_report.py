"""Protocol G's entry point (``run``) and its tables and verdicts from the per-group records of
``protocol_g.run_folds``. The run lives here, above the evaluation, so that the evaluation never
imports its report (no import circle)."""

from __future__ import annotations

import time
from typing import cast

import numpy as np
import pandas as pd

from engine import group
from engine.evaluate.group_metrics import PAPER, distinct_from_base, paired_table
from engine.evaluate.protocol_g import (
    FOLD_SEEDS,
    GROUP_SEED,
    GROUPS_PER_FOLD,
    NOVELTY_VALUES,
    OWN,
    POPULAR_FLOOR,
    SIZES,
    FoldResults,
    blend_timing,
    models_to_measure,
    novelty_variants,
    run_folds,
    summarise,
)
from engine.evaluate.report import BenchContext, ProtocolResult

Record = dict[str, object]

BASE = "average"
# the paper's anchor (ML-1M, iALS k = 30, 1,000 groups per configuration, sizes 2–6 pooled)
ANCHOR = (
    "Anchor (Kaya, Bridge & Tintarev 2020, ML-1M, iALS k=30, 1,000 groups per configuration): "
    "nDCG@20 GFAR 0.195 vs AVG 0.173 (+13 %); GFAR best on the min-based metrics, XPO best "
    "zRecall. Their members have full training profiles; ours reveal 10 ratings each (fold-in), "
    "so absolute values are not comparable, only the direction of each difference."
)
LABELS = {
    "ndcg20_mean": "nDCG@20",
    "ndcg20_min": "min nDCG@20",
    "ndcg20_minmax": "min/max nDCG@20",
    "recall20": "Recall@20",
    "zrecall20": "zRecall@20",
    "dfh20_mean": "DFH@20",
    "dfh20_min": "min DFH@20",
}


def _is_novelty(name: str) -> bool:
    return ", novelty " in name


def compact(paired: pd.DataFrame, figures: dict[str, bool]) -> pd.DataFrame:
    """``paired_table`` as one column per figure: "mean (Δ [lo, hi] verdict)"."""
    rows = []
    for r in cast(list[Record], paired.to_dict("records")):
        row: Record = {"cell": r["cell"], "strategy": r["strategy"], "groups": r["groups"]}
        for f in figures:
            mean = r.get(f)
            if not isinstance(mean, float) or np.isnan(mean):
                continue
            text = f"{mean:.4f}"
            delta = r.get(f"{f} Δ")
            if isinstance(delta, float) and not np.isnan(delta):
                verdict = str(r[f"{f} verdict"])
                mark = f" {verdict}" if verdict != "—" else ""
                text += f" ({delta:+.4f} {r[f'{f} 95% CI']}{mark})"
            row[LABELS.get(f, f)] = text
        rows.append(row)
    return pd.DataFrame.from_records(rows)


def goal_verdict(label: str, paired: pd.DataFrame, strategy: str) -> str:
    """The issue's goal for ``strategy`` on divergent groups, said plainly."""
    records = cast(list[Record], paired.to_dict("records"))
    found = [r for r in records if r["cell"] == "divergent" and r["strategy"] == strategy]
    if not found:
        return f"{label}: no divergent groups were formed; the goal cannot be checked."
    r = found[0]
    met = (
        r.get("ndcg20_min verdict") == "win"
        and r.get("zrecall20 verdict") == "win"
        and r.get("ndcg20_mean verdict") != "loss"
    )

    def said(f: str) -> str:
        return f"{r[f]:.4f} ({r[f + ' Δ']:+.4f} {r[f + ' 95% CI']})"

    return (
        f"{label}: default {strategy!r} vs {BASE} on divergent groups ({r['groups']}): "
        f"min nDCG@20 {said('ndcg20_min')}, zRecall@20 {said('zrecall20')}, "
        f"nDCG@20 {said('ndcg20_mean')}: {'MEETS' if met else 'MISSES'} the goal (min nDCG and "
        "zRecall better with the interval excluding 0, mean nDCG not worse)."
    )


def _rows(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> pd.DataFrame:
    return cast(pd.DataFrame, frame.loc[np.asarray(mask, dtype=bool)])


def _novelty_mask(frame: pd.DataFrame) -> np.ndarray:
    return np.array([_is_novelty(str(s)) for s in frame["strategy"]], dtype=bool)


def novelty_table(per_group: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """The default strategy at each novelty value against novelty 0, paired by group."""
    names = {strategy} | {str(s) for s in per_group["strategy"] if _is_novelty(str(s))}
    part = _rows(per_group, per_group["strategy"].isin(sorted(names)).to_numpy())
    figures = {"mean_ndcg": True, "min_ndcg": True, "ndcg20_mean": True, "pop_rank": True}
    paired = paired_table(part, figures, base=strategy, by=())
    table = compact(paired, figures).drop(columns="cell")
    return table.rename(
        columns={"mean_ndcg": "NDCG@10", "min_ndcg": "min NDCG@10", "pop_rank": "popularity rank"}
    )


def _per_fold(per_group: pd.DataFrame) -> pd.DataFrame:
    """Default minus average per split: does the verdict hold on each split alone?"""
    rows = []
    for fold, part in per_group.groupby("fold", sort=False):
        by = summarise(part).set_index("strategy")
        d, a = by.loc[group.DEFAULT_STRATEGY], by.loc[BASE]
        rows.append(
            {
                "split seed": fold,
                "mean_ndcg change %": 100 * (d.mean_ndcg / a.mean_ndcg - 1),
                "min_ndcg change %": 100 * (d.min_ndcg / a.min_ndcg - 1) if a.min_ndcg else np.nan,
                "zero_recall change": d.zero_recall - a.zero_recall,
            }
        )
    return pd.DataFrame.from_records(rows)


def _per_cell(per_group: pd.DataFrame, label: str) -> pd.DataFrame:
    """The paper's main figures per (kind, size, strategy), means over groups."""
    cols = ["ndcg20_mean", "ndcg20_min", "zrecall20"]
    cells = per_group.groupby(["kind", "size", "strategy"], sort=False)
    out = cast(pd.DataFrame, cells[cols].mean())
    out.insert(0, "groups", cells.size())
    out = out.reset_index().rename(columns=LABELS)
    out.insert(0, "model", label)
    return out


def _intro_notes(
    runs: FoldResults, seeds: tuple[int, ...], count: int, sizes: tuple[int, ...]
) -> list[str]:
    """What was run and how to read the tables, before any model's verdict."""
    return [
        f"Members are protocol F's held-out users for {len(seeds)} F splits ("
        + "; ".join(runs.made)
        + f"); per split up to {count} groups of each kind (random, similar, divergent) and size "
        f"({', '.join(map(str, sizes))}). The paper drew 1,000 groups per configuration from "
        "ML-1M's 6,040 users; ours come from ~60 held-out members per split, so more groups "
        "would mostly re-use the same people (and cost time on 2 cores). Correlations for "
        "similar/divergent groups use only revealed + profile ratings.",
        "Main table: today's figures on each strategy's first 10 picks (means over groups, every "
        "kind and size weighted equally), the paper's nDCG@20, min nDCG@20 and zRecall@20 pooled "
        f"over all groups, and the share of groups whose top-10 differs from {BASE}'s (same "
        "groups). Ties in every strategy fall back to the group's mean stars, then the prior.",
        "Paper tables: graded nDCG (RankSys gain 2^(r−3)−1 for r ≥ 4), min and min/max over "
        "members, Recall@20, zRecall@20 (share of members with no relevant film; lower is "
        f"better), DFH@20 (1/log2(1+rank) of the first hit). Each cell: mean (paired difference "
        f"from {BASE} [bootstrap 95 % interval over groups, 2,000 resamples, seed 0], 'win' or "
        "'loss' only when the interval excludes 0). Groups share members, so the intervals, "
        "which treat groups as independent, are if anything too narrow.",
        ANCHOR,
        f"`fair` uses top_n={group.FAIR_TOP_N}, like_at={group.FAIR_LIKE_AT}; the default "
        f"strategy is {group.DEFAULT_STRATEGY!r} (docs/tuning/fair.txt, `python -m engine tune "
        "fair`).",
    ]


def _model_part(
    runs: FoldResults, label: str, timing: dict[str, float], first: bool
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """One model label's rows of the main table (today's figures, the paper's pooled ones, the
    share of top-10 lists differing from the average's, the default's blending time), its extra
    tables (per kind and size and novelty for the ``first`` label only) and its paired table."""
    default = group.DEFAULT_STRATEGY
    per_group = runs.per_group(label)
    novel = _novelty_mask(per_group)
    plain = _rows(per_group, ~novel)
    overall = summarise(plain)
    pooled = cast(
        pd.DataFrame,
        plain.groupby("strategy", sort=False)[["ndcg20_mean", "ndcg20_min", "zrecall20"]].mean(),
    )
    overall = overall.merge(pooled.reset_index(), on="strategy").rename(columns=LABELS)
    tops = {key: top for key, top in runs.tops(label).items() if not _is_novelty(key[1])}
    distinct = distinct_from_base(tops)
    share = dict(zip(distinct["strategy"], distinct["share differing"], strict=True))
    overall["top-10 ≠ average"] = [share.get(str(s), np.nan) for s in overall["strategy"]]
    overall.insert(0, "model", label)
    overall["blend_ms_6"] = np.where(overall["strategy"] == default, timing["median_ms"], np.nan)
    paired = paired_table(_rows(plain, (plain["strategy"] != OWN).to_numpy()), PAPER, base=BASE)
    shown = paired if first else _rows(paired, paired["cell"].isin(["all", "divergent"]).to_numpy())
    extra = {
        f"Protocol G in the paper's terms (vs {BASE}), model {label}": compact(shown, PAPER),
        f"Protocol G distinct top-10 lists vs {BASE}, model {label}": distinct,
    }
    if first:
        extra[f"Protocol G per kind and size, model {label}"] = _per_cell(plain, label)
        if novel.any():
            extra[f"Protocol G novelty (default strategy, vs novelty 0), model {label}"] = (
                novelty_table(per_group, default)
            )
    extra[f"Protocol G per split, default vs {BASE}, model {label}"] = _per_fold(plain)
    return overall, extra, paired


def report(
    runs: FoldResults, seeds: tuple[int, ...], count: int, sizes: tuple[int, ...], seconds: float
) -> ProtocolResult:
    """Protocol G's result from ``run_folds``' records: the main table, per model its extra
    tables and goal verdict, and the blending time of a room per model."""
    split, pool = runs.first_split, runs.first_pool
    if split is None or pool is None:
        raise RuntimeError("protocol G ran no split")
    summaries, extra = [], {}
    notes = _intro_notes(runs, seeds, count, sizes)
    timings: dict[str, dict[str, float]] = {}
    first = next(iter(runs.records))
    for label in runs.records:
        name = label.partition(",")[0]
        model = runs.fitted[name]
        if name not in timings:
            timings[name] = blend_timing(model, split.train, pool)
        overall, tables, paired = _model_part(runs, label, timings[name], label == first)
        summaries.append(overall)
        extra.update(tables)
        notes.append(goal_verdict(label, paired, group.DEFAULT_STRATEGY))
        if model.kind == "explicit" and label == name:
            notes.append(
                f"{name}: an explicit model ranks by predicted stars, and its top predictions are "
                "often films only a handful of people rated, which members' held-out ratings "
                f"rarely contain; the ≥ {POPULAR_FLOOR} ratings rows use the app's "
                "minimum-popularity filter and are the realistic setting for this model."
            )
    for name, t in timings.items():
        notes.append(
            f"{name}: blending a room of {t['members']} (fold-ins, scoring, blend, reasons): "
            f"median {t['median_ms']:.1f} ms, best {t['min_ms']:.1f} ms."
        )
    return ProtocolResult(
        name="G",
        title="Groups: strategies for the whole room",
        table=pd.concat(summaries, ignore_index=True),
        notes=notes,
        seconds=seconds,
        extra_tables=extra,
    )


def run(ctx: BenchContext) -> ProtocolResult:
    """Protocol G per model in ``G_MODELS``, pooled over ``FOLD_SEEDS``; the paper's metrics,
    the distinct-list counts, the novelty trade-off and the per-split check as extra tables."""
    start = time.perf_counter()
    seeds = FOLD_SEEDS[:1] if ctx.quick else FOLD_SEEDS
    count = 4 if ctx.quick else GROUPS_PER_FOLD
    sizes = (2, 4, 8) if ctx.quick else SIZES
    models = models_to_measure(ctx)
    novelty = {models[0]: novelty_variants(group.DEFAULT_STRATEGY, NOVELTY_VALUES)}
    runs = run_folds(
        ctx.ratings,
        models,
        ctx.create,
        list(group.STRATEGIES),
        seeds,
        GROUP_SEED,
        count,
        ctx.progress_factory,
        sizes=sizes,
        extra=novelty,
    )
    return report(runs, seeds, count, sizes, time.perf_counter() - start)


__all__ = ["ANCHOR", "compact", "goal_verdict", "novelty_table", "report", "run"]
