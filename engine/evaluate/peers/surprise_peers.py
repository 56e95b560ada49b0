"""Protocol E's peers from scikit-surprise: the library's defaults, and its strongest settings.

Rows at surprise's documented defaults (BaselineOnly, SVD, SVD++, user-based KNNBaseline) show what
the library gives out of the box; next to them run the settings a careful user would pick (issue
18): item-based KNNBaseline with pearson_baseline similarity, and SVD tuned on a validation split
carved from train only (``validation_split(train, "E", seed=100)``, by RMSE), the way protocol R
tunes the implicit peers. Every ratio in protocol E is against the best of all of them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.data.splits import validation_split
from engine.evaluate.protocols import evaluate_e

VALIDATION_SEED = 100


def _grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


# SVD's grid: surprise's defaults are n_factors 100, n_epochs 20, lr_all 0.005, reg_all 0.02. A
# first grid ({50, 100, 200} x {20, 40} x {0.005, 0.01} x {0.05, 0.1}) put the best at every edge
# (200, 40, 0.01, 0.1; validation RMSE 0.8817, test 0.8709). Probes on the same validation split
# then found lr_all 0.01 and reg_all 0.1 interior against 0.02 / 0.2 (and 0.07), 400 factors no
# better than 200 (0.8798 vs 0.8799 at 80 epochs), and longer training with a smaller step still
# helping a little (160 epochs at lr 0.005: 0.8780; 80 at 0.01: 0.8799). This grid brackets
# that; 160 epochs is its top: each doubling gains ~0.001 RMSE and doubles the fit time.
SVD_GRID: list[dict[str, Any]] = _grid(
    {
        "n_factors": [100, 200],
        "n_epochs": [80, 160],
        "lr_all": [0.005, 0.01],
        "reg_all": [0.1, 0.14],
    }
)
QUICK_SVD_GRID: list[dict[str, Any]] = _grid(
    {"n_factors": [50], "n_epochs": [10], "lr_all": [0.005, 0.01], "reg_all": [0.05]}
)
# KNNBaseline's neighbourhood size k only enters prediction (the similarities and baselines are
# fitted without it), so one fit on the validation part serves the whole grid.
KNN_K: list[int] = [20, 40, 80]
ITEM_KNN_SIM = {"name": "pearson_baseline", "user_based": False}


def library() -> str:
    return f"scikit-surprise {metadata.version('scikit-surprise')}"


class SurprisePeer:
    """A surprise algorithm behind ``predict(users, items)`` (stars, clipped to the scale)."""

    kind = "explicit"

    def __init__(self, name: str, algo: Any):
        self.name = name
        self.algo = algo

    def fit(self, train: Ratings) -> SurprisePeer:
        from surprise import Dataset, Reader  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

        frame = pd.DataFrame(
            {
                "u": train.users.astype(np.int64),
                "i": train.items.astype(np.int64),
                "r": train.values,
            }
        )
        data = Dataset.load_from_df(frame, Reader(rating_scale=(MIN_RATING, MAX_RATING)))
        self.algo.fit(data.build_full_trainset())
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        predict = self.algo.predict
        return np.fromiter(
            (predict(u, i).est for u, i in zip(users.tolist(), items.tolist(), strict=True)),
            dtype=np.float64,
            count=len(users),
        )


@dataclass
class SurpriseFitted:
    """A fitted surprise peer, what it ran with, and its validation grid (None when untuned)."""

    name: str
    library: str
    model: SurprisePeer
    fit_s: float
    params: str
    grid: pd.DataFrame | None = None


Plan = list[tuple[str, Callable[[Ratings], SurpriseFitted]]]


def _fit(name: str, algo: Any, train: Ratings, params: str) -> SurpriseFitted:
    start = time.perf_counter()
    peer = SurprisePeer(name, algo).fit(train)
    return SurpriseFitted(name, library(), peer, time.perf_counter() - start, params)


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _ranked(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Best parameters by validation RMSE (first best on ties) and the grid, best first."""
    best = min(range(len(rows)), key=lambda i: rows[i]["val_rmse"])
    params = {k: v for k, v in rows[best].items() if k != "val_rmse"}
    table = pd.DataFrame(rows).sort_values("val_rmse", kind="stable").reset_index(drop=True)
    return params, table


def tune_svd(train: Ratings, grid: list[dict[str, Any]]) -> tuple[dict[str, Any], pd.DataFrame]:
    """SVD's best setting by RMSE on a validation split of ``train`` (never the test part)."""
    from surprise import SVD  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

    fit_part, val_part = validation_split(train, protocol="E", seed=VALIDATION_SEED)
    rows = []
    for params in grid:
        peer = SurprisePeer("SVD", SVD(random_state=0, **params)).fit(fit_part)
        rows.append({**params, "val_rmse": evaluate_e(peer, val_part)["rmse"]})
    return _ranked(rows)


