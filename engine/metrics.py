"""Offline metrics: rating error and top-N ranking quality, vectorised over users.

A low module (numpy and torch only): the benchmark (``engine.evaluate``) scores with it, and so
does a model that calibrates itself on validation data (the hybrid's β), without a model ever
importing the benchmark.

Conventions (the ones docs/PROTOCOLS.md fixes, plus the ones it leaves open, stated here once):

- Items in ``exclude[u]`` are never ranked (their score becomes -inf) and never count as relevant.
- Top-k order breaks ties by item index (lower index first): a stable descending sort.
- ``recall`` = hits in the top k / number of relevant items (not capped at k).
- ``ndcg`` uses binary gains 1/log2(rank+1); the ideal DCG is over min(#relevant, k) hits.
- ``map`` is AP@k = Σ_{i≤k} precision@i · rel_i / min(#relevant, k).
- ``auc`` is the per-user ROC AUC of relevant vs. every other non-excluded item (Mann–Whitney);
  tied scores count one half, so a constant scorer gets exactly 0.5 whatever the item order.
- A user with no relevant item (or, for AUC, no non-relevant one) gets NaN; means over users use
  ``nanmean``, i.e. such users are excluded from the averages rather than counted as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def _as_float(array: Any) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64).reshape(-1)


def rmse(pred: Any, truth: Any) -> float:
    """Root mean squared error; NaN for empty input."""
    pred, truth = _as_float(pred), _as_float(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"{len(pred)} predictions for {len(truth)} true ratings")
    return float(np.sqrt(np.mean((pred - truth) ** 2))) if len(pred) else float("nan")


def mae(pred: Any, truth: Any) -> float:
    """Mean absolute error; NaN for empty input."""
    pred, truth = _as_float(pred), _as_float(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"{len(pred)} predictions for {len(truth)} true ratings")
    return float(np.mean(np.abs(pred - truth))) if len(pred) else float("nan")


def _row_mask(lists: Sequence[np.ndarray], b: int, n: int) -> torch.Tensor:
    """A [b, n] bool mask with True at (u, i) for every i in lists[u]."""
    mask = torch.zeros((b, n), dtype=torch.bool)
    lengths = [len(x) for x in lists]
    if sum(lengths):
        rows = np.repeat(np.arange(b), lengths)
        cols = np.concatenate([np.asarray(x, dtype=np.int64).reshape(-1) for x in lists])
        if cols.min() < 0 or cols.max() >= n:
            raise ValueError(f"item index out of range for {n} items")
        mask[torch.from_numpy(rows), torch.from_numpy(cols)] = True
    return mask


def list_metrics(
    lists: Sequence[np.ndarray],
    exclude: Sequence[np.ndarray],
    relevant: Sequence[np.ndarray],
    k: int = 10,
) -> dict[str, np.ndarray]:
    """Per-row recall and ndcg at ``k`` of ready-made top lists (best first), with the same
    conventions as ``topn_metrics`` (relevant films that are excluded do not count; NaN where
    nothing is relevant). For scoring thousands of group lists without building [b, n_items]
    score rows: what ``topn_metrics`` gives for scores that rank the list first. Lists should
    not hold excluded films; any that do are skipped (not replaced)."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)
    recall, ndcg = np.full(len(lists), np.nan), np.full(len(lists), np.nan)
    for r, (top, ex, rel) in enumerate(zip(lists, exclude, relevant, strict=True)):
        rel = np.setdiff1d(rel, ex)
        if not len(rel):
            continue
        top = np.asarray(top)[:k]
        top = top[~np.isin(top, ex)]  # an excluded film never counts, even when listed
        hits = np.isin(top, rel).astype(np.float64)
        recall[r] = hits.sum() / len(rel)
        ndcg[r] = (hits * discount[: len(hits)]).sum() / ideal[min(len(rel), k) - 1]
    return {"recall": recall, "ndcg": ndcg}


