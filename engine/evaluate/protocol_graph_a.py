"""Protocol Graph-A: edge hold-out on the co-like graph, the source's design.

recsys-nlp-graph (Eugene Yan) holds out a random 33 % of its product graph's edges before the
walks, trains skip-gram on the rest and scores held-out edges against as many random product
pairs that are not edges, by the cosine of the two centre embeddings, with sklearn's ROC AUC.
Here, for films:

- **Graph**: the graph model's default co-like graph (``GraphConfig``'s threshold, min_count,
  top-k, weighting) built on *all* ratings.
- **Positives**: a seeded 33 % of its edges, minus any whose removal would leave one of its two
  films without an edge in train (the model ranks only films on its graph); the rest is the
  train graph, on which walks and skip-gram run (``embed_graph``), never on the full one.
- **Negatives**: as many pairs that are never an edge of the full graph, uniform over the train
  graph's films, and again degree-corrected (``engine.evaluate.graph_pairs``).
- **Rows**: the graph model with and without side information, each scored by the cosine of
  its film vectors (the source's score) and by skip-gram's centre·context product (only when
  ``--models`` is left out or names graph: its embeddings take most of the protocol's time);
  Adamic–Adar, common neighbours and preferential attachment on the train graph; popularity;
  Explore's similarity (co-watched, damped, × genre overlap: ``engine.similarity.CoWatch``)
  and the plain cosine of co-watching; and the rating models' film vectors. A rating model fit
  on all ratings would see the co-likes that make a held-out edge, so it is fit on the ratings
  *without* them: for every held-out edge and every person who liked both films, one of the
  two likes is dropped (``leak_free_ratings``), so nobody in its training data likes both ends
  of a held-out edge (the dropped share is in the notes). The co-watching rows are counted from
  those same ratings: they still see people who rated both films without liking both, as the
  rating models do, and never a co-like that made a held-out edge.
- **Draws**: each draw (seed 0, 1, …) redraws the hold-out, the negatives and every model's
  seed; the table gives the mean and the Student-t 95 % half-width over the draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.data.film_graph import FilmGraph, co_like_graph, like_matrix
from engine.data.ratings import Ratings
from engine.evaluate.graph_pairs import (
    EXPLORE_ROW,
    auc_pair,
    both_negatives,
    edge_pairs,
    explore_scorers,
    graph_model_scorers,
    heuristic_scorers,
    interval_rows,
    pair_keys,
    vector_scorer,
)
from engine.evaluate.report import OURS, BenchContext, timed_fit
from engine.models import create
from engine.models.graph_embedding import GraphConfig

HOLD_OUT = 0.33
DEFAULT_RATING_MODELS = ("mf", "als", "lmf")


@dataclass(frozen=True)
class EdgeSplit:
    """The train graph and the held-out edges [m, 2] (i < j) of a full graph."""

    train: FilmGraph
    held: np.ndarray


def remove_edges(graph: FilmGraph, pairs: np.ndarray) -> FilmGraph:
    """``graph`` without the undirected edges ``pairs`` (both stored directions)."""
    n = graph.n_films
    rows = np.repeat(np.arange(n, dtype=np.int64), graph.degree())
    cols = graph.indices.astype(np.int64)
    drop = np.isin(pair_keys(np.stack([rows, cols], axis=1), n), pair_keys(pairs, n))
    kept = sp.csr_matrix((graph.weights[~drop], (rows[~drop], cols[~drop])), shape=(n, n))
    kept.sort_indices()
    return FilmGraph(
        indptr=kept.indptr.astype(np.int64),
        indices=kept.indices.astype(np.int32),
        weights=kept.data.astype(np.float32),
        likes=graph.likes,
    )


def hold_out_edges(graph: FilmGraph, fraction: float, seed: int) -> EdgeSplit:
    """A seeded ``fraction`` of ``graph``'s edges held out, except those whose removal would
    leave one of their films without an edge (those go back to the train graph)."""
    edges = edge_pairs(graph)
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(edges), dtype=bool)
    chosen[rng.choice(len(edges), round(fraction * len(edges)), replace=False)] = True
    kept = edges[~chosen]
    degree = np.bincount(kept.ravel(), minlength=graph.n_films)
    held = edges[chosen]
    ok = (degree[held[:, 0]] > 0) & (degree[held[:, 1]] > 0)
    return EdgeSplit(remove_edges(graph, held[ok]), held[ok])


def leak_free_ratings(
    ratings: Ratings, held: np.ndarray, threshold: float, seed: int
) -> tuple[Ratings, int]:
    """``ratings`` minus, for each held-out edge and each person who liked both its films, that
    person's like of one of the two: the one more of that person's held-out edges share (a
    one-pass greedy vertex cover, so fewer likes go), a seeded coin on ties; and how many
    ratings were dropped."""
    likes = like_matrix(ratings, threshold).tocsc()
    both = cast(sp.coo_matrix, likes[:, held[:, 0]].multiply(likes[:, held[:, 1]]).tocoo())
    n = ratings.n_items
    users = both.row.astype(np.int64)
    first, second = users * n + held[both.col, 0], users * n + held[both.col, 1]
    # drop the end that more of this person's held-out edges share (fewer likes go), ties a coin
    keys, counts = np.unique(np.concatenate([first, second]), return_counts=True)
    share_first = counts[np.searchsorted(keys, first)]
    share_second = counts[np.searchsorted(keys, second)]
    coin = np.random.default_rng(seed).random(len(users)) < 0.5
    pick_first = (share_first > share_second) | ((share_first == share_second) & coin)
    drop = np.unique(np.where(pick_first, first, second))
    mask = ~np.isin(ratings.users.astype(np.int64) * n + ratings.items, drop)
    return ratings.subset(mask), int((~mask).sum())


def draw_pairs(
    full: FilmGraph, split: EdgeSplit, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positives, uniform negatives, degree-corrected negatives) for one draw."""
    rng = np.random.default_rng(seed)
    forbidden = pair_keys(edge_pairs(full), full.n_films)
    uniform, by_degree = both_negatives(
        split.train.degree(), len(split.held), forbidden, full.n_films, rng
    )
    return split.held, uniform, by_degree


