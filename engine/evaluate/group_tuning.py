"""Choosing the group default: ``fair``'s settings, and whether ``fair`` beats published GFAR.

Protocol G (``protocol_g.run_folds``) on *tuning* splits (F split seeds 11–15) and groups (seed
14) that the benchmark never reports, for every model in ``TUNE_MODELS`` and on every dataset
given (the embedded sample and a seeded synthetic MovieLens-like set, so that a default cannot
be an accident of one sample). For each (dataset, model) every candidate is compared with the
average on the same groups: the change in pooled nDCG@20 and min-member nDCG@20 (%) and in
zRecall@20 (points). ``engine.tuning.fair_verdict`` keeps the candidate whose *worst* case over
(dataset, model) is best, subject to nDCG@20 within 2 % of the average's everywhere::

    python -m engine tune fair        # the table, each candidate's worst case, the choice
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

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
from engine.progress import Progress

TUNE_MODELS = ("hybrid", "als", "ease")  # the app's default and the implicit models of G
TUNE_GROUPS_PER_FOLD = 20
FAIR_GRID = {"top_n": (10, 20, 40), "like_at": (3.5, 3.75, 4.0)}


def candidates(grid: Mapping[str, tuple[float, ...]] = FAIR_GRID) -> dict[str, Selector]:
    """The average (the yardstick), published GFAR, and ``fair`` at every grid point."""
    out: dict[str, Selector] = {
        "average": group.STRATEGIES["average"].select,
        "gfar": group.STRATEGIES["gfar"].select,
    }
    for top_n, like_at in itertools.product(grid["top_n"], grid["like_at"]):
        out[f"fair top_n={int(top_n)} like_at={like_at}"] = group.fair_selector(
            int(top_n), float(like_at)
        )
    return out


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


def tune_fair(
    datasets: Mapping[str, Ratings],
    model_names: tuple[str, ...] = TUNE_MODELS,
    grid: Mapping[str, tuple[float, ...]] = FAIR_GRID,
    count: int = TUNE_GROUPS_PER_FOLD,
    progress_factory: Callable[[str], Progress] | None = None,
) -> pd.DataFrame:
    """Every candidate against the average, per dataset, model and cell (``changes``)."""
    from engine.models import REGISTRY, create

    names = [m for m in model_names if m in REGISTRY]
    tables = []
    for dataset, ratings in datasets.items():
        runs = run_folds(
            ratings,
            names,
            create,
            candidates(grid),
            TUNE_FOLD_SEEDS,
            TUNE_GROUP_SEED,
            count,
            progress_factory,
            sizes=SIZES,
        )
        for label in runs.records:
            table = changes(runs.per_group(label))
            table.insert(0, "model", label)
            table.insert(0, "dataset", dataset)
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


__all__ = ["FAIR_GRID", "TUNE_MODELS", "candidates", "changes", "tune_fair"]
