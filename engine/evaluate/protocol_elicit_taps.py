"""Protocol Elicit per tap: what a member's picks are worth after T cards, "haven't seen it"
taps included.

A member's time is taps, not ratings. The simulated member of ``elicit_setup`` (protocol F's
new users, a fixed seeded test half per member, the other half what they can answer) sees one
card at a time from the strategy (``engine.elicit.next_films(..., n=1)``): a film in their
answerable half gets its stars, a film of their test half is rated with its stars **withheld**
(the tap counts as a rating; no model or strategy sees the stars, ``elicit_setup.Tap``), any
other film "haven't seen it", which is recorded and passed to the strategy like the app does.
After T ∈ ``TAPS`` taps the member is folded in the app's way (``FOLD_INS``: the card fold-in,
``engine.models.answers_fold_in``, "haven't seen it" included; the comparison rows fold in
without those answers, or with the model's own ``fold_in`` of the stars alone) and scored on
the test half: NDCG@10 and Recall@10 among every film outside the answerable half (relevant =
test films rated ≥ 4), against the non-personalised list (most-rated films first), paired per
member with a bootstrap 95 % interval. Every member of the fold-in split takes part, over
``DRAWS`` seeded splits (a model fitted per split); members are pooled for the intervals, and
the ratio to the baseline is also given per draw (median over draws).

"ratings per tap" counts the cards the member gave stars, withheld ones included (what the app
would have collected); "stars seen per tap" only those the model saw. The withheld stars make
every NDCG here a lower bound of what the app's member would get after the same taps.
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
from engine.evaluate.elicit_setup import (
    ASKING,
    BASELINE,
    Member,
    Tap,
    answers_after,
    candidates,
    members_of,
    tap_sequence,
)
from engine.evaluate.group_metrics import bootstrap_interval
from engine.metrics import topn_metrics
from engine.models.answers_fold_in import AnswersFoldIn, CardAnswers
from engine.models.base import Recommender, UserState

TAPS = (1, 3, 5, 10, 20, 30)
TAP_STRATEGIES = ASKING
DRAWS = (1, 2, 3)  # protocol F's split seeds (1 = protocol F's own)
CARDS = ""  # the app's fold-in: every card answer, "haven't seen it" included
NO_UNSEEN = " − unseen"  # the card fold-in without the "haven't seen it" answers
RATINGS_ONLY = " · own fold-in"  # the model's own fold_in of the stars alone (the old protocol)
FOLD_INS = (CARDS, NO_UNSEEN, RATINGS_ONLY)  # row-name suffixes
WAY_LABELS = {
    NO_UNSEEN: "card fold-in without 'haven't seen it'",
    RATINGS_ONLY: "the model's own fold-in of the stars",
}
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


def fold_in(model: Recommender, taps: Sequence[Tap], way: str) -> UserState:
    """The member after ``taps`` as one of the ``FOLD_INS`` reads them: the app's card fold-in
    (``AnswersFoldIn`` where the model has one, "haven't seen it" included), the same without
    the "haven't seen it" answers, or the model's own ``fold_in`` of the ratings alone."""
    answers = answers_after(taps)
    if way == RATINGS_ONLY or not isinstance(model, AnswersFoldIn):
        return model.fold_in(answers.items, answers.values)
    if way == NO_UNSEEN:
        answers = CardAnswers(answers.items, answers.values)
    return model.fold_in_answers(answers)


def score_taps(
    model: Recommender,
    members: list[Member],
    sequences: list[list[Tap]],
    taps: int,
    way: str = CARDS,
) -> dict[str, np.ndarray]:
    """Per member after their first ``taps`` cards: NDCG@10, Recall@10, ratings (cards given
    stars, withheld included) and the stars the model saw."""
    rows = [model.score(fold_in(model, seq[:taps], way)) for seq in sequences]
    out = topn_metrics(
        torch.stack([torch.as_tensor(r).float() for r in rows]), *candidates(members), k=10
    )
    ratings = np.array([sum(t.rated for t in seq[:taps]) for seq in sequences], float)
    stars = np.array([sum(t.stars is not None for t in seq[:taps]) for seq in sequences], float)
    return {"ndcg": out["ndcg"], "recall": out["recall"], "ratings": ratings, "stars": stars}


def baseline_figures(train: Ratings, members: list[Member]) -> dict[str, np.ndarray]:
    """The non-personalised list (most-rated films first) on the same candidates."""
    popular = torch.as_tensor(np.asarray(train.stats.counts, dtype=np.float32))
    out = topn_metrics(popular.expand(len(members), -1).clone(), *candidates(members), k=10)
    zeros = np.zeros(len(members))
    return {"ndcg": out["ndcg"], "recall": out["recall"], "ratings": zeros, "stars": zeros}


def run_draw(
    model: Recommender,
    split: FoldInSplit,
    seed: int,
    strategies: Sequence[str] = TAP_STRATEGIES,
    taps: Sequence[int] = TAPS,
    compare_for: Sequence[str] = (),
    limit: int | None = None,
    echo: Callable[[str], None] = lambda _text: None,
) -> DrawResult:
    """Every strategy on every member of one split (the first ``limit`` members if given),
    scored with the app's card fold-in; ``compare_for`` strategies also with the other
    ``FOLD_INS``."""
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
            for way in FOLD_INS if name in compare_for else (CARDS,):
                figures[(name + way, t)] = score_taps(model, members, sequences, t, way)
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
            row["stars seen per tap"] = float(_pooled(draws, key, "stars").mean() / t)
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


def fold_in_table(draws: list[DrawResult]) -> pd.DataFrame:
    """Does the card fold-in help, and does "haven't seen it"? Per compared strategy and T: the
    app's card fold-in minus each other way (``FOLD_INS``), NDCG@10 and Recall@10 paired per
    member, with a bootstrap interval."""
    rows = []
    for name, t in draws[0].figures:
        for way in FOLD_INS[1:]:
            if not name.endswith(way):
                continue
            plain = name[: -len(way)]
            for fig, label in (("ndcg", "NDCG@10"), ("recall", "Recall@10")):
                mine, ref = _pooled(draws, (plain, t), fig), _pooled(draws, (name, t), fig)
                delta, lo, hi = paired(mine, ref)
                rows.append(
                    {
                        "elicitation": plain,
                        "taps": t,
                        "figure": label,
                        "against": WAY_LABELS[way],
                        "that way": float(np.nanmean(ref)),
                        "card fold-in": float(np.nanmean(mine)),
                        "Δ [95% CI]": f"{delta:+.4f} [{lo:+.4f}, {hi:+.4f}]",
                        "verdict": "helps" if lo > 0 else ("hurts" if hi < 0 else "—"),
                    }
                )
    return pd.DataFrame.from_records(rows)


__all__ = [
    "BASELINE",
    "CARDS",
    "DRAWS",
    "FOLD_INS",
    "NO_UNSEEN",
    "RATINGS_ONLY",
    "TAPS",
    "TAP_STRATEGIES",
    "DrawResult",
    "baseline_figures",
    "fold_in_table",
    "paired",
    "per_tap_table",
    "run_draw",
    "score_taps",
]
