"""Protocol Graph: do film-pair scores tell held-out co-liked pairs from random pairs? (ROC AUC)

The evaluation of recsys-nlp-graph (Eugene Yan), which reports 0.95–0.98 AUC for its PyTorch
skip-gram on Amazon product pairs, applied to films:

- Split: protocol R's (per user ⌊n/5⌋ ratings to test, ``default_rng(0)``); models fit on train.
- Positive pairs: films i ≠ j that one person liked (≥ the like threshold) with at least one of
  the two likes a *test* rating, and that nobody co-liked in train: held-out pairs, whose only
  evidence is something no model saw (as the source holds out edges of its graph). Both films
  must have a training rating (every model then has a vector for them).
- Negative pairs: as many random pairs of films with a training rating, drawn uniformly, never a
  pair anyone co-liked (train or test). Uniform films are mostly obscure, which is what makes the
  source's figures high: the popularity row below shows how much of the AUC that alone explains.
- Score: cosine of the two films' vectors (``item_vectors``), for the graph embeddings and, on the
  same pairs, mf / als / hybrid; AUC = P(score of a positive > score of a negative), ties ½.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from engine.data.film_graph import like_matrix
from engine.data.ratings import Ratings
from engine.data.splits import split_r
from engine.evaluate.report import OURS, BenchContext, ProtocolResult, timed_fit

TITLE = "film-pair AUC: held-out co-liked pairs vs random pairs"
COLUMNS = ["model", "by", "AUC", "positives", "negatives", "fit s"]
DEFAULT_MODELS = ("graph", "mf", "als", "hybrid")
MAX_PAIRS = 20_000
SEED = 0


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting ½ (the Mann–Whitney U statistic)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positive, negative]))
    u = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(u / (len(positive) * len(negative)))


def _co_liked(likes: sp.csr_matrix) -> sp.csr_matrix:
    """films × films, nonzero where one person liked both (diagonal dropped)."""
    co = (likes.T @ likes).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    return co


def held_out_pairs(
    train: Ratings,
    test: Ratings,
    threshold: float = 4.0,
    max_pairs: int = MAX_PAIRS,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """(positives, negatives), each [n, 2] film-index pairs with i < j (see the module docstring)."""
    rng = np.random.default_rng(seed)
    train_likes, test_likes = like_matrix(train, threshold), like_matrix(test, threshold)
    all_likes = (train_likes + test_likes).tocsr()
    anywhere = _co_liked(all_likes)
    only_train = _co_liked(train_likes)
    # co-liked once test likes count, never with training likes alone (a subset of the former)
    held = sp.csr_matrix(sp.triu(anywhere, k=1) > 0, dtype=np.int8) - sp.csr_matrix(
        sp.triu(only_train, k=1) > 0, dtype=np.int8
    )
    held.eliminate_zeros()
    rated = np.flatnonzero(train.item_counts() > 0)
    in_train = np.zeros(train.n_items, dtype=bool)
    in_train[rated] = True
    coo = held.tocoo()
    keep = in_train[coo.row] & in_train[coo.col]
    positives = np.stack([coo.row[keep], coo.col[keep]], axis=1).astype(np.int64)
    if len(positives) > max_pairs:
        positives = positives[np.sort(rng.choice(len(positives), max_pairs, replace=False))]
    linked = anywhere.tocsr()
    negatives: list[np.ndarray] = []
    wanted = len(positives)
    while wanted > 0 and len(rated) > 1:
        draw = rng.choice(rated, size=(2 * wanted + 16, 2))
        draw = np.sort(draw, axis=1)
        draw = draw[draw[:, 0] != draw[:, 1]]
        draw = draw[np.asarray(linked[draw[:, 0], draw[:, 1]]).ravel() == 0]
        draw = np.unique(draw, axis=0)
        negatives.append(draw[rng.permutation(len(draw))][:wanted])
        wanted -= len(negatives[-1])
    negative = np.concatenate(negatives) if negatives else np.empty((0, 2), np.int64)
    return positives, negative.astype(np.int64)


def pair_cosines(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine of the two films' vectors for every pair (a zero vector: cosine 0)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1)
    norms[norms == 0] = 1.0
    unit = v / norms[:, None]
    return (unit[pairs[:, 0]] * unit[pairs[:, 1]]).sum(1)


def _models(ctx: BenchContext) -> tuple[list[str], list[str]]:
    from engine.models import REGISTRY, model_class

    asked = list(ctx.models) if ctx.models is not None else list(DEFAULT_MODELS)
    names, notes = [], []
    for name in asked:
        if name not in REGISTRY:
            notes.append(f"{name}: not a registered model")
        elif "item_vectors" not in model_class(name).capabilities:
            notes.append(f"{name}: skipped here, it has no film vectors")
        else:
            names.append(name)
    return names, notes


def _row(name: str, by: str, auc: float, pos: int, neg: int, fit_s: float) -> dict[str, Any]:
    return {"model": name, "by": by, "AUC": auc, "positives": pos, "negatives": neg, "fit s": fit_s}


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    train, test = split_r(ctx.ratings)
    positives, negatives = held_out_pairs(train, test, ctx.threshold)
    names, notes = _models(ctx)
    notes.insert(
        0,
        f"split: protocol R's (default_rng(0)); positives: {len(positives):,} film pairs one person "
        f"liked (>= {ctx.threshold:g}★) with at least one of the two likes in test and nobody "
        "co-liked in train (at most "
        f"{MAX_PAIRS:,}, default_rng({SEED})); negatives: as many uniform random pairs of films "
        "with a training rating that nobody co-liked. Score: cosine of the films' vectors.",
    )
    progress = ctx.progress_factory("Graph")
    rows: list[dict[str, Any]] = []
    counts = train.item_counts().astype(np.float64)
    popularity = np.log1p(counts)
    rows.append(
        _row(
            "popularity (log n_i + log n_j)",
            "baseline",
            roc_auc(
                popularity[positives].sum(1) if len(positives) else np.empty(0),
                popularity[negatives].sum(1) if len(negatives) else np.empty(0),
            ),
            len(positives),
            len(negatives),
            0.0,
        )
    )
    for done, name in enumerate(names):
        progress(done, len(names), name)
        try:
            model = ctx.create(name)
            fit_s = timed_fit(model, train)
            vectors = model.item_vectors()
            if vectors is None:
                notes.append(f"{name}: no film vectors after fitting")
                continue
            auc = roc_auc(pair_cosines(vectors, positives), pair_cosines(vectors, negatives))
            rows.append(_row(name, OURS, auc, len(positives), len(negatives), fit_s))
            if name == "graph":
                info = model.info
                notes.append(
                    f"graph: {info.get('edges', 0):,} edges over {info.get('films_with_edges', 0):,} "
                    f"films, {info.get('walks', 0):,} walks ({info.get('walks_per_second', 0):,}/s), "
                    f"skip-gram {info.get('skipgram_seconds', 0)} s, final loss {info.get('final_loss')}"
                )
        except Exception as err:  # one broken model must not hide the others' figures
            notes.append(f"{name}: FAILED ({type(err).__name__}: {err})")
    progress(len(names), len(names), "done")
    notes.append(
        "The source (recsys-nlp-graph) reports 0.95–0.98 on Amazon product pairs for its "
        "skip-gram; its negatives were random pairs as here."
    )
    table = pd.DataFrame(rows, columns=COLUMNS)
    return ProtocolResult("Graph", TITLE, table, notes, time.perf_counter() - start)


__all__ = ["held_out_pairs", "pair_cosines", "roc_auc", "run"]
