"""Reproducible hyperparameter search on a validation split carved from training data only.

Defaults in the model configs are not magic numbers: each was chosen by ``search`` on the
embedded MovieLens sample, e.g.::

    python -m engine tune knn          # prints the table and the winner (``engine.cli.tune``)

``search`` fits every grid point on ``validation_split(train, protocol, seed)`` (never touching the
protocol's test part) and scores it with RMSE (protocol "E", lower is better) or NDCG@10
(protocol "R", higher is better) with the same arithmetic as the benchmark
(``engine.evaluate.protocols``). Protocol "F" carves new members out of ``train`` with
``split_f(train, seed)`` and scores fold-in from 10 random reveals (NDCG@10, higher is better).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.data.splits import split_e, split_f, split_r, validation_split
from engine.evaluate.protocols import evaluate_e, evaluate_f, evaluate_r, reveal_random
from engine.models import create
from engine.models.base import ExplicitRecommender, RatingPredictor, Recommender


# ---------------------------------------------------------------------------- evaluation
def evaluate_explicit(model: RatingPredictor, test: Ratings) -> dict[str, float]:
    """RMSE and MAE of a fitted explicit model on ``test`` (protocol E arithmetic)."""
    return {k: v for k, v in evaluate_e(model, test).items() if k in ("rmse", "mae")}


def evaluate_ranking(model: Recommender, train: Ratings, test: Ratings) -> dict[str, float]:
    """Recall/NDCG/MAP/AUC@10 of a fitted model (protocol R arithmetic)."""
    out = evaluate_r(model, train, test)
    return {k: out[k] for k in ("recall", "ndcg", "map", "auc")}


# ---------------------------------------------------------------------------- search
def grid_points(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in a fixed order."""
    keys = list(grid)
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))
    ]


def _validation(
    name: str, train: Ratings, protocol: str, seed: int
) -> tuple[Ratings, Callable[[Recommender], dict[str, float]]]:
    """What ``search`` fits each grid point on, and how it scores the fitted model: stars on a
    validation part (E), rankings of it (R), or fold-in of new members carved from ``train`` with
    10 random reveals each (F)."""
    if protocol not in ("E", "R", "F"):
        raise ValueError(f"protocol must be 'E', 'R' or 'F', not {protocol!r}")
    if protocol == "F":  # new members carved from train only, 10 random reveals each
        fold = split_f(train, seed=seed)
        reveals = reveal_random(fold, 10, seed=seed + 1)

        def fold_in_scores(model: Recommender) -> dict[str, float]:
            out = evaluate_f(model, fold, reveals=reveals)
            return {k: out[k] for k in ("recall", "ndcg", "map", "auc", "foldin_ms")}

        return fold.train, fold_in_scores
    fit_part, val_part = validation_split(train, protocol=protocol, seed=seed)
    if protocol == "E":

        def star_scores(model: Recommender) -> dict[str, float]:
            if not isinstance(model, ExplicitRecommender):
                raise ValueError(f"{name} is not an explicit model; protocol E needs stars")
            return evaluate_explicit(model, val_part)

        return fit_part, star_scores

    def ranking_scores(model: Recommender) -> dict[str, float]:
        return evaluate_ranking(model, fit_part, val_part)

    return fit_part, ranking_scores


def _ranked(table: pd.DataFrame, protocol: str, metric: str | None) -> pd.DataFrame:
    """The search's table best first: by RMSE (E) or NDCG@10 (R, F), or by ``metric``."""
    key, ascending = ("rmse", True) if protocol == "E" else ("ndcg", False)
    if metric is not None:  # e.g. "auc" for a model whose job is AUC
        if metric not in table.columns:
            raise ValueError(f"metric {metric!r} is not measured by protocol {protocol}")
        key, ascending = metric, metric in ("rmse", "mae")
    return table.sort_values(key, ascending=ascending, kind="stable").reset_index(drop=True)


