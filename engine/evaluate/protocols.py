"""The scoring halves of protocols E, R and F (docs/PROTOCOLS.md): a fitted model in, metrics out.

Splitting and fitting live in the protocol runners (``protocol_e/r/f``); these functions only
score, so tests, tuning and peers all use exactly the same arithmetic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit
from engine.metrics import coverage, mae, rmse, topn_metrics
from engine.models.base import FoldIn, RatingPredictor, Scorer

M = TypeVar("M")
F = TypeVar("F", bound=FoldIn)
# elicit(model, catalogue, rated, unseen, n) -> item indices (``engine.elicit.elicitor``)
Elicit = Callable[[M, Ratings, dict[int, float], set[int], int], list[int]]
RANDOM_REVEAL_SEED = 2  # docs/PROTOCOLS.md, protocol F (a)


def evaluate_e(model: RatingPredictor, test: Ratings) -> dict[str, float]:
    """RMSE and MAE of a fitted explicit model's star predictions on ``test``."""
    if model.kind != "explicit":
        raise ValueError(f"{model!r} is not an explicit model; protocol E needs star predictions")
    pred = np.asarray(model.predict(test.users, test.items), dtype=np.float64)
    return {"rmse": rmse(pred, test.values), "mae": mae(pred, test.values), "n_ratings": len(test)}


def _per_user(r: Ratings, rows_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, item indices) grouped by user, via CSR (duplicates are impossible in Ratings)."""
    if rows_mask is not None:
        r = r.subset(rows_mask)
    csr = r.csr()
    csr.sort_indices()
    return csr.indptr, csr.indices


def evaluate_r(
    model: Scorer | None,
    train: Ratings,
    test: Ratings,
    k: int = 10,
    threshold: float = 4.0,
    batch: int = 256,
    users: np.ndarray | None = None,
    score_users: Callable[[np.ndarray], torch.Tensor | np.ndarray] | None = None,
    per_user: bool = False,
) -> dict[str, Any]:
    """Top-N quality for every user with a test rating >= ``threshold``.

    Each user's candidates are all films not in their ``train`` ratings; relevant = test films
    rated >= threshold. ``score_users`` overrides ``model.score_users`` (used for peers);
    ``users`` restricts the evaluated users (quick runs). Returns means and ``n_users``.
    """
    liked = test.values >= threshold
    eval_users = np.unique(test.users[liked])
    if users is not None:
        eval_users = np.intersect1d(eval_users, np.asarray(users))
    if score_users is not None:
        scorer = score_users
    elif model is not None:
        scorer = model.score_users
    else:
        raise ValueError("evaluate_r needs a model or a score_users function")
    tr_ptr, tr_items = _per_user(train)
    te_ptr, te_items = _per_user(test, liked)
    parts: dict[str, list[np.ndarray]] = {
        "recall": [],
        "ndcg": [],
        "map": [],
        "auc": [],
        "topk": [],
    }
    for start in range(0, len(eval_users), batch):
        chunk = eval_users[start : start + batch]
        scores = scorer(chunk)
        exclude = [tr_items[tr_ptr[u] : tr_ptr[u + 1]] for u in chunk]
        relevant = [te_items[te_ptr[u] : te_ptr[u + 1]] for u in chunk]
        out = topn_metrics(scores, exclude, relevant, k=k)
        for key in parts:
            parts[key].append(out[key])
    return _summarise(parts, train.n_items, per_user)


def _summarise(parts: dict[str, list[np.ndarray]], n_items: int, per_user: bool) -> dict[str, Any]:
    if not parts["topk"]:
        nan = float("nan")
        return {"recall": nan, "ndcg": nan, "map": nan, "auc": nan, "coverage": nan, "n_users": 0}
    joined = {key: np.concatenate(val) for key, val in parts.items()}
    result: dict[str, Any] = {}
    with np.errstate(all="ignore"):
        for key in ("recall", "ndcg", "map", "auc"):
            values = joined[key]
            result[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    result["coverage"] = coverage(joined["topk"], n_items)
    result["n_users"] = int(np.isfinite(joined["ndcg"]).sum())
    if per_user:
        result["per_user"] = joined
    return result


# ---------------------------------------------------------------------------- protocol F
@dataclass(frozen=True)
class Reveal:
    """One new member in protocol F: rows of ``split.held`` they revealed, and the hidden rest."""

    user: int
    shown: np.ndarray
    hidden: np.ndarray
    asked: int = 0  # films the elicitation asked about (0 for random reveals)


def reveal_random(
    split: FoldInSplit, k_reveal: int, seed: int = RANDOM_REVEAL_SEED
) -> list[Reveal]:
    """Variant (a): k random ratings per new user, one ``default_rng(seed)`` over users in order."""
    rng = np.random.default_rng(seed)
    out = []
    for u in split.new_users:
        shown, hidden = split.reveal_random(int(u), k_reveal, rng)
        out.append(Reveal(int(u), shown, hidden))
    return out


def reveal_elicit(
    model: M,
    split: FoldInSplit,
    k_reveal: int,
    elicit: Elicit[M],
    ask_batch: int = 5,
    max_asks: int = 200,
) -> list[Reveal]:
    """Variant (b): ask what ``elicit`` proposes; the member answers only films they rated in
    ``split.held`` (anything else is "haven't seen"), until k answers or ``max_asks`` films."""
    out = []
    for u in split.new_users:
        rows = split.held.user_rows(int(u))
        row_of = dict(zip(split.held.items[rows].tolist(), rows.tolist(), strict=True))
        rated: dict[int, float] = {}
        unseen: set[int] = set()
        asked = 0
        while len(rated) < k_reveal and asked < max_asks:
            n = min(ask_batch, max_asks - asked)
            proposals = [int(i) for i in elicit(model, split.train, dict(rated), set(unseen), n)]
            if not proposals:
                break  # catalogue exhausted
            for item in proposals[:n]:
                asked += 1
                if item in row_of:
                    rated[item] = float(split.held.values[row_of[item]])
                else:
                    unseen.add(item)
                if len(rated) >= k_reveal:
                    break
        shown = np.array(sorted(row_of[i] for i in rated), dtype=np.int64)
        hidden = np.setdiff1d(rows, shown)
        out.append(Reveal(int(u), shown, hidden, asked))
    return out


def _reveals(
    model: F, split: FoldInSplit, k_reveal: int, mode: str, elicit: Elicit[F] | None
) -> list[Reveal]:
    """``evaluate_f``'s reveals by ``mode``: "random" or "elicit" (asked for by ``elicit``)."""
    if mode == "random":
        return reveal_random(split, k_reveal)
    if mode == "elicit":
        if elicit is None:
            raise ValueError("mode='elicit' needs an elicit function")
        return reveal_elicit(model, split, k_reveal, elicit)
    raise ValueError(f"unknown reveal mode {mode!r}; use 'random' or 'elicit'")


