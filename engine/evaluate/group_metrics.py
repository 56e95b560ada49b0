"""Group-list metrics in protocol G's two vocabularies, and paired bootstrap intervals.

Today's table (docs/PROTOCOLS.md): per member NDCG@10 with binary gains (``engine.metrics``'
convention) and whether the top-10 holds a relevant film; per group the mean and min over
members, zero-recall and disagreement.

The paper's (Kaya, Bridge & Tintarev, RecSys 2020, computed with RankSys as their code does),
at N = 20:

- **nDCG@20** with RankSys' graded gain 2^(r − t + 1) − 1 for a held-out rating r ≥ t = 4
  (4★ → 1, 4.5★ → 1.83, 5★ → 3), discount 1/log2(rank + 1), ideal DCG over the member's
  relevant films; per group the **mean** over members, the **min**, and **min/max** (0 when
  the max is 0).
- **Recall@20**, mean over members; **zRecall**, the share of members with no relevant film in
  the list (lower is better).
- **DFH** (discounted first hit): 1/log2(rank + 1) of a member's first relevant film in the
  top 20, 0 without one; per group the mean (and min).

Members with no relevant candidate (every relevant film revealed by someone else) are left out
of their group's figures; a group with none left is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

THRESHOLD = 4.0
K_TODAY = 10
K_PAPER = 20
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0

# per-group figure → True where higher is better
TODAY = {"mean_ndcg": True, "min_ndcg": True, "zero_recall": False, "disagreement": False}
PAPER = {
    "ndcg20_mean": True,
    "ndcg20_min": True,
    "ndcg20_minmax": True,
    "recall20": True,
    "zrecall20": False,
    "dfh20_mean": True,
    "dfh20_min": True,
}


@dataclass(frozen=True)
class Relevant:
    """One member's held-out films rated ≥ the threshold, with their stars."""

    items: np.ndarray
    stars: np.ndarray


def graded_gain(stars: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """RankSys' nDCG gain 2^(r − t + 1) − 1 for ratings r ≥ t (0 below)."""
    stars = np.asarray(stars, dtype=np.float64)
    return np.where(stars >= threshold, 2.0 ** (stars - threshold + 1.0) - 1.0, 0.0)


def _discount(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2))


@dataclass(frozen=True)
class GroupTruth:
    """What one group's lists are scored against: per member with a relevant candidate, each
    film's graded gain (a dense [members × films] table, so scoring a list is one gather) and
    the ideal DCGs."""

    gain: np.ndarray  # [members × films] graded gain, 0 for films not relevant to them
    rows: np.ndarray  # which of the group's members these are (positions in the group)
    n_relevant: np.ndarray
    ideal10: np.ndarray  # binary ideal DCG@10
    ideal20: np.ndarray  # graded ideal DCG@20


def group_truth(
    relevant: Sequence[Relevant], excluded: np.ndarray, n_items: int
) -> GroupTruth | None:
    """The scoring table of one group (None if no member has a relevant candidate): films in
    ``excluded`` (revealed by someone) are not candidates, so they are not relevant either."""
    rows, gains, counts, ideal10, ideal20 = [], [], [], [], []
    for r, rel in enumerate(relevant):
        keep = ~np.isin(rel.items, excluded)
        if not keep.any():
            continue
        row = np.zeros(n_items)
        graded = graded_gain(rel.stars[keep])
        row[rel.items[keep]] = graded
        best = np.sort(graded)[::-1][:K_PAPER]
        rows.append(r)
        gains.append(row)
        counts.append(int(keep.sum()))
        ideal10.append(_discount(min(int(keep.sum()), K_TODAY)).sum())
        ideal20.append((best * _discount(len(best))).sum())
    if not rows:
        return None
    return GroupTruth(
        np.stack(gains), np.array(rows), np.array(counts), np.array(ideal10), np.array(ideal20)
    )


def member_figures(lists: np.ndarray, truth: GroupTruth) -> dict[str, np.ndarray]:
    """Per-member figures of one group's list(s): ``lists`` is one top-20 (``[20]``) shared by
    the group or one per member (``[members × 20]``). Arrays over the members in ``truth``:
    ndcg10 (binary), hit10, ndcg20 (graded), recall20, hit20, dfh20."""
    lists = np.atleast_2d(lists)
    tops = lists[truth.rows] if len(lists) > 1 else np.repeat(lists, len(truth.rows), axis=0)
    gains = np.take_along_axis(truth.gain, tops[:, :K_PAPER], axis=1)  # [members × ≤20]
    hits = gains > 0
    disc = _discount(gains.shape[1])
    hits10 = hits[:, :K_TODAY]
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), 0)
    found = hits.any(axis=1)
    return {
        "ndcg10": np.asarray((hits10 * disc[: hits10.shape[1]]).sum(axis=1) / truth.ideal10),
        "hit10": np.asarray(hits10.any(axis=1), dtype=np.float64),
        "ndcg20": np.asarray((gains * disc).sum(axis=1) / truth.ideal20),
        "recall20": np.asarray(hits.sum(axis=1) / truth.n_relevant),
        "hit20": np.asarray(found, dtype=np.float64),
        "dfh20": np.asarray(np.where(found, disc[first], 0.0)),
    }


