"""Protocol Elicit per tap: what a member's picks are worth after T cards, "haven't seen it"
taps included.

A member's time is taps, not ratings. The simulated member of ``elicit_setup`` (protocol F's
new users, a fixed seeded test half per member, the other half what they can answer) sees one
card at a time from the strategy (``engine.elicit.next_films(..., n=1)``): a film in their
answerable half gets its stars, any other film "haven't seen it", which is recorded and passed
to the strategy like the app does. After T ∈ ``TAPS`` taps the member is folded in from the
ratings obtained (and, in the "+ unseen" rows, the "haven't seen it" answers about films they
never rated as weak negatives: ``engine.elicit.watch.fold_in_answers``) and scored on the test half: NDCG@10 and Recall@10
among every film outside the answerable half (relevant = test films rated ≥ 4), against the
non-personalised list (most-rated films first), paired per member with a bootstrap 95 %
interval. Every member of the fold-in split takes part, over ``DRAWS`` seeded splits (a model
fitted per split); members are pooled for the intervals, and the ratio to the baseline is also
given per draw (median over draws).

"seen per tap" counts the films the member had rated at all (either half): the test half answers
"haven't seen it" by construction, so the ratings per tap of even a perfect asker is about half
its seen per tap here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit
from engine.elicit.watch import fold_in_answers
from engine.evaluate.elicit_setup import (
    ASKING,
    BASELINE,
    Member,
    Tap,
    candidates,
    members_of,
    tap_sequence,
)
from engine.evaluate.group_metrics import bootstrap_interval
from engine.metrics import topn_metrics
from engine.models.base import Recommender

TAPS = (1, 3, 5, 10, 20, 30)
TAP_STRATEGIES = ASKING
DRAWS = (1, 2, 3)  # protocol F's split seeds (1 = protocol F's own)
UNSEEN = " + unseen"  # suffix of the rows whose fold-in uses "haven't seen it" answers
QUICK_TAPS = (1, 3, 10)
QUICK_MEMBERS = 10


@dataclass(frozen=True)
class DrawResult:
    """Per-member figures of one split: ``figures[(row name, T)]`` is a dict of arrays
    (ndcg, recall, ratings, seen) over the draw's members."""

    seed: int
    members: int
    figures: dict[tuple[str, int], dict[str, np.ndarray]]
    seconds: dict[str, float]


def _state(model: Recommender, taps: Sequence[Tap], negatives: bool, tested: set[int]):
    """The member folded in after ``taps``; with ``negatives``, the "haven't seen it" answers
    about films they never rated count as weak negatives. A test film answers "haven't seen it"
    only because the protocol hides it, so it is not passed as evidence against itself."""
    items = np.array([i for i, v in taps if v is not None], np.int64)
    values = np.array([v for _, v in taps if v is not None], np.float32)
    skipped = [i for i, v in taps if v is None and i not in tested] if negatives else []
    return fold_in_answers(model, items, values, np.array(skipped, np.int64))


def score_taps(
    model: Recommender,
    members: list[Member],
    sequences: list[list[Tap]],
    taps: int,
    negatives: bool,
) -> dict[str, np.ndarray]:
    """Per member after their first ``taps`` cards: NDCG@10, Recall@10, ratings obtained and
    films seen (rated in either half)."""
    tested = [set(m.test_items.tolist()) for m in members]
    rows = [
        model.score(_state(model, seq[:taps], negatives, t))
        for seq, t in zip(sequences, tested, strict=True)
    ]
    out = topn_metrics(
        torch.stack([torch.as_tensor(r).float() for r in rows]), *candidates(members), k=10
    )
    ratings = np.array([sum(v is not None for _, v in seq[:taps]) for seq in sequences], float)
    seen = np.array(
        [
            sum(v is not None or i in t for i, v in seq[:taps])
            for t, seq in zip(tested, sequences, strict=True)
        ],
        float,
    )
    return {"ndcg": out["ndcg"], "recall": out["recall"], "ratings": ratings, "seen": seen}


def baseline_figures(train: Ratings, members: list[Member]) -> dict[str, np.ndarray]:
    """The non-personalised list (most-rated films first) on the same candidates."""
    popular = torch.as_tensor(np.asarray(train.stats.counts, dtype=np.float32))
    out = topn_metrics(popular.expand(len(members), -1).clone(), *candidates(members), k=10)
    zeros = np.zeros(len(members))
    return {"ndcg": out["ndcg"], "recall": out["recall"], "ratings": zeros, "seen": zeros}