def _auc(
    s: torch.Tensor,
    values: torch.Tensor,
    rel: torch.Tensor,
    excl: torch.Tensor,
    n_rel: torch.Tensor,
) -> torch.Tensor:
    """Per-user AUC by mid-ranks among non-excluded items (excluded ones sit at -inf below
    everything); ``values`` is each row of ``s`` sorted descending. Only the relevant items'
    ranks are needed: they are gathered into a padded [b, m] block."""
    b, n = s.shape
    rows, cols = rel.nonzero(as_tuple=True)  # row-major: grouped by user
    counts = n_rel.long()
    slot = torch.arange(len(rows)) - (torch.cumsum(counts, 0) - counts)[rows]
    m = max(int(counts.max().item()) if b else 0, 1)
    valid = torch.zeros((b, m), dtype=torch.bool)
    valid[rows, slot] = True
    pos_scores = torch.full((b, m), torch.inf)
    pos_scores[rows, slot] = s[rows, cols]
    ascending = values.flip(1).contiguous()
    less = torch.searchsorted(ascending, pos_scores, right=False).to(torch.float64)
    less_equal = torch.searchsorted(ascending, pos_scores, right=True).to(torch.float64)
    n_excl = excl.sum(1, keepdim=True).to(torch.float64)
    midrank = (less + less_equal + 1.0) / 2.0 - n_excl  # 1-based rank among candidates
    n_neg = (n - n_excl.squeeze(1)) - n_rel
    rank_sum = torch.where(valid, midrank, 0.0).sum(1)
    auc = (rank_sum - n_rel * (n_rel + 1) / 2) / (n_rel * n_neg)
    return torch.where((n_rel > 0) & (n_neg > 0), auc, torch.nan)


def topn_metrics(
    scores: np.ndarray | torch.Tensor,
    exclude: Sequence[np.ndarray],
    relevant: Sequence[np.ndarray],
    k: int = 10,
) -> dict[str, np.ndarray]:
    """Per-user recall, ndcg, map, auc at ``k`` (float64 arrays [b]) and ``topk`` (int64 [b, k]).

    ``scores`` is [b, n_items], higher is better. See the module docstring for the conventions.
    """
    s = torch.as_tensor(scores).detach().to("cpu", torch.float32).clone()
    if s.ndim != 2:
        raise ValueError(f"scores must be [users, items], got shape {tuple(s.shape)}")
    b, n = s.shape
    if len(exclude) != b or len(relevant) != b:
        raise ValueError(
            f"{b} score rows but {len(exclude)} exclude and {len(relevant)} relevant lists"
        )
    if torch.isnan(s).any():
        raise ValueError("scores contain NaN")
    k = min(k, n)
    info = torch.finfo(torch.float32)
    s = torch.nan_to_num(s, posinf=info.max, neginf=info.min)  # keep -inf for exclusions only
    excl = _row_mask(exclude, b, n)
    rel = _row_mask(relevant, b, n) & ~excl
    s[excl] = -torch.inf

    values, order = torch.sort(s, dim=1, descending=True, stable=True)
    topk = order[:, :k]
    hits = rel.gather(1, topk).to(torch.float64)  # [b, k]
    n_rel = rel.sum(1).to(torch.float64)
    capped = torch.clamp(n_rel, max=k)
    ranks = torch.arange(1, k + 1, dtype=torch.float64)
    discount = 1.0 / torch.log2(ranks + 1.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        recall = hits.sum(1) / n_rel
        idcg = torch.cumsum(discount, 0)[(capped - 1).clamp(min=0).long()]
        ndcg = (hits * discount).sum(1) / torch.where(n_rel > 0, idcg, torch.nan)
        precision_at = torch.cumsum(hits, 1) / ranks
        ap = (precision_at * hits).sum(1) / capped

    auc = _auc(s, values, rel, excl, n_rel)
    nan_if_none = lambda t: torch.where(n_rel > 0, t, torch.nan).numpy()  # noqa: E731
    return {
        "recall": nan_if_none(recall),
        "ndcg": nan_if_none(ndcg),
        "map": nan_if_none(ap),
        "auc": auc.numpy(),
        "topk": topk.numpy().astype(np.int64),
    }


def coverage(topk: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's top-k list."""
    topk = np.asarray(topk)
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    return float(len(np.unique(topk)) / n_items) if topk.size else 0.0


__all__ = ["coverage", "list_metrics", "mae", "rmse", "topn_metrics"]