def tune_item_knn(train: Ratings, ks: list[int]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Item-based KNNBaseline's k by validation RMSE; one fit serves every k (see ``KNN_K``)."""
    from surprise import KNNBaseline  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

    fit_part, val_part = validation_split(train, protocol="E", seed=VALIDATION_SEED)
    peer = SurprisePeer("KNN", KNNBaseline(sim_options=ITEM_KNN_SIM, verbose=False)).fit(fit_part)
    rows = []
    for k in ks:
        peer.algo.k = k  # a prediction-time setting of surprise's k-NN algorithms
        rows.append({"k": k, "val_rmse": evaluate_e(peer, val_part)["rmse"]})
    return _ranked(rows)


def _fixed(name: str, make: Callable[[], Any], params: str) -> Callable[[Ratings], SurpriseFitted]:
    """A peer at fixed settings: ``make()`` fitted on the train it is given."""
    return lambda train: _fit(name, make(), train, params)


def _svd_tuned(train: Ratings, quick: bool) -> SurpriseFitted:
    """SVD at its best grid point on a validation split of ``train``, refitted on all of it."""
    from surprise import SVD  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

    best, grid = tune_svd(train, QUICK_SVD_GRID if quick else SVD_GRID)
    fitted = _fit("Surprise SVD, tuned", SVD(random_state=0, **best), train, "")
    fitted.params, fitted.grid = f"tuned: {_describe(best)}", grid
    return fitted


def _knn_item(train: Ratings) -> SurpriseFitted:
    """Item-based KNNBaseline at its best k on a validation split, refitted on all of ``train``."""
    from surprise import KNNBaseline  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

    best, grid = tune_item_knn(train, KNN_K)
    algo = KNNBaseline(k=best["k"], sim_options=ITEM_KNN_SIM, verbose=False)
    fitted = _fit("Surprise KNNBaseline, item-based", algo, train, "")
    fitted.params = f"tuned: k={best['k']}; item-based, pearson_baseline"
    fitted.grid = grid
    return fitted


def _plan_note(quick: bool) -> str:
    grid = QUICK_SVD_GRID if quick else SVD_GRID
    return (
        "Surprise peers: rows marked 'defaults' use the library's documented defaults (seed 0; "
        "KNNBaseline user-based with pearson_baseline similarity); 'Surprise SVD, tuned' is the "
        f"best of {len(grid)} SVD settings and 'Surprise KNNBaseline, item-based' (pearson_baseline "
        f"similarity) the best k of {KNN_K}, both by RMSE on validation_split(train, 'E', "
        f"seed={VALIDATION_SEED}), carved from train only (grids below), then refitted on all of "
        "train ('fit s' is that final fit, without the search). Ratios are against the best of "
        "all peer rows."
    )


def surprise_plan(skip_slow: bool, quick: bool = False) -> tuple[Plan, list[str]]:
    """(label, fit) for protocol E's surprise peers, defaults first, and notes for the report."""
    from surprise import SVD, BaselineOnly, KNNBaseline, SVDpp  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

    epochs = {"n_epochs": 5} if quick else {}
    defaults = "defaults"
    plan: Plan = [
        ("Surprise BaselineOnly", _fixed("Surprise BaselineOnly", lambda: BaselineOnly(verbose=False), defaults)),
        ("Surprise SVD", _fixed("Surprise SVD", lambda: SVD(random_state=0, **epochs), defaults)),
        (
            "Surprise KNNBaseline",
            _fixed(
                "Surprise KNNBaseline",
                lambda: KNNBaseline(
                    sim_options={"name": "pearson_baseline", "user_based": True}, verbose=False
                ),
                "defaults: user-based, pearson_baseline",
            ),
        ),
        ("Surprise SVD, tuned", lambda train: _svd_tuned(train, quick)),
        ("Surprise KNNBaseline, item-based", _knn_item),
    ]  # fmt: skip
    notes = [_plan_note(quick)]
    if skip_slow or quick:
        notes.append("Surprise SVD++ skipped (--skip-slow-peers or --quick): it is the slow one.")
    else:
        plan.insert(
            2,
            (
                "Surprise SVD++",
                _fixed(
                    "Surprise SVD++", lambda: SVDpp(random_state=0, cache_ratings=True), defaults
                ),
            ),
        )
    return plan, notes


__all__ = [
    "KNN_K",
    "QUICK_SVD_GRID",
    "SVD_GRID",
    "SurpriseFitted",
    "SurprisePeer",
    "surprise_plan",
    "tune_item_knn",
    "tune_svd",
]