def run_draw(
    model: Recommender,
    split: FoldInSplit,
    seed: int,
    strategies: Sequence[str] = TAP_STRATEGIES,
    taps: Sequence[int] = TAPS,
    negatives_for: Sequence[str] = (),
    limit: int | None = None,
    echo: Callable[[str], None] = lambda _text: None,
) -> DrawResult:
    """Every strategy on every member of one split (the first ``limit`` members if given);
    ``negatives_for`` strategies are also scored with "haven't seen it" in the fold-in."""
    members = members_of(split)[:limit]
    figures: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    base = baseline_figures(split.train, members)
    for t in taps:
        figures[(BASELINE, t)] = base
    for name in strategies:
        start = time.perf_counter()
        sequences = [tap_sequence(model, split.train, m, name, max(taps)) for m in members]
        seconds[name] = time.perf_counter() - start
        echo(f"split {seed}: {name} asked {len(members)} members in {seconds[name]:.0f} s")
        for t in taps:
            figures[(name, t)] = score_taps(model, members, sequences, t, negatives=False)
            if name in negatives_for:
                figures[(name + UNSEEN, t)] = score_taps(model, members, sequences, t, True)
    return DrawResult(seed, len(members), figures, seconds)


def _pooled(draws: list[DrawResult], key: tuple[str, int], figure: str) -> np.ndarray:
    return np.concatenate([d.figures[key][figure] for d in draws])


def paired(mine: np.ndarray, base: np.ndarray) -> tuple[float, float, float]:
    """(mean difference, 95 % bootstrap interval) over members with both figures defined."""
    ok = np.isfinite(mine) & np.isfinite(base)
    diff = mine[ok] - base[ok]
    lo, hi = bootstrap_interval(diff)
    return float(diff.mean()) if len(diff) else float("nan"), lo, hi


def per_tap_table(draws: list[DrawResult]) -> pd.DataFrame:
    """One row per (strategy, T): means over pooled members, Δ vs the baseline with intervals,
    and the median over draws of NDCG@10 ÷ the baseline's."""
    names = list(dict.fromkeys(k[0] for k in draws[0].figures))
    taps = sorted({k[1] for k in draws[0].figures})
    rows = []
    for name in names:
        for t in taps:
            key, base = (name, t), (BASELINE, t)
            row: dict[str, object] = {"elicitation": name, "taps": t}
            ratings = _pooled(draws, key, "ratings")
            row["ratings"] = float(ratings.mean())
            row["ratings per tap"] = float(ratings.mean() / t)
            row["seen per tap"] = float(_pooled(draws, key, "seen").mean() / t)
            for fig, label in (("ndcg", "NDCG@10"), ("recall", "Recall@10")):
                mine, ref = _pooled(draws, key, fig), _pooled(draws, base, fig)
                row[label] = float(np.nanmean(mine))
                if name != BASELINE:
                    delta, lo, hi = paired(mine, ref)
                    row[f"{label} Δ [95% CI]"] = f"{delta:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            ratios = [
                np.nanmean(d.figures[key]["ndcg"]) / np.nanmean(d.figures[base]["ndcg"])
                for d in draws
            ]
            row["NDCG ÷ baseline (median of draws)"] = float(np.median(ratios))
            rows.append(row)
    return pd.DataFrame.from_records(rows)


def unseen_table(draws: list[DrawResult]) -> pd.DataFrame:
    """Does "haven't seen it" in the fold-in help? Per strategy scored both ways and T: NDCG@10
    with it minus without, paired per member, with a bootstrap interval."""
    rows = []
    for name, t in draws[0].figures:
        if not name.endswith(UNSEEN):
            continue
        plain = name[: -len(UNSEEN)]
        for fig, label in (("ndcg", "NDCG@10"), ("recall", "Recall@10")):
            mine, ref = _pooled(draws, (name, t), fig), _pooled(draws, (plain, t), fig)
            delta, lo, hi = paired(mine, ref)
            verdict = "helps" if lo > 0 else ("hurts" if hi < 0 else "—")
            rows.append(
                {
                    "elicitation": plain,
                    "taps": t,
                    "figure": label,
                    "without": float(np.nanmean(ref)),
                    "with unseen": float(np.nanmean(mine)),
                    "Δ [95% CI]": f"{delta:+.4f} [{lo:+.4f}, {hi:+.4f}]",
                    "verdict": verdict,
                }
            )
    return pd.DataFrame.from_records(rows)


__all__ = [
    "BASELINE",
    "DRAWS",
    "TAPS",
    "TAP_STRATEGIES",
    "DrawResult",
    "baseline_figures",
    "paired",
    "per_tap_table",
    "run_draw",
    "score_taps",
    "unseen_table",
]
