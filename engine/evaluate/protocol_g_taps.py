"""Protocol G after taps: the room's picks when every member starts from nothing and answers T
cards of the default elicitation, against the same groups with full profiles and against the
non-personalised list. This is the figure that says how long the evening's first part needs
to be.

Members, groups and evaluation films are protocol G's (``group_setup``: protocol F's new users,
seeded reveal / profile / evaluation parts, random / similar / divergent groups of 2–8). What a
member can answer is their non-evaluation part (revealed + profile); a card for one of their
evaluation films is rated with its stars withheld (``elicit_setup.Tap``), and any other card
answers "haven't seen it", which the member's fold-in uses like the app does. Three conditions score the *same* groups on the *same* candidates (every
film outside the members' non-evaluation parts), so each is paired with the others group by
group:

- **after T taps** (T ∈ ``TAPS_G``): each member folded in from what their T cards got
  (``elicit_setup.tap_sequence`` with ``engine.elicit.DEFAULT_ELICITATION``; "ratings per
  member" counts withheld stars too);
- **full profile**: each member folded in from their whole non-evaluation part;
- **non-personalised**: every member's row is the most-rated films first.

Each group strategy (the app's default first) picks a top-20; the figures are the GFAR paper's
nDCG@20 mean over members and the least-served member's (Kaya, Bridge & Tintarev, RecSys 2020),
with paired bootstrap intervals over groups.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine import elicit, group
from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit
from engine.evaluate.elicit_setup import Member, answers_after, fit_draws, tap_sequence
from engine.evaluate.group_metrics import THRESHOLD, bootstrap_interval
from engine.evaluate.group_setup import (
    KINDS,
    PROFILE_SEED,
    REVEAL,
    REVEAL_SEED,
    Pool,
    build_pool,
    make_groups,
)
from engine.evaluate.protocol_g import GROUP_SEED, SIZES, evaluate_groups, named
from engine.models.answers_fold_in import CardAnswers
from engine.models.base import Recommender

TAPS_G = (3, 5, 10, 20)
TAP_FOLDS = (1, 2, 3)  # protocol F's split seeds
GROUPS_PER_CELL = 15  # per split, kind and size
G_TAP_STRATEGIES = (group.DEFAULT_STRATEGY, "average")
FULL, CROWD = "full profile", "non-personalised"
FIGURES = {"ndcg20_mean": "nDCG@20", "ndcg20_min": "min nDCG@20"}


@dataclass(frozen=True)
class Known:
    """Per pool member: what they can answer (item → stars) and their evaluation films."""

    answerable: list[dict[int, float]]
    evaluation: list[np.ndarray]


def known_parts(split: FoldInSplit, pool: Pool) -> Known:
    """Each pool member's non-evaluation part, drawn with ``build_pool``'s own seeds and order
    (so the parts are exactly the ones protocol G's members reveal and profile from)."""
    held = split.held
    reveal_rng = np.random.default_rng(REVEAL_SEED)
    profile_rng = np.random.default_rng(PROFILE_SEED)
    answerable, evaluation, users = [], [], []
    for u in split.new_users:
        shown, hidden = split.reveal_random(int(u), REVEAL, reveal_rng)
        to_profile = profile_rng.random(len(hidden)) < 0.5
        evaluated = hidden[~to_profile]
        if not (held.values[evaluated] >= THRESHOLD).any():
            continue
        rows = np.concatenate([shown, hidden[to_profile]])
        users.append(int(u))
        answerable.append(
            dict(zip(held.items[rows].tolist(), held.values[rows].tolist(), strict=True))
        )
        evaluation.append(held.items[evaluated].astype(np.int64))
    if users != [int(u) for u in pool.users]:
        raise RuntimeError("known_parts drew different members than build_pool")
    return Known(answerable, evaluation)


def _members(answers: Sequence[CardAnswers]) -> list[group.Member]:
    return [
        group.Member(f"m{r}", a.items, a.values, unseen=a.unseen) for r, a in enumerate(answers)
    ]


def conditions(
    model: Recommender, train: Ratings, known: Known, taps: Sequence[int]
) -> dict[str, np.ndarray]:
    """[pool members × films] predictions per condition (``FULL``, ``CROWD``, "T taps")."""
    preds: dict[str, np.ndarray] = {}
    sequences = []
    for r, answerable in enumerate(known.answerable):
        member = Member(r, answerable, known.evaluation[r], np.zeros(len(known.evaluation[r])))
        sequences.append(tap_sequence(model, train, member, elicit.DEFAULT_ELICITATION, max(taps)))
    for t in taps:
        answered = [answers_after(seq[:t]) for seq in sequences]
        preds[f"{t} taps"] = group.member_predictions(model, train, _members(answered))
    full = [
        CardAnswers(np.fromiter(a, np.int64), np.fromiter(a.values(), np.float32))
        for a in known.answerable
    ]
    preds[FULL] = group.member_predictions(model, train, _members(full))
    counts = np.asarray(train.stats.counts, dtype=np.float64)
    preds[CROWD] = np.broadcast_to(counts, preds[FULL].shape).copy()
    ratings = {f"{t} taps": np.mean([sum(x.rated for x in s[:t]) for s in sequences]) for t in taps}
    preds["_ratings"] = np.array([ratings[f"{t} taps"] for t in taps])
    return preds


def run_fold(
    model: Recommender,
    split: FoldInSplit,
    fold: int,
    taps: Sequence[int] = TAPS_G,
    count: int = GROUPS_PER_CELL,
    sizes: Sequence[int] = SIZES,
    strategies: Sequence[str] = G_TAP_STRATEGIES,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-group records of every condition on one split, and ratings obtained per T."""
    pool = build_pool(split)
    known = known_parts(split, pool)
    rng = np.random.default_rng(GROUP_SEED + 1000 * (fold - 1))
    groups = {(k, s): make_groups(pool, s, k, count, rng) for k in KINDS for s in sizes}
    scored = Pool(
        pool.users,
        [(np.fromiter(a, np.int64), np.fromiter(a.values(), np.float32)) for a in known.answerable],
        pool.relevant,
        pool.corr,
    )
    preds = conditions(model, split.train, known, taps)
    got = dict(zip([f"{t} taps" for t in taps], preds.pop("_ratings").tolist(), strict=True))
    prior = np.asarray(split.train.stats.prior, dtype=np.float64)
    frames = []
    for name, pred in preds.items():
        recs = evaluate_groups(pred, scored, groups, named(list(strategies)), tiebreak=prior)
        frame = recs.per_group[recs.per_group["strategy"] != "own top-20"].copy()
        frame.insert(0, "condition", name)
        frame.insert(0, "fold", fold)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), got


def taps_table(per_group: pd.DataFrame, ratings: dict[str, float]) -> pd.DataFrame:
    """Per (strategy, condition): nDCG@20 mean and min over groups, each paired with the full
    profiles and with the non-personalised list (Δ, 95 % interval), and the share of the full
    profiles' figure reached."""
    rows = []
    key = ["fold", "group_id"]
    for strategy, part in per_group.groupby("strategy", sort=False):
        by = {c: p.set_index(key).sort_index() for c, p in part.groupby("condition", sort=False)}
        for condition, frame in by.items():
            row: dict[str, object] = {"strategy": strategy, "condition": condition}
            row["groups"] = len(frame)
            row["ratings per member"] = ratings.get(str(condition), float("nan"))
            for fig, label in FIGURES.items():
                mean = float(np.mean(frame[fig].to_numpy(dtype=np.float64)))
                row[label] = mean
                for ref in (FULL, CROWD):
                    if condition == ref:
                        continue
                    diff = (frame[fig] - by[ref][fig]).to_numpy()
                    lo, hi = bootstrap_interval(diff)
                    row[f"{label} Δ vs {ref}"] = f"{diff.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]"
                row[f"{label} ÷ full"] = mean / float(
                    np.mean(by[FULL][fig].to_numpy(dtype=np.float64))
                )
            rows.append(row)
    return pd.DataFrame.from_records(rows)


def run_taps(
    ratings: Ratings,
    create: Callable[[], Recommender],
    folds: Sequence[int] = TAP_FOLDS,
    fitted: dict[int, Recommender] | None = None,
    echo: Callable[[str], None] = lambda _text: None,
    **kwargs,
) -> tuple[pd.DataFrame, list[str]]:
    """The table over ``folds`` (pooled groups), and notes on sizes and time."""
    start = time.perf_counter()
    frames, notes, got = [], [], []
    for fold, split, model in fit_draws(create, ratings, folds, fitted):
        frame, ratings_got = run_fold(model, split, fold, **kwargs)
        frames.append(frame)
        got.append(ratings_got)
        notes.append(f"split seed {fold}: {frame['group_id'].nunique()} groups")
        echo(f"G after taps: split {fold} done, {time.perf_counter() - start:.0f} s")
    ratings_mean = {k: float(np.mean([g[k] for g in got])) for k in got[0]}
    table = taps_table(pd.concat(frames, ignore_index=True), ratings_mean)
    notes.append(f"{time.perf_counter() - start:.0f} s")
    return table, notes


__all__ = [
    "CROWD",
    "FULL",
    "TAPS_G",
    "Known",
    "conditions",
    "known_parts",
    "run_fold",
    "run_taps",
    "taps_table",
]
