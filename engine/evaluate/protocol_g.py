"""Protocol G (docs/PROTOCOLS.md): does a strategy pick films the *whole* group enjoys?

Members and groups: ``engine.evaluate.group_setup`` (protocol F's new users; 10 revealed
ratings each; similar / divergent groups from Pearson on non-evaluation ratings). Every strategy
picks a top-20 from the films no member revealed (ties fall back to the group's mean stars,
then the film's prior, as in the app). Each member is scored against their own evaluation
ratings (relevant = rating ≥ 4), in two vocabularies (``engine.evaluate.group_metrics``):

- today's, on the list's first 10: mean-member NDCG@10, min-member NDCG@10, zero-recall and
  disagreement, means over groups with every (kind, size) cell weighted equally;
- the paper's (Kaya, Bridge & Tintarev, RecSys 2020): nDCG@20 mean / min / min-max, Recall@20,
  zRecall, DFH, over group sizes 2–8 and the three kinds, each strategy's paired difference
  from the average with a bootstrap 95 % interval over groups; a "win" only when the interval
  excludes 0.

Also: how many of each strategy's top-10 lists differ from the average's on the same groups;
what the novelty setting costs in NDCG and gains in novelty (popularity rank of picks); and the
blending time of a room of six (fold-ins included). The elicitation comparison is
``protocol_elicit``; ``fair``'s tuning is ``group_tuning``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from engine import group
from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit, split_f
from engine.evaluate.group_metrics import (
    K_PAPER,
    TODAY,
    group_figures,
    group_truth,
    member_figures,
)
from engine.evaluate.group_setup import KINDS, Pool, build_pool, make_groups
from engine.evaluate.report import BenchContext
from engine.group import Selector
from engine.group.novelty import novelty_rerank, pool_size, seen_probability
from engine.models import REGISTRY
from engine.models.base import Recommender
from engine.progress import Progress, silent

SIZES = (2, 3, 4, 5, 6, 7, 8)
GROUP_SEED = 4
POPULAR_FLOOR = 10  # ratings a film needs in the explicit-model variant of G
# the app's default (hybrid), its implicit half, another implicit model and the explicit mf
G_MODELS = ("hybrid", "als", "ease", "mf")
# Protocol F's split (seed 1) holds out only ~60 members, too few to tell strategies apart: G
# repeats F's split with more seeds (seed 1 first, the groups docs/PROTOCOLS.md describes) and pools them.
FOLD_SEEDS = (1, 2, 3, 4, 5)
GROUPS_PER_FOLD = 30  # per split, kind and size: 7 sizes × 3 kinds × 5 splits ≈ 3,000 groups
NOVELTY_VALUES = (0.25, 0.5, 1.0)  # measured with the default strategy on the first model
OWN = "own top-20"  # each member's personal list: the ceiling
# `fair`'s parameters are chosen on other folds and other groups (``group_tuning``), never these
TUNE_FOLD_SEEDS = (11, 12, 13, 14, 15)
TUNE_GROUP_SEED = 14


@dataclass(frozen=True)
class Variant:
    """A strategy as G runs it: its selector and the novelty setting (0 = off)."""

    select: Selector
    novelty: float = 0.0


def named(strategies: list[str] | dict[str, Selector]) -> dict[str, Variant]:
    """Strategy names in ``group.STRATEGIES`` (or named selectors, for tuning) as variants."""
    if isinstance(strategies, dict):
        return {name: Variant(select) for name, select in strategies.items()}
    return {name: Variant(group.STRATEGIES[name].select) for name in strategies}


def novelty_variants(strategy: str, values: tuple[float, ...]) -> dict[str, Variant]:
    """``strategy`` at each novelty value, named "<strategy>, novelty ν"."""
    select = group.STRATEGIES[strategy].select
    return {f"{strategy}, novelty {v:g}": Variant(select, v) for v in values}


@dataclass
class GroupRecords:
    """One row per (group, strategy) with every figure, and each group's lists."""

    per_group: pd.DataFrame
    tops: dict[tuple[int, str], tuple[int, ...]] = field(default_factory=dict)


def popularity_ranks(train: Ratings) -> np.ndarray:
    """Each film's rank by how many ratings it has (1 = the most rated; ties share a rank)."""
    return rankdata(-np.asarray(train.stats.counts), method="average")


