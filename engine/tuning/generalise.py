"""Choose a default on more than one dataset: evaluate every setting on each, keep the setting
whose *worst* case is best.

A default tuned on the embedded sample alone can be an accident of that sample (`fair` and
mf's fold-in held there and not on a second MovieLens folder; docs/DECISIONS.md). ``worst_case`` runs any
evaluation over several datasets (``tuning_datasets``: the embedded sample and the seeded
MovieLens-like synthetic set, both made without a download) and reports, per setting, the
objective on each dataset and the worst of them; the chosen setting is the one with the best
worst case. Use it for any default::

    from engine.tuning.generalise import tuning_datasets, worst_case

    def prepare(ratings):                  # once per dataset: splits, fitted models, groups...
        return ratings

    def evaluate(prepared, setting):       # once per (dataset, setting): a dict of figures
        return {"ndcg": ...}

    result = worst_case(evaluate, settings, tuning_datasets(), objective="ndcg", prepare=prepare)
    print(result.text())                   # every figure, the worst cases, the choice

Evaluate on validation data carved from each dataset's training part only (never a protocol's
test part), as ``engine.tuning.searches`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.data import load_embedded
from engine.data.ratings import Ratings
from engine.data.synthetic_movielens import synthetic_movielens
from engine.progress import Progress, silent

SYNTHETIC_SEED = 0


def tuning_datasets(synthetic_seed: int = SYNTHETIC_SEED) -> dict[str, Ratings]:
    """The datasets defaults are chosen on: the embedded sample and the synthetic MovieLens-like
    set (``engine.data.synthetic_movielens``, seeded), keyed by a short name."""
    return {
        "embedded": load_embedded(),
        f"synthetic-{synthetic_seed}": synthetic_movielens(seed=synthetic_seed),
    }


def describe(setting: Mapping[str, Any]) -> str:
    """``{"a": 1, "b": 2}`` → ``"a=1, b=2"`` (the label of a setting in tables)."""
    return ", ".join(f"{k}={v}" for k, v in setting.items()) or "defaults"


@dataclass
class WorstCase:
    """Every figure, each setting's worst case, and the setting with the best worst case."""

    table: pd.DataFrame  # one row per (setting, dataset): "setting", "dataset", the figures
    summary: pd.DataFrame  # one row per setting: the objective per dataset, "worst", best first
    best: dict[str, Any]
    objective: str
    higher_is_better: bool

    def text(self) -> str:
        """The whole result as plain text (for a terminal or a docs/tuning/ record)."""
        direction = "highest" if self.higher_is_better else "lowest"
        with pd.option_context(
            "display.width", 250, "display.max_rows", 1000, "display.max_columns", 50
        ):
            return "\n".join(
                [
                    "# every setting on every dataset",
                    self.table.round(4).to_string(index=False),
                    "",
                    f"# {self.objective} per dataset and its worst case ({direction} is better)",
                    self.summary.round(4).to_string(index=False),
                    "",
                    f"best worst case: {describe(self.best)}",
                ]
            )


def worst_case(
    evaluate: Callable[[Any, dict[str, Any]], Mapping[str, float]],
    settings: Sequence[Mapping[str, Any]],
    datasets: Mapping[str, Ratings],
    objective: str,
    higher_is_better: bool = True,
    prepare: Callable[[Ratings], Any] | None = None,
    progress: Progress = silent,
) -> WorstCase:
    """Evaluate every setting on every dataset; choose by the worst case of ``objective``.

    ``prepare(ratings)`` runs once per dataset (splits, fits that the settings do not change)
    and its result is passed to ``evaluate(prepared, setting)``, which returns a mapping of
    figures that includes ``objective``. Ties on the worst case go to the earlier setting, so
    list the current default first to keep it unless another is strictly better.
    """
    if not settings:
        raise ValueError("settings is empty: give at least one setting to evaluate")
    if not datasets:
        raise ValueError("datasets is empty: give at least one dataset")
    rows: list[dict[str, Any]] = []
    total, done = len(settings) * len(datasets), 0
    for name, ratings in datasets.items():
        prepared = prepare(ratings) if prepare is not None else ratings
        for setting in settings:
            progress(done, total, f"{name}: {describe(setting)}")
            figures = dict(evaluate(prepared, dict(setting)))
            if objective not in figures:
                raise KeyError(
                    f"evaluate() returned no {objective!r} (it returned {sorted(figures)})"
                )
            rows.append({"setting": describe(setting), "dataset": name, **figures})
            done += 1
    progress(total, total, "done")
    table = pd.DataFrame(rows)
    summary = table.pivot_table(
        index="setting", columns="dataset", values=objective, sort=False
    ).reindex(columns=list(datasets))
    # a figure missing (NaN) on any dataset makes the worst case unknown: never chosen
    summary["worst"] = (
        summary.min(axis=1, skipna=False) if higher_is_better else summary.max(axis=1, skipna=False)
    )
    if bool(summary["worst"].isna().to_numpy().all()):
        raise ValueError(
            f"{objective!r} is NaN for every setting on some dataset; nothing to choose"
        )
    order = [describe(s) for s in settings]
    summary = summary.reindex(order)
    best_label = (
        summary["worst"].idxmax() if higher_is_better else summary["worst"].idxmin()
    )  # first on ties: idxmax/idxmin return the first occurrence
    best = dict(settings[order.index(str(best_label))])
    summary = summary.sort_values("worst", ascending=not higher_is_better, kind="stable")
    summary.columns.name = None
    return WorstCase(table, summary.reset_index(), best, objective, higher_is_better)


__all__ = ["SYNTHETIC_SEED", "WorstCase", "describe", "tuning_datasets", "worst_case"]
