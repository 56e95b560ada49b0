"""Elicitation strategies compared (protocol F variant (b), DESIGN.md §4): NDCG@10 after 10
answers, for each way ``engine.elicit`` can choose the films a new member is asked about.

Models (the app's default, hybrid, and the plain explicit mf) are fitted on protocol F's training
part (``split_f``, seed 1); each new member answers only films they rated in the data, anything
else counts as "haven't seen"; at most 200 films asked, 5 per batch. A later issue reworks this
comparison; it lives here, apart from protocol G, so that it can.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from engine import elicit
from engine.data.splits import FoldInSplit, split_f
from engine.evaluate.protocols import evaluate_f, reveal_elicit
from engine.evaluate.report import BenchContext, ProtocolResult
from engine.models.base import Recommender

TITLE = "Elicitation strategies (protocol F variant b, NDCG@10 after 10 answers)"
REVEAL = 10
SPLIT_SEED = 1  # protocol F's own split
ELICIT_MODELS = ("hybrid", "mf")  # the app's default, and the plain explicit model
QUICK_MEMBERS = 12


def elicitation_table(
    model: Recommender,
    split: FoldInSplit,
    strategies: tuple[str, ...] = ("random", "popularity", "entropy", "adaptive"),
    reveal: int = REVEAL,
) -> pd.DataFrame:
    """Protocol F variant (b): NDCG@10 etc. after ``reveal`` answers for each strategy."""
    rows = []
    for name in strategies:
        start = time.perf_counter()
        reveals = reveal_elicit(model, split, reveal, elicit.elicitor(name))
        seconds = time.perf_counter() - start
        out = evaluate_f(model, split, reveal, reveals=reveals)
        rows.append(
            {
                "elicitation": name + (" (default)" if name == elicit.DEFAULT_ELICITATION else ""),
                "ndcg": out["ndcg"],
                "recall": out["recall"],
                "rmse": out["rmse"],
                "answers": out["revealed"],
                "asked": float(np.mean([r.asked for r in reveals])),
                "ms_per_question_batch": 1000
                * seconds
                / max(1, sum(-(-r.asked // 5) for r in reveals)),
                "users": out["n_new_users"],
            }
        )
    ref = evaluate_f(model, split, reveal, mode="random")
    rows.append(
        {
            "elicitation": "(random reveal, variant a)",
            "ndcg": ref["ndcg"],
            "recall": ref["recall"],
            "rmse": ref["rmse"],
            "answers": ref["revealed"],
            "asked": float("nan"),
            "ms_per_question_batch": float("nan"),
            "users": ref["n_new_users"],
        }
    )
    return pd.DataFrame.from_records(rows)


def _shrink(split: FoldInSplit, n_users: int) -> FoldInSplit:
    keep = split.new_users[:n_users]
    return FoldInSplit(split.train, split.held.subset(np.isin(split.held.users, keep)), keep)


def _models(ctx: BenchContext) -> list[str]:
    wanted = [m for m in ELICIT_MODELS if ctx.models is None or m in ctx.models]
    return wanted or (ctx.models or ["mf"])[:1]


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    split = split_f(ctx.ratings, seed=SPLIT_SEED)
    small = _shrink(split, QUICK_MEMBERS) if ctx.quick else split
    names = _models(ctx)
    tables = []
    for name in names:
        model = ctx.create(name)
        model.fit(split.train, progress=ctx.progress_factory(f"Elicit: fitting {name}"))
        table = elicitation_table(model, small)
        table.insert(0, "model", model.name)
        tables.append(table)
    notes = [
        f"Models {', '.join(names)} fitted on protocol F's training part; "
        f"{len(small.new_users)} new members, {REVEAL} answers each; a member answers only films "
        "they rated in the data, anything else counts as 'haven't seen'; at most 200 films "
        "asked, 5 per batch. A strategy that gets fewer answers (random) leaves more of the "
        "member's films hidden, which makes NDCG@10 easier; compare strategies at equal answers.",
        f"Default elicitation: {elicit.DEFAULT_ELICITATION}.",
    ]
    return ProtocolResult(
        name="Elicit",
        title=TITLE,
        table=pd.concat(tables, ignore_index=True),
        notes=notes,
        seconds=time.perf_counter() - start,
    )


__all__ = ["elicitation_table", "run"]
