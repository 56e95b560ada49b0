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
- A second AUC on the pairs whose two films are both **in the graph** (at least one edge in the
  co-like graph built from train with the graph model's default settings): the source's setting,
  where every product is a node. Uniform random films are mostly obscure and off the graph; their
  vectors say only what kind of film they are (EGES side information, or a barely trained factor),
  and two such films look alike to every model. The subset is the same for every model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
COLUMNS = [
    "model",
    "by",
    "AUC",
    "positives",
    "negatives",
    "AUC, films in the graph",
    "pairs in the graph (+/−)",
    "fit s",
]
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


def in_graph(train: Ratings) -> np.ndarray:
    """Films with at least one edge in the co-like graph the graph model builds from ``train``
    with its default settings (a boolean mask over the catalogue)."""
    from engine.data.film_graph import co_like_graph
    from engine.models.graph_embedding import GraphConfig

    cfg = GraphConfig()
    graph = co_like_graph(train, cfg.like_threshold, cfg.min_count, cfg.top_k, cfg.weighting)
    return graph.degree() > 0


def _both_in(known: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """For each pair, whether both of its films are in ``known`` (a boolean mask)."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(known[pairs[:, 0]] & known[pairs[:, 1]], dtype=bool)


def _aucs(
    scores: Callable[[np.ndarray], np.ndarray],
    positives: np.ndarray,
    negatives: np.ndarray,
    graph_pos: np.ndarray,
    graph_neg: np.ndarray,
) -> tuple[float, float]:
    """AUC on every pair, and on the pairs with both films in the graph (boolean masks)."""
    pos, neg = scores(positives), scores(negatives)
    return roc_auc(pos, neg), roc_auc(pos[graph_pos], neg[graph_neg])


def _row(
    name: str,
    by: str,
    aucs: tuple[float, float],
    counts: tuple[int, int, int, int],
    fit_s: float,
) -> dict[str, Any]:
    pos, neg, graph_pos, graph_neg = counts
    return {
        "model": name,
        "by": by,
        "AUC": aucs[0],
        "positives": pos,
        "negatives": neg,
        "AUC, films in the graph": aucs[1],
        "pairs in the graph (+/−)": f"{graph_pos:,} / {graph_neg:,}",
        "fit s": fit_s,
    }


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
    known = in_graph(train)
    graph_pos = _both_in(known, positives)
    graph_neg = _both_in(known, negatives)
    counts = (len(positives), len(negatives), int(graph_pos.sum()), int(graph_neg.sum()))
    popularity = np.log1p(train.item_counts().astype(np.float64))

    def popular(pairs: np.ndarray) -> np.ndarray:
        return popularity[pairs].sum(1) if len(pairs) else np.empty(0)

    rows.append(
        _row(
            "popularity (log n_i + log n_j)",
            "baseline",
            _aucs(popular, positives, negatives, graph_pos, graph_neg),
            counts,
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

            def cosines(pairs: np.ndarray, vectors: np.ndarray = vectors) -> np.ndarray:
                return pair_cosines(vectors, pairs)

            aucs = _aucs(cosines, positives, negatives, graph_pos, graph_neg)
            rows.append(_row(name, OURS, aucs, counts, fit_s))
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
        "skip-gram; its negatives were random pairs as here, and every product was a node of its "
        f"graph: 'films in the graph' is that setting ({int(known.sum()):,} films with an edge in "
        "the default co-like graph; the same pairs for every model)."
    )
    table = pd.DataFrame(rows, columns=COLUMNS)
    return ProtocolResult("Graph", TITLE, table, notes, time.perf_counter() - start)


__all__ = ["held_out_pairs", "in_graph", "pair_cosines", "roc_auc", "run"]