def search(
    name: str,
    grid: Mapping[str, Iterable[Any]],
    train: Ratings,
    protocol: str = "R",
    seed: int = 100,
    fixed: Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    metric: str | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit model ``name`` at every grid point on a validation split of ``train``.

    Returns the best parameters (lowest RMSE for protocol "E", highest NDCG@10 for "R" and "F",
    or the best ``metric`` when given) and a table with one row per grid point (its parameters, metrics and fit seconds).
    """
    protocol = protocol.upper()
    fit_part, score = _validation(name, train, protocol, seed)
    rows = []
    for params in grid_points(grid):
        model = create(name, device=device, **{**(fixed or {}), **params})
        start = time.perf_counter()
        model.fit(fit_part)
        seconds = time.perf_counter() - start
        rows.append({**params, **score(model), "fit_s": round(seconds, 2)})
    table = _ranked(pd.DataFrame(rows), protocol, metric)
    best = {k: _plain(table[k].iloc[0]) for k in grid}
    return best, table


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def protocol_train(ratings: Ratings, protocol: str) -> Ratings:
    """The training part of a protocol's split (the search then carves validation from it)."""
    protocol = protocol.upper()
    if protocol == "F":
        return split_f(ratings).train
    return split_e(ratings)[0] if protocol == "E" else split_r(ratings)[0]


# The searches that chose each model's defaults (run: python -m engine tune NAME[:STAGE]).
SEARCHES: dict[str, tuple[str, dict[str, list[Any]], dict[str, Any]]] = {
    "mf": (
        "E",
        {
            "regularization": [0.3, 0.5, 0.7],
            "bias_regularization": [0.3, 0.5, 0.8],
            "decay_power": [0.75, 1.0],
        },
        {"factors": 32, "epochs": 150, "lr": 0.03},
    ),
    "als": (
        "R",
        {
            "factors": [32, 64, 128],
            "regularization": [5.0, 20.0, 50.0, 150.0],
            "alpha": [0.5, 1.0, 2.0, 4.0],
            "confidence": ["rating", "binary"],
        },
        {"epochs": 15},
    ),
    "knn": (
        "R",
        {"neighbours": [50, 200], "shrink": [0.0, 10.0], "weighting": ["binary", "rating"]},
        {},
    ),
    "ease": ("R", {"regularization": [100.0, 200.0, 400.0, 800.0], "min_count": [2, 3]}, {}),
    "ease:foldin": ("F", {"regularization": [400.0, 800.0, 1600.0, 3200.0, 6400.0, 12800.0]}, {}),
    "pmf": ("E", {"factors": [10, 20, 30, 50]}, {}),
    "bpmf": ("E", {"factors": [5, 10, 20]}, {}),
    "ranking": (
        "R",
        {"regularization": [0.005, 0.01], "negatives": [2, 4], "hard": [True, False]},
        {"epochs": 20},
    ),
    "ranking:schedule": (
        "R",
        {"lr": [0.005, 0.01], "epochs": [20, 40]},
        {"regularization": 0.01, "negatives": 4, "hard": False},
    ),
    "ranking-mlp": (
        "R",
        {"regularization": [0.005, 0.01], "hard": [True, False]},
        {"epochs": 20, "negatives": 4},
    ),
    "hybrid": ("R", {"implicit": ["ease", "als", "knn"]}, {}),
    "lmf": (
        "R",
        {"factors": [8, 16, 32], "regularization": [1.0, 3.0, 10.0], "alpha": [0.5, 2.0]},
        {},
    ),
    # past the first grid's best (16 factors, λ = 10, alpha = 2), which sat on its high edges
    "lmf:edge": ("R", {"regularization": [10.0, 30.0], "alpha": [4.0]}, {"factors": 16}),
}


def run_search(
    name: str, ratings: Ratings, seed: int = 100, metric: str | None = None
) -> tuple[str, dict[str, Any], pd.DataFrame]:
    """The recorded search ``name`` (``MODEL`` or ``MODEL:STAGE``, a key of ``SEARCHES``) on the
    training part of its protocol's split of ``ratings``: (protocol, best parameters, table)."""
    if name not in SEARCHES:
        raise ValueError(f"no recorded search {name!r}; choose from {', '.join(sorted(SEARCHES))}")
    protocol, grid, fixed = SEARCHES[name]
    train = protocol_train(ratings, protocol)
    model = name.partition(":")[0]  # "model:stage" names a follow-up search
    best, table = search(
        model, grid, train, protocol=protocol, seed=seed, fixed=fixed, metric=metric
    )
    return protocol, best, table


# The group default (``engine.tuning.groups``): a candidate must keep nDCG@20 within 2 %
# of the average's on every model; among those, the best worst-case gain in min-member nDCG@20
# (over models, then over datasets) wins, and ``fair`` stays the default only if it beats GFAR so.
FAIR_MEAN_NDCG_FLOOR_PCT = -2.0


def guarded_gain(figures: Mapping[str, float]) -> float:
    """A candidate's worst min-member nDCG@20 change (%) over the models, or NaN (never chosen)
    where its worst nDCG@20 change falls below the 2 % floor."""
    if not figures["worst ndcg20 %"] >= FAIR_MEAN_NDCG_FLOOR_PCT:  # NaN fails too
        return float("nan")
    return float(figures["worst min ndcg20 %"])
