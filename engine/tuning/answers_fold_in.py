"""The card fold-in's two settings (``engine.models.answers_fold_in``: ``s``, the evidence's weight
against the population prior, and ``w``, a "haven't seen it" answer's confidence) chosen on a
tuning split that protocol Elicit never reports.

The tuning split is carved from protocol F's training part (``split_f(split_f(ratings).train,
TUNING_SEED)``, as ``engine.tuning.foldin`` does), so the members protocol Elicit per tap scores
on its first split are never seen here. Two kinds of member are scored, because the same fold-in
serves both in the app:

- **card members** answer T ∈ ``TAPS`` cards from ``popularity`` and from ``adaptive`` (the
  sequences do not depend on the fold-in: both strategies ask without it), test half withheld
  as in protocol Elicit per tap;
- **search members** reveal k ∈ ``REVEALS`` random films of their answerable half and nothing
  else: ratings only, no "haven't seen it", the case where ALS's own fold-in is strongest.

Each row is a setting; its score is the NDCG@10 of the default hybrid pooled over every member,
T and k, and the rows also give ALS's own fold-in for comparison. Reproduce (2 cores: ~6 min)::

    python -m engine.tuning.answers_fold_in > docs/tuning/answers_fold_in.txt
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product

import numpy as np
import torch

from engine.data.movielens import load_named
from engine.data.splits import split_f
from engine.evaluate.elicit_setup import Member, answers_after, candidates, members_of, tap_sequence
from engine.metrics import topn_metrics
from engine.models import create
from engine.models.answers_fold_in import CardAnswers
from engine.models.base import UserState

TUNING_SEED = 7
TAPS = (3, 5, 10, 30)
REVEALS = (1, 5, 20, 50)
STRATEGIES = ("popularity", "adaptive")
ANSWER_WEIGHTS = (1.0, 2.0, 3.0, 5.0, 10.0)
UNSEEN_WEIGHTS = (1.0, 3.0, 6.0)
OWN = "ALS's own fold-in"
# the hybrid's calibration on this tuning split's training part (T, β, k), given so the hybrid
# is not recalibrated for every run; the fold-in settings do not depend on it
HYBRID: dict[str, float] = {"temperature": 0.1104446944573524, "beta": 8.0, "beta_answers": 20.0}


@dataclass(frozen=True)
class Case:
    """One scored situation: a member's answers under a label (e.g. "popularity 5 taps")."""

    label: str
    member: int
    answers: CardAnswers


def cases(model, split, members: list[Member]) -> list[Case]:
    """Every card member after each T, every search member after each k."""
    out = []
    for name in STRATEGIES:
        for r, m in enumerate(members):
            seq = tap_sequence(model, split.train, m, name, max(TAPS))
            out += [Case(f"{name} {t} taps", r, answers_after(seq[:t])) for t in TAPS]
    rng = np.random.default_rng(3)
    for r, m in enumerate(members):
        order = rng.permutation(np.fromiter(m.answerable, np.int64))
        for k in REVEALS:
            stars = np.array([m.answerable[int(i)] for i in order[:k]], np.float32)
            out.append(Case(f"{k} searched", r, CardAnswers(order[:k], stars)))
    return out


def score_setting(model, members, found: list[Case], setting: tuple[float, float] | None):
    """NDCG@10 per case label for one (s, w) setting, or ALS's own fold-in for None."""
    by_label: dict[str, list[torch.Tensor]] = {}
    for case in found:
        state = model.fold_in(case.answers.items, case.answers.values)
        if setting is not None:
            mine = model.implicit.fold_in_answers(case.answers, *setting)
            state = UserState(
                state.items,
                state.values,
                state.vector,
                state.bias,
                {**state.extra, "implicit": mine},
            )
        by_label.setdefault(case.label, []).append(torch.as_tensor(model.score(state)).float())
    return {
        label: float(
            np.nanmean(topn_metrics(torch.stack(rows), *candidates(members), k=10)["ndcg"])
        )
        for label, rows in by_label.items()
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Choose the card fold-in's s and w on a tuning split."
    )
    parser.add_argument("--data", default="embedded")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ratings = load_named(args.data)
    split = split_f(split_f(ratings, seed=1).train, seed=TUNING_SEED)
    model = create("hybrid", None, **HYBRID).fit(split.train)
    members = members_of(split)
    found = cases(model, split, members)
    settings: list[tuple[float, float] | None] = [None, *product(ANSWER_WEIGHTS, UNSEEN_WEIGHTS)]
    print(
        f"# python -m engine.tuning.answers_fold_in --data {args.data}  ({datetime.now(UTC):%Y-%m-%d}, "
        f"{len(members)} members of split_f(split_f(data, 1).train, {TUNING_SEED}), default hybrid)"
    )
    print("# NDCG@10 per situation; 'pooled' is the mean over situations (higher is better)")
    best, best_score = (ANSWER_WEIGHTS[0], UNSEEN_WEIGHTS[0]), -np.inf
    for setting in settings:
        got = score_setting(model, members, found, setting)
        pooled = float(np.mean(list(got.values())))
        name = OWN if setting is None else f"s={setting[0]:g}, w={setting[1]:g}"
        print(
            f"{name:>20}  pooled {pooled:.4f}  "
            + "  ".join(f"{k}: {v:.4f}" for k, v in got.items())
        )
        if setting is not None and pooled > best_score:
            best, best_score = setting, pooled
    print(
        f"# best: s={best[0]:g}, w={best[1]:g} (pooled {best_score:.4f}); {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