def evaluate_f(
    model: F,
    split: FoldInSplit,
    k_reveal: int = 10,
    mode: str = "random",
    elicit: Elicit[F] | None = None,
    k: int = 10,
    threshold: float = 4.0,
    reveals: list[Reveal] | None = None,
    fold_in: bool = True,
    per_user: bool = False,
) -> dict[str, Any]:
    """New-member quality: fold each new user in from k revealed ratings, score the hidden rest.

    Candidates are all films the member did not reveal; relevant = hidden films rated >=
    ``threshold``. ``rmse`` (explicit models only) pools every hidden rating. ``foldin_ms`` is the
    mean wall time of one ``model.fold_in``. Pass ``reveals`` to reuse the same reveals (e.g. to
    compare with a model retrained on them, scoring training users with ``fold_in=False``).
    """
    if reveals is None:
        reveals = _reveals(model, split, k_reveal, mode, elicit)
    held = split.held
    explicit = model.kind == "explicit"
    times: list[float] = []
    scores, exclude, relevant, preds, truths = [], [], [], [], []
    for r in reveals:
        items, values = held.items[r.shown], held.values[r.shown]
        if fold_in:
            start = time.perf_counter()
            state = model.fold_in(items, values)
            times.append(time.perf_counter() - start)
            row = model.score(state)
        else:
            row = model.score(r.user)
        row = torch.as_tensor(row).float().cpu()
        scores.append(row)
        exclude.append(items)
        hidden_items, hidden_values = held.items[r.hidden], held.values[r.hidden]
        relevant.append(hidden_items[hidden_values >= threshold])
        if explicit:
            preds.append(row.numpy()[hidden_items])
            truths.append(hidden_values)
    parts: dict[str, list[np.ndarray]] = {
        key: [] for key in ("recall", "ndcg", "map", "auc", "topk")
    }
    if scores:
        out = topn_metrics(torch.stack(scores), exclude, relevant, k=k)
        for key in parts:
            parts[key].append(out[key])
    result = _summarise(parts, held.n_items, per_user)
    result["rmse"] = rmse(np.concatenate(preds), np.concatenate(truths)) if preds else float("nan")
    result["foldin_ms"] = float(np.mean(times) * 1000) if times else float("nan")
    result["revealed"] = float(np.mean([len(r.shown) for r in reveals])) if reveals else 0.0
    result["n_new_users"] = len(reveals)
    return result


def revealed_ratings(split: FoldInSplit, reveals: list[Reveal]) -> Ratings:
    """All revealed ratings as one ``Ratings`` (to append to train for the retrain comparison)."""
    rows = np.concatenate([r.shown for r in reveals]) if reveals else np.empty(0, np.int64)
    return split.held.subset(np.sort(rows))


__all__ = [
    "Reveal",
    "evaluate_e",
    "evaluate_f",
    "evaluate_r",
    "reveal_elicit",
    "reveal_random",
    "revealed_ratings",
]
