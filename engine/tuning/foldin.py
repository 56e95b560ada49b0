"""Fold-in settings chosen on two datasets by their worst case (``engine.tuning.generalise``).

A model's fold-in settings (for ``mf``: ``foldin_reg_scale`` and ``foldin_steps``) change only how a
new member is folded in, never the fitted model, so each dataset needs its fits once: per tuning
draw, the model on the draw's training part, and one retrain per k with the revealed ratings
added. Every setting is then only a round of fold-ins. The tuning draws are carved from protocol
F's training part (``split_f(split_f(ratings).train, seed)``), so F's own new members are never
seen. Reproduce (2 cores: a few minutes)::

    python -m engine.tuning.foldin mf > docs/tuning/mf_foldin.txt

The score of a setting on one dataset is its margin against a retrain: the smaller of fold-in
NDCG@10 ÷ retrain NDCG@10 (members of every tuning draw and every k pooled) and the worst over k ∈
{5, 10, 20} of retrain RMSE ÷ fold-in RMSE (pooled over the draws). Protocol F calls fold-in
"within 5 %" when both are >= 0.95, so the margin is that test's slack; the chosen setting has
the best margin on its worse dataset. NDCG is pooled over k because an explicit model's NDCG@10 on
the full catalogue is small (mf: ~0.01), and one k on one draw of ~55 members moves it by ±25 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit, split_f
from engine.evaluate.protocols import Reveal, evaluate_f, reveal_random, revealed_ratings
from engine.models import create
from engine.models.base import Recommender
from engine.tuning.generalise import WorstCase, tuning_datasets, worst_case

TUNING_DRAWS = (11, 12, 13, 14, 15)  # split_f seeds inside F's train part (as `fair`'s tuning)
K_REVEAL = (5, 10, 20)
RANDOM_REVEAL_SEED = 2

# name -> (the current default first, then the grid); fold-in settings only
SEARCHES: dict[str, list[dict[str, Any]]] = {
    "mf": [
        {"foldin_reg_scale": scale, "foldin_steps": steps}
        for steps in (8, 0)
        # a first run over {1, 0.5, 2, 4, 8} put the best worst case at 0.5, its edge, with NDCG
        # rising and RMSE falling as the scale drops; the second, over this grid, chose 0.9
        for scale in (0.9, 1.0, 0.3, 0.5, 0.6, 0.7, 0.8, 2.0)
    ],
}


@dataclass
class Draw:
    """One tuning draw: the fitted model, the reveals per k and the retrain's figures per k."""

    split: FoldInSplit
    model: Recommender
    reveals: dict[int, list[Reveal]]
    retrain: dict[int, dict[str, Any]]


def _hidden_count(reveals: list[Reveal]) -> int:
    return int(sum(len(r.hidden) for r in reveals))


def prepare_draws(
    name: str, ratings: Ratings, draws: Sequence[int] = TUNING_DRAWS, ks: Sequence[int] = K_REVEAL
) -> list[Draw]:
    """Fit ``name`` once per tuning draw and retrain it once per k (what no setting changes)."""
    train = split_f(ratings).train  # protocol F's training part: F's members stay unseen
    out = []
    for seed in draws:
        split = split_f(train, seed=seed)
        model = create(name).fit(split.train)
        reveals = {k: reveal_random(split, k, seed=RANDOM_REVEAL_SEED) for k in ks}
        retrain = {}
        for k, revealed in reveals.items():
            again = create(name).fit(split.train.concat(revealed_ratings(split, revealed)))
            retrain[k] = evaluate_f(again, split, reveals=revealed, fold_in=False, per_user=True)
        out.append(Draw(split, model, reveals, retrain))
    return out


def _pooled_ndcg(results: list[dict[str, Any]]) -> float:
    """NDCG@10 over every member of every result (``evaluate_f(..., per_user=True)``)."""
    return float(np.nanmean(np.concatenate([r["per_user"]["ndcg"] for r in results])))


