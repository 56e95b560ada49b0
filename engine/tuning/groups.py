"""Choosing the group default: ``fair``'s settings, and whether ``fair`` beats published GFAR.

Protocol G (``protocol_g.run_folds``) on *tuning* splits (F split seeds 11–15) and groups (seed
14) that the benchmark never reports, for every model in ``TUNE_MODELS``, on two datasets (the
embedded sample and the seeded synthetic MovieLens-like set, ``generalise.tuning_datasets``), so
that a default cannot be an accident of one sample. On each dataset every candidate (published
GFAR first, then ``fair`` at every grid point) is compared with the average on the same groups:
per model, the change in pooled nDCG@20 and min-member nDCG@20 (%) and in zRecall@20 (points),
over all groups and over divergent groups alone.

The objective (``engine.tuning.guarded_gain``) is the worst change in min-member nDCG@20 over the
models, counted only where nDCG@20 stays within 2 % of the average's on every model;
``generalise.worst_case`` keeps the candidate whose worst case over the datasets is best (ties to
the earlier: GFAR), so ``fair`` stays the default only if it beats GFAR::

    python -m engine tune fair        # every figure, each candidate's worst case, the choice
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from engine import group
from engine.data.ratings import Ratings
from engine.evaluate.protocol_g import (
    SIZES,
    TUNE_FOLD_SEEDS,
    TUNE_GROUP_SEED,
    run_folds,
)
from engine.group import Selector
from engine.models import REGISTRY, create
from engine.progress import Progress
from engine.tuning.generalise import WorstCase, describe, tuning_datasets, worst_case
from engine.tuning.searches import guarded_gain

TUNE_MODELS = ("hybrid", "als", "ease")  # the app's default and the implicit models of G
TUNE_GROUPS_PER_FOLD = 20
FAIR_GRID = {"top_n": (10, 20, 40), "like_at": (3.5, 3.75, 4.0)}


def changes(per_group: pd.DataFrame, base: str = "average") -> pd.DataFrame:
    """Per strategy, pooled over every group and on divergent groups alone: the change in
    nDCG@20 and min nDCG@20 against ``base`` (%) and in zRecall@20 (points)."""
    rows = []
    for cell, part in [("all", per_group), ("divergent", per_group[per_group.kind == "divergent"])]:
        means = part.groupby("strategy")[["ndcg20_mean", "ndcg20_min", "zrecall20"]].mean()
        b = means.loc[base]
        for strategy, r in means.iterrows():
            rows.append(
                {
                    "cell": cell,
                    "strategy": strategy,
                    "ndcg20_change_%": 100 * (r.ndcg20_mean / b.ndcg20_mean - 1),
                    "min_ndcg20_change_%": 100 * (r.ndcg20_min / b.ndcg20_min - 1)
                    if b.ndcg20_min
                    else float("nan"),
                    "zrecall20_change": r.zrecall20 - b.zrecall20,
                }
            )
    return pd.DataFrame.from_records(rows)


def settings(grid: Mapping[str, tuple[float, ...]] = FAIR_GRID) -> list[dict[str, Any]]:
    """Published GFAR first (it wins ties), then ``fair`` at every grid point."""
    fair = [
        {"strategy": "fair", "top_n": int(top_n), "like_at": float(like_at)}
        for top_n, like_at in itertools.product(grid["top_n"], grid["like_at"])
    ]
    return [{"strategy": "gfar"}, *fair]


def selector_of(setting: Mapping[str, Any]) -> Selector:
    if setting["strategy"] == "fair":
        return group.fair_selector(int(setting["top_n"]), float(setting["like_at"]))
    return group.STRATEGIES[str(setting["strategy"])].select


def prepare(
    ratings: Ratings,
    grid: Mapping[str, tuple[float, ...]] = FAIR_GRID,
    model_names: tuple[str, ...] = TUNE_MODELS,
    count: int = TUNE_GROUPS_PER_FOLD,
    progress_factory: Callable[[str], Progress] | None = None,
) -> pd.DataFrame:
    """One dataset's run: every candidate against the average per model and cell."""
    candidates = {"average": group.STRATEGIES["average"].select}
    candidates |= {describe(s): selector_of(s) for s in settings(grid)}
    names = [m for m in model_names if m in REGISTRY]
    runs = run_folds(
        ratings,
        names,
        create,
        candidates,
        TUNE_FOLD_SEEDS,
        TUNE_GROUP_SEED,
        count,
        progress_factory,
        sizes=SIZES,
    )
    tables = []
    for label in runs.records:
        table = changes(runs.per_group(label))
        table.insert(0, "model", label)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def evaluate(prepared: pd.DataFrame, setting: Mapping[str, Any]) -> dict[str, float]:
    """A candidate's worst cases over the models of one dataset, and the guarded objective."""
    mine = cast(pd.DataFrame, prepared.loc[prepared["strategy"] == describe(setting)])
    cell = np.asarray(mine["cell"], dtype=str)

    def col(name: str, where: str) -> np.ndarray:
        return np.asarray(mine[name], dtype=np.float64)[cell == where]

    def worst(values: np.ndarray, lowest: bool = True) -> float:
        if not len(values):
            return float("nan")
        return float(values.min() if lowest else values.max())

    figures = {
        "worst ndcg20 %": worst(col("ndcg20_change_%", "all")),
        "worst min ndcg20 %": worst(col("min_ndcg20_change_%", "all")),
        "worst zrecall20": worst(col("zrecall20_change", "all"), lowest=False),
        "worst divergent min ndcg20 %": worst(col("min_ndcg20_change_%", "divergent")),
        "worst divergent zrecall20": worst(col("zrecall20_change", "divergent"), lowest=False),
    }
    figures["guarded min ndcg20 %"] = guarded_gain(figures)
    return figures


def tune_fair(
    datasets: Mapping[str, Ratings] | None = None,
    grid: Mapping[str, tuple[float, ...]] = FAIR_GRID,
    model_names: tuple[str, ...] = TUNE_MODELS,
    count: int = TUNE_GROUPS_PER_FOLD,
    progress_factory: Callable[[str], Progress] | None = None,
) -> WorstCase:
    """Every candidate on every dataset; the best worst case of the guarded objective."""
    chosen = tuning_datasets() if datasets is None else datasets
    return worst_case(
        evaluate,
        settings(grid),
        chosen,
        objective="guarded min ndcg20 %",
        prepare=lambda ratings: prepare(ratings, grid, model_names, count, progress_factory),
    )


__all__ = [
    "FAIR_GRID",
    "TUNE_MODELS",
    "changes",
    "evaluate",
    "prepare",
    "selector_of",
    "settings",
    "tune_fair",
]