def group_figures(member: dict[str, np.ndarray]) -> dict[str, float]:
    """One group's figures from its members' (``member_figures``)."""
    ndcg10, ndcg20, dfh = member["ndcg10"], member["ndcg20"], member["dfh20"]
    top = ndcg20.max()
    return {
        "mean_ndcg": float(ndcg10.mean()),
        "min_ndcg": float(ndcg10.min()),
        "zero_recall": float(1.0 - member["hit10"].mean()),
        "disagreement": float(ndcg10.max() - ndcg10.min()),
        "ndcg20_mean": float(ndcg20.mean()),
        "ndcg20_min": float(ndcg20.min()),
        "ndcg20_minmax": float(ndcg20.min() / top) if top > 0 else 0.0,
        "recall20": float(member["recall20"].mean()),
        "zrecall20": float(1.0 - member["hit20"].mean()),
        "dfh20_mean": float(dfh.mean()),
        "dfh20_min": float(dfh.min()),
    }


def bootstrap_interval(
    diff: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``diff`` (paired differences, one per group),
    resampling groups with replacement (``default_rng(seed)``)."""
    diff = np.asarray(diff, dtype=np.float64)
    if len(diff) == 0:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, len(diff), (resamples, len(diff)))
    means = diff[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def paired_table(
    per_group: pd.DataFrame,
    figures: dict[str, bool],
    base: str = "average",
    by: Sequence[str] = ("kind",),
) -> pd.DataFrame:
    """Each strategy against ``base`` on the same groups: per ``by`` cell (plus "all"), the mean
    of each figure, the mean paired difference and its bootstrap 95 % interval, and "win" /
    "loss" only where the interval excludes 0 (direction from ``figures``: higher better?).

    ``per_group`` has one row per (group, strategy) with a ``group_id`` column that pairs them.
    """
    gid = per_group["group_id"].to_numpy()
    strategy = per_group["strategy"].to_numpy().astype(str)
    cells: list[tuple[str, np.ndarray]] = [("all", np.ones(len(per_group), bool))]
    if by:
        labels = per_group[list(by)].astype(str).to_numpy()
        keys = np.array(["/".join(row) for row in labels])
        cells += [(str(k), keys == k) for k in dict.fromkeys(keys.tolist())]
    order = [base, *(s for s in dict.fromkeys(strategy.tolist()) if s != base)]
    values = {f: per_group[f].to_numpy(dtype=np.float64) for f in figures}
    rows = []
    for label, in_cell in cells:
        at_base = in_cell & (strategy == base)
        for s in order:
            mine = in_cell & (strategy == s)
            row: dict[str, object] = {"cell": label, "strategy": s, "groups": int(mine.sum())}
            for f, higher in figures.items():
                reference = dict(
                    zip(gid[at_base].tolist(), values[f][at_base].tolist(), strict=True)
                )
                paired = [
                    (v, reference[g])
                    for g, v in zip(gid[mine].tolist(), values[f][mine].tolist(), strict=True)
                    if g in reference
                ]
                if not paired:
                    continue
                own, theirs = np.array(paired).T
                row[f] = float(np.nanmean(own))
                if s == base:
                    continue
                diff = own - theirs
                diff = diff[np.isfinite(diff)]
                lo, hi = bootstrap_interval(diff)
                row[f"{f} Δ"] = float(diff.mean()) if len(diff) else float("nan")
                row[f"{f} 95% CI"] = f"[{lo:+.4f}, {hi:+.4f}]"
                better = lo > 0 if higher else hi < 0
                worse = hi < 0 if higher else lo > 0
                row[f"{f} verdict"] = "win" if better else ("loss" if worse else "—")
            rows.append(row)
    return pd.DataFrame.from_records(rows)


def distinct_from_base(
    tops: dict[tuple[int, str], tuple[int, ...]], base: str = "average", k: int = K_TODAY
) -> pd.DataFrame:
    """Per strategy, over the same groups (``tops``: (group id, strategy) → its list): how many
    of its top-k lists differ from ``base``'s, as ordered lists and as sets, and how many
    distinct top-k lists it produces in all."""
    by_strategy: dict[str, dict[int, tuple[int, ...]]] = {}
    for (gid, strategy), top in tops.items():
        by_strategy.setdefault(strategy, {})[gid] = tuple(top[:k])
    reference = by_strategy.get(base, {})
    rows = []
    for strategy, lists in by_strategy.items():
        shared = [g for g in lists if g in reference]
        ordered = [lists[g] != reference[g] for g in shared]
        as_set = [set(lists[g]) != set(reference[g]) for g in shared]
        rows.append(
            {
                "strategy": strategy,
                "groups": len(shared),
                f"top-{k} differs from {base}": int(np.sum(ordered)),
                "share differing": float(np.mean(ordered)) if shared else float("nan"),
                "differs as a set": int(np.sum(as_set)),
                "distinct lists": len(set(lists.values())),
            }
        )
    return pd.DataFrame.from_records(rows)


__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "K_PAPER",
    "K_TODAY",
    "PAPER",
    "TODAY",
    "GroupTruth",
    "Relevant",
    "bootstrap_interval",
    "distinct_from_base",
    "graded_gain",
    "group_figures",
    "group_truth",
    "member_figures",
    "paired_table",
]