def _pooled_rmse(results: list[dict[str, Any]], counts: list[int]) -> float:
    """RMSE over every hidden rating of every result (each result's RMSE weighted by its count)."""
    mse = [r["rmse"] ** 2 * n for r, n in zip(results, counts, strict=True)]
    return math.sqrt(sum(mse) / sum(counts)) if all(np.isfinite(mse)) else float("nan")


def evaluate_setting(draws: list[Draw], setting: Mapping[str, Any]) -> dict[str, float]:
    """Fold every tuning member in under ``setting``: figures per k, and the margin against the
    retrains (NDCG@10 pooled over every k and draw, RMSE per k pooled over the draws)."""
    figures: dict[str, float] = {}
    fold_all, again_all, rmse_ratios = [], [], []
    for k in draws[0].reveals:
        fold, again, counts = [], [], []
        for draw in draws:
            saved = draw.model.config
            draw.model.config = dataclasses.replace(saved, **setting)
            try:
                fold.append(
                    evaluate_f(draw.model, draw.split, reveals=draw.reveals[k], per_user=True)
                )
            finally:
                draw.model.config = saved
            again.append(draw.retrain[k])
            counts.append(_hidden_count(draw.reveals[k]))
        fold_ndcg, fold_rmse = _pooled_ndcg(fold), _pooled_rmse(fold, counts)
        again_ndcg, again_rmse = _pooled_ndcg(again), _pooled_rmse(again, counts)
        fold_all += fold
        again_all += again
        figures |= {
            f"ndcg k={k}": fold_ndcg,
            f"retrain ndcg k={k}": again_ndcg,
            f"rmse k={k}": fold_rmse,
            f"retrain rmse k={k}": again_rmse,
        }
        if fold_rmse == fold_rmse and again_rmse == again_rmse:  # explicit models only
            rmse_ratios.append(again_rmse / fold_rmse)
    fold_ndcg, again_ndcg = _pooled_ndcg(fold_all), _pooled_ndcg(again_all)
    figures["ndcg ratio"] = fold_ndcg / again_ndcg if again_ndcg else float("nan")
    figures["worst rmse ratio"] = min(rmse_ratios) if rmse_ratios else float("nan")
    figures["margin"] = min(
        r for r in (figures["ndcg ratio"], figures["worst rmse ratio"]) if r == r
    )
    return figures


def search(
    name: str,
    settings: Sequence[Mapping[str, Any]] | None = None,
    datasets: Mapping[str, Ratings] | None = None,
    draws: Sequence[int] = TUNING_DRAWS,
    ks: Sequence[int] = K_REVEAL,
) -> WorstCase:
    """The fold-in search for model ``name`` over ``datasets`` (default: ``tuning_datasets()``)."""
    return worst_case(
        evaluate_setting,
        list(settings if settings is not None else SEARCHES[name]),
        datasets if datasets is not None else tuning_datasets(),
        objective="margin",
        higher_is_better=True,
        prepare=lambda ratings: prepare_draws(name, ratings, draws, ks),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="choose a model's fold-in settings by their worst case on two datasets"
    )
    parser.add_argument("model", choices=sorted(SEARCHES))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = search(args.model)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"# python -m engine.tuning.foldin {args.model}   ({datetime.now(UTC):%Y-%m-%d}, "
        f"{cores}-core CPU, torch threads {torch.get_num_threads()})"
    )
    print(
        f"# fold-in settings of {args.model} on the embedded sample "
        f"and the synthetic MovieLens-like set; tuning draws split_f(F train, seed) for seeds "
        f"{list(TUNING_DRAWS)}, random reveals k ∈ {list(K_REVEAL)} (default_rng({RANDOM_REVEAL_SEED})), "
        "members pooled; margin = min(fold-in÷retrain NDCG@10 pooled over k, worst over k of "
        "retrain÷fold-in RMSE)"
    )
    print(result.text())
    print(f"# {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