def _score_draw(
    ctx: BenchContext,
    cfg: GraphConfig,
    full: FilmGraph,
    draw: int,
    rating_models: list[str],
    rows: tuple[dict[tuple[str, str], list[tuple[float, float]]], dict[str, dict[str, Any]]],
) -> tuple[int, int, int]:
    """One draw's AUCs appended to ``rows`` (aucs, extra); returns (held-out edges, train
    edges, likes dropped for the rating models and Explore's similarity)."""
    aucs, extra = rows
    split = hold_out_edges(full, HOLD_OUT, seed=draw)
    positives, uniform, by_degree = draw_pairs(full, split, seed=draw)

    def add(name: str, by: str, score: Callable[[np.ndarray], np.ndarray], seconds: Any) -> None:
        if seconds is not None:
            extra.setdefault(name, {"fit s": seconds})
        aucs.setdefault((name, by), []).append(auc_pair(score, positives, uniform, by_degree))

    for name, score in heuristic_scorers(split.train, full.likes).items():
        add(name, "baseline", score, None)
    if ctx.models is None or "graph" in ctx.models:
        scorers = graph_model_scorers(split.train, ctx.ratings, replace(cfg, seed=draw), ctx.device)
        for name, (score, seconds) in scorers.items():
            add(name, OURS, score, seconds)
    clean, dropped = leak_free_ratings(ctx.ratings, positives, ctx.threshold, seed=draw)
    for name, (score, seconds) in explore_scorers(clean).items():
        add(name, OURS if name == EXPLORE_ROW else "baseline", score, seconds)
    for name in rating_models:
        model = create(name, device=ctx.device, **{**ctx.params(name), "seed": draw})
        fit_s = timed_fit(model, clean)
        vectors = model.item_vectors()
        if vectors is not None:
            add(name, OURS, vector_scorer(np.asarray(vectors)), fit_s)
    return len(positives), split.train.n_edges, dropped


def run_graph_a(
    ctx: BenchContext, draws: int, rating_models: list[str], notes: list[str]
) -> pd.DataFrame:
    """The Graph-A table (see the module docstring); appends what it did to ``notes``. The
    graph model's rows only when ``ctx.models`` is None or names it (its two embeddings take
    most of the protocol's time)."""
    cfg = replace(GraphConfig(), **ctx.params("graph"))
    full = co_like_graph(ctx.ratings, cfg.like_threshold, cfg.min_count, cfg.top_k, cfg.weighting)
    aucs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    extra: dict[str, dict[str, Any]] = {}
    progress = ctx.progress_factory("Graph-A")
    counts: list[tuple[int, int, int]] = []
    for draw in range(draws):
        progress(draw, draws, f"draw {draw}")
        counts.append(_score_draw(ctx, cfg, full, draw, rating_models, (aucs, extra)))
    progress(draws, draws, "done")
    held, train_edges, dropped = (int(np.mean(c)) for c in zip(*counts, strict=True))
    notes.append(
        f"Graph-A: the default co-like graph on all ratings has {full.n_edges:,} edges over "
        f"{int((full.degree() > 0).sum()):,} films; each draw holds out {held:,} edges "
        f"(33 % drawn, minus those that would strand a film), trains on {train_edges:,}, and "
        f"scores them against as many uniform and as many degree-corrected non-edges; "
        f"{draws} draws (seeds 0–{draws - 1}). Rating models and the co-watching rows "
        f"(Explore's similarity, the plain cosine) see all ratings minus {dropped:,} likes "
        f"({dropped / len(ctx.ratings):.1%} of ratings), one per person per held-out edge "
        "whose two films they both liked."
    )
    return pd.DataFrame(interval_rows(aucs, extra))


__all__ = [
    "EdgeSplit",
    "draw_pairs",
    "hold_out_edges",
    "leak_free_ratings",
    "remove_edges",
    "run_graph_a",
]