def evaluate_groups(
    pred: np.ndarray,
    pool: Pool,
    groups: dict[tuple[str, int], list[np.ndarray]],
    variants: dict[str, Variant],
    progress: Progress = silent,
    allowed: np.ndarray | None = None,
    tiebreak: np.ndarray | None = None,
    seen: np.ndarray | None = None,
    popularity_rank: np.ndarray | None = None,
    first_id: int = 0,
) -> GroupRecords:
    """Score every variant's top-20 on every group (plus each member's own top-20).

    ``pred`` is [pool members × films] stars; ``allowed`` (a [films] mask) restricts the
    candidates; ``tiebreak`` [films] settles ties after the group's mean (the prior);
    ``seen`` [pool members × films] is P(seen) for novelty variants; ``popularity_rank``
    [films] gives each row's ``pop_rank`` (mean popularity rank of the top-10). Group ids
    start at ``first_id``.
    """
    n_items = pred.shape[1]
    records: list[dict[str, object]] = []
    tops: dict[tuple[int, str], tuple[int, ...]] = {}
    total = sum(len(g) for g in groups.values())
    gid, done = first_id, 0
    for (kind, size), members_list in groups.items():
        for members in members_list:
            done += 1
            progress(done, total, f"{kind} groups of {size}")
            excluded = np.unique(np.concatenate([pool.revealed[m][0] for m in members]))
            truth = group_truth([pool.relevant[m] for m in members], excluded, n_items)
            if truth is None:  # no member has a relevant candidate: the group is not scored
                gid += 1
                continue
            cand = np.ones(n_items, bool) if allowed is None else allowed.copy()
            cand[excluded] = False
            cand_idx = np.flatnonzero(cand)
            p = pred[members][:, cand_idx]
            tb = None if tiebreak is None else tiebreak[cand_idx]
            lists: dict[str, np.ndarray] = {}
            for name, v in variants.items():
                picked = v.select(p, pool_size(K_PAPER, len(cand_idx), v.novelty), tb)
                if v.novelty > 0:
                    if seen is None:
                        raise ValueError("novelty variants need P(seen) (the seen= matrix)")
                    picked = novelty_rerank(picked, seen[members][:, cand_idx], v.novelty, K_PAPER)
                lists[name] = cand_idx[picked.positions]
            own = np.stack([cand_idx[group.top_k(p[r], K_PAPER, tb)] for r in range(len(members))])
            base = {"kind": kind, "size": size, "group_id": gid}
            for name, top in [*lists.items(), (OWN, own)]:
                member = member_figures(top, truth)
                row: dict[str, object] = {**base, "strategy": name, **group_figures(member)}
                first = np.atleast_2d(top)[:, :10]
                if popularity_rank is not None:
                    row["pop_rank"] = float(popularity_rank[first].mean())
                records.append(row)
                if name != OWN:
                    tops[(gid, name)] = tuple(int(i) for i in top[:10])
            gid += 1
    return GroupRecords(pd.DataFrame.from_records(records), tops)


def summarise(per_group: pd.DataFrame) -> pd.DataFrame:
    """Today's table: per strategy, today's figures averaged per (kind, size) cell and then
    over cells (each cell weighted equally), with the number of groups."""
    cols = list(TODAY)
    cells = cast(
        pd.DataFrame, per_group.groupby(["kind", "size", "strategy"], sort=False)[cols].mean()
    )
    out = cast(pd.DataFrame, cells.groupby(level="strategy", sort=False).mean())
    out["groups"] = per_group.groupby("strategy", sort=False).size()
    return out.reset_index()


def blend_timing(
    model: group.RoomModel, catalogue: Ratings, pool: Pool, members: int = 6, repeats: int = 20
) -> dict[str, float]:
    """Wall time of ``group.recommend`` for a room of ``members`` (fold-ins included), ms."""
    chosen = list(range(min(members, len(pool.users))))
    room = [group.Member(f"m{i}", *pool.revealed[i]) for i in chosen]
    group.recommend(model, catalogue, room)  # warm caches (catalogue stats are built once)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        group.recommend(model, catalogue, room, k=10)
        times.append(time.perf_counter() - start)
    return {
        "median_ms": 1000 * float(np.median(times)),
        "min_ms": 1000 * float(np.min(times)),
        "members": len(room),
    }


def models_to_measure(ctx: BenchContext) -> list[str]:
    wanted = [m for m in G_MODELS if m in REGISTRY and (ctx.models is None or m in ctx.models)]
    return wanted or [m for m in ("mf", "baseline") if m in REGISTRY][:1]


@dataclass
class FoldResults:
    """Per-group records per model label, and what ran them."""

    records: dict[str, list[GroupRecords]]
    fitted: dict[str, Recommender]  # models fitted on the first fold
    first_split: FoldInSplit | None
    first_pool: Pool | None
    made: list[str]

    def per_group(self, label: str) -> pd.DataFrame:
        return pd.concat([r.per_group for r in self.records[label]], ignore_index=True)

    def tops(self, label: str) -> dict[tuple[int, str], tuple[int, ...]]:
        out: dict[tuple[int, str], tuple[int, ...]] = {}
        for r in self.records[label]:
            out.update(r.tops)
        return out


