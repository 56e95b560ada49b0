"""Protocol G's novelty table (issue 14): what trading stars for less popular films costs the
group in NDCG@10 and gains in novelty.

Same members, groups and scoring as protocol G (``protocol_g``: F's held-out users, 10 revealed
ratings each, groups of 2, 3, 4 and 6 of every kind, relevance = held-out rating ≥ 4). For each
``novelty`` weight the default strategy picks a top-10 from the members' predictions traded
against popularity (``engine.group.novelty.with_novelty``, the Picks page's control), and the
table reports mean- and min-member NDCG@10 and the picks' *mean popularity rank* (1 = the most
rated film of the training data; higher = less seen), each weight against weight 0.

Run: ``python -m engine.evaluate.protocol_novelty --model hybrid`` (one F split, 10 groups per
kind and size by default: a few minutes on 2 cores, most of it fitting the model).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from engine import group
from engine.data.ratings import Ratings
from engine.data.splits import split_f
from engine.evaluate.protocol_g import (
    GROUP_SEED,
    KINDS,
    SIZES,
    K,
    _member_ndcg,
    build_pool,
    make_groups,
)
from engine.evaluate.report import markdown_table
from engine.models.base import Recommender

WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def popularity_rank(counts: np.ndarray) -> np.ndarray:
    """1 for the most rated film, 2 for the next, …; ties share the best rank (``min``)."""
    return rankdata(-np.asarray(counts, dtype=np.float64), method="min")


def novelty_tradeoff(
    ratings: Ratings,
    model_name: str,
    create: Callable[[str], Recommender],
    weights: Sequence[float] = WEIGHTS,
    fold_seeds: Sequence[int] = (1,),
    count: int = 10,
    strategy: str = group.DEFAULT_STRATEGY,
) -> pd.DataFrame:
    """One row per novelty weight: mean/min-member NDCG@10 and the picks' mean popularity rank,
    means over every group (each kind and size pooled), plus changes against weight 0."""
    select = group.STRATEGIES[strategy].select
    ndcg: dict[float, list[np.ndarray]] = {w: [] for w in weights}
    ranks: dict[float, list[float]] = {w: [] for w in weights}
    for j, fold_seed in enumerate(fold_seeds):
        split = split_f(ratings, seed=fold_seed)
        pool = build_pool(split)
        rng = np.random.default_rng(GROUP_SEED + 1000 * j)
        groups = [
            g for kind in KINDS for size in SIZES for g in make_groups(pool, size, kind, count, rng)
        ]
        model = create(model_name)
        model.fit(split.train)
        members = [group.Member(str(u), *pool.revealed[i]) for i, u in enumerate(pool.users)]
        pred = group.member_predictions(model, split.train, members)
        counts = split.train.item_counts()
        pop, pop_rank = group.popularity(counts), popularity_rank(counts)
        n_items = pred.shape[1]
        for members_idx in groups:
            excluded = np.unique(np.concatenate([pool.revealed[m][0] for m in members_idx]))
            cand = np.ones(n_items, bool)
            cand[excluded] = False
            cand_idx = np.flatnonzero(cand)
            for w in weights:
                p = group.with_novelty(pred[members_idx][:, cand_idx], pop[cand_idx], w)
                chosen, _, _ = select(p, K)
                picks = cand_idx[chosen]
                scores = _member_ndcg(picks, n_items, members_idx, pool, excluded)[0]
                ndcg[w].append(scores[np.isfinite(scores)])
                ranks[w].append(float(pop_rank[picks].mean()))
    rows = []
    for w in weights:
        per_group = [x for x in ndcg[w] if len(x)]
        rows.append(
            {
                "novelty": w,
                "groups": len(ranks[w]),
                "mean_ndcg": float(np.mean([x.mean() for x in per_group])),
                "min_ndcg": float(np.mean([x.min() for x in per_group])),
                "mean_popularity_rank": float(np.mean(ranks[w])),
            }
        )
    table = pd.DataFrame(rows)
    base = table.iloc[0]
    table["mean_ndcg_change_%"] = 100.0 * (table["mean_ndcg"] / base["mean_ndcg"] - 1.0)
    table["popularity_rank_×"] = table["mean_popularity_rank"] / base["mean_popularity_rank"]
    return table


def main(argv: list[str] | None = None) -> int:
    from engine.data import load_embedded
    from engine.models import create

    parser = argparse.ArgumentParser(
        prog="python -m engine.evaluate.protocol_novelty",
        description=(__doc__ or "").split("\n")[0],
    )
    parser.add_argument("--model", default="hybrid")
    parser.add_argument("--folds", type=int, default=1, help="F splits (seeds 1, 2, …)")
    parser.add_argument("--groups", type=int, default=10, help="groups per kind and size")
    parser.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    args = parser.parse_args(argv)
    if not args.weights or args.weights[0] != 0.0:
        parser.error("--weights must start with 0 (the baseline every change is measured from)")
    for w in args.weights:
        try:
            group.check_novelty(w)
        except ValueError as exc:
            parser.error(f"--weights: {exc}")
    started = time.perf_counter()
    table = novelty_tradeoff(
        load_embedded(),
        args.model,
        create,
        args.weights,
        tuple(range(1, args.folds + 1)),
        args.groups,
    )
    print(markdown_table(table))
    print(f"\n{args.model}, {args.folds} F split(s), {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