@dataclass
class _Split:
    """One F split as G uses it: the split, its member pool and groups, and per-film inputs."""

    split: FoldInSplit
    pool: Pool
    groups: dict[tuple[str, int], list[np.ndarray]]
    members: list[group.Member]
    prior: np.ndarray  # tiebreak after the group's mean stars
    ranks: np.ndarray  # popularity rank of each film
    seen: np.ndarray  # P(seen), [pool members × films], for novelty variants


def _draw_split(
    ratings: Ratings, fold_seed: int, rng: np.random.Generator, sizes: tuple[int, ...], count: int
) -> _Split:
    """F's split for ``fold_seed``, its pool of members and ``count`` groups per kind and size."""
    split = split_f(ratings, seed=fold_seed)
    pool = build_pool(split)
    groups = {
        (kind, size): make_groups(pool, size, kind, count, rng) for kind in KINDS for size in sizes
    }
    members = [group.Member(str(u), *pool.revealed[i]) for i, u in enumerate(pool.users)]
    prior = np.asarray(split.train.stats.prior, dtype=np.float64)
    ranks = popularity_ranks(split.train)
    seen = np.stack([seen_probability(split.train, items) for items, _ in pool.revealed])
    return _Split(split, pool, groups, members, prior, ranks, seen)


def _score_model(
    model: Recommender,
    name: str,
    drawn: _Split,
    variants: dict[str, Variant],
    extra: dict[str, dict[str, Variant]],
    make_progress: Callable[[str], Progress],
    fold_seed: int,
    first_id: int,
) -> list[tuple[str, GroupRecords]]:
    """A fitted model's records on one split, per label: its own, and for an explicit model
    also restricted to films with at least ``POPULAR_FLOOR`` ratings."""
    split = drawn.split
    pred = group.member_predictions(model, split.train, drawn.members)
    labelled: list[tuple[str, np.ndarray | None]] = [(name, None)]
    if model.kind == "explicit":  # star predictions favour rarely rated films: see notes
        floor = split.train.item_counts() >= POPULAR_FLOOR
        labelled.append((f"{name}, films with ≥ {POPULAR_FLOOR} ratings", floor))
    out = []
    for label, allowed in labelled:
        recs = evaluate_groups(
            pred,
            drawn.pool,
            drawn.groups,
            {**variants, **extra.get(label, {})},
            make_progress(f"G: groups ({label}, split {fold_seed})"),
            allowed=allowed,
            tiebreak=drawn.prior,
            seen=drawn.seen,
            popularity_rank=drawn.ranks,
            first_id=first_id,
        )
        recs.per_group.insert(0, "fold", fold_seed)
        out.append((label, recs))
    return out


def run_folds(
    ratings: Ratings,
    model_names: list[str],
    create: Callable[[str], Recommender],
    strategies: dict[str, Selector] | list[str],
    fold_seeds: tuple[int, ...] = FOLD_SEEDS,
    group_seed: int = GROUP_SEED,
    count: int = GROUPS_PER_FOLD,
    progress_factory: Callable[[str], Progress] | None = None,
    sizes: tuple[int, ...] = SIZES,
    extra: dict[str, dict[str, Variant]] | None = None,
) -> FoldResults:
    """Protocol G over several F splits: fit each model per split, fold the members in, draw the
    groups (``group_seed`` for the first split, ``group_seed + 1000·j`` for the j-th) and score
    every strategy. Explicit models also get a row restricted to films with enough ratings.
    ``extra`` adds variants (e.g. novelty settings) for the named models only."""
    make_progress = progress_factory or (lambda _label: silent)
    variants = named(strategies)
    out = FoldResults({}, {}, None, None, [])
    first_id = 0
    for j, fold_seed in enumerate(fold_seeds):
        rng = np.random.default_rng(group_seed + 1000 * j)
        drawn = _draw_split(ratings, fold_seed, rng, sizes, count)
        made = sum(len(v) for v in drawn.groups.values())
        out.made.append(f"split seed {fold_seed}: {len(drawn.pool.users)} members, {made} groups")
        if j == 0:
            out.first_split, out.first_pool = drawn.split, drawn.pool
        for name in model_names:
            model = create(name)
            fitting = make_progress(f"G: fitting {name} (split {fold_seed})")
            model.fit(drawn.split.train, progress=fitting)
            if j == 0:
                out.fitted[name] = model
            scored = _score_model(
                model, name, drawn, variants, extra or {}, make_progress, fold_seed, first_id
            )
            for label, recs in scored:
                out.records.setdefault(label, []).append(recs)
        first_id += made
    return out


__all__ = [
    "FOLD_SEEDS",
    "GROUPS_PER_FOLD",
    "OWN",
    "POPULAR_FLOOR",
    "SIZES",
    "FoldResults",
    "GroupRecords",
    "Variant",
    "blend_timing",
    "evaluate_groups",
    "models_to_measure",
    "named",
    "novelty_variants",
    "popularity_ranks",
    "run_folds",
    "summarise",
]
