"""Protocol Graph-B: new edges on protocol R's split, to compare the graph model with rating models.

Every model here fits on the same training ratings (protocol R's split: per person ⌊n/5⌋
ratings to test, ``default_rng(0)``), so the graph model and the rating models are judged on
equal terms:

- **Positives**: edges of the default co-like graph on *all* ratings that the co-like graph on
  the *training* ratings lacks, both films on the training graph (every row then scores films
  the graph model ranks): links that the test ratings create or strengthen past the graph's
  pruning.
- **Negatives**: as many pairs that are an edge of neither graph, uniform over the training
  graph's films, and degree-corrected (``engine.evaluate.graph_pairs``).
- **Rows**: every model with film vectors (cosine); the graph model embedded on the training
  graph exactly as its ``fit`` does, with and without side information, each also scored by
  skip-gram's centre·context product; Explore's similarity (co-watched, damped, × genre
  overlap) and the plain cosine of co-watching, counted from the training ratings; and the
  heuristics on the training graph.
- **Draws**: the split and the fits are fixed (seed 0, as protocol R); each draw (seed 0, 1, …)
  resamples the positives with replacement and redraws the negatives, so the 95 % half-width is
  the pair-sampling uncertainty, not the fit's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from engine.data.film_graph import FilmGraph, co_like_graph
from engine.data.splits import split_r
from engine.evaluate import graph_pairs as gp
from engine.evaluate.report import OURS, BenchContext, timed_fit
from engine.models import create
from engine.models.graph_embedding import GraphConfig


def new_edges(full: FilmGraph, train: FilmGraph) -> np.ndarray:
    """Edges [m, 2] (i < j) of ``full`` that ``train`` lacks, both films with a ``train`` edge."""
    n = full.n_films
    edges = gp.edge_pairs(full)
    fresh = edges[~np.isin(gp.pair_keys(edges, n), gp.pair_keys(gp.edge_pairs(train), n))]
    on = train.degree() > 0
    return fresh[on[fresh[:, 0]] & on[fresh[:, 1]]]


def _graphs(ctx: BenchContext) -> tuple[FilmGraph, FilmGraph, Any]:
    cfg = GraphConfig()
    train, _ = split_r(ctx.ratings)

    def build(ratings: Any) -> FilmGraph:
        return co_like_graph(ratings, cfg.like_threshold, cfg.min_count, cfg.top_k, cfg.weighting)

    return build(ctx.ratings), build(train), train


def run_graph_b(ctx: BenchContext, draws: int, models: list[str], notes: list[str]) -> pd.DataFrame:
    """The Graph-B table (see the module docstring); appends what it did to ``notes``."""
    full, graph, train = _graphs(ctx)
    positives = new_edges(full, graph)
    degree = graph.degree()
    forbidden = np.concatenate(
        [
            gp.pair_keys(gp.edge_pairs(full), full.n_films),
            gp.pair_keys(gp.edge_pairs(graph), full.n_films),
        ]
    )
    pair_sets = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        pos = positives[rng.integers(0, len(positives), len(positives))]
        pair_sets.append((pos, *gp.both_negatives(degree, len(pos), forbidden, full.n_films, rng)))
    scorers: list[tuple[str, str, Any]] = [
        (name, "baseline", score)
        for name, score in gp.heuristic_scorers(graph, graph.likes).items()
    ]
    extra: dict[str, dict[str, Any]] = {}
    progress = ctx.progress_factory("Graph-B")
    cfg = replace(GraphConfig(), **ctx.params("graph"))
    if "graph" in models:
        for label, (score, seconds) in gp.graph_model_scorers(
            graph, train, cfg, ctx.device
        ).items():
            extra[label] = {"fit s": seconds}
            scorers.append((label, OURS, score))
    for label, (score, seconds) in gp.explore_scorers(train).items():
        extra[label] = {"fit s": seconds}
        scorers.append((label, OURS if label == gp.EXPLORE_ROW else "baseline", score))
    runs = [m for m in models if m != "graph"]
    for done, name in enumerate(runs):
        progress(done, len(runs), name)
        model = create(name, device=ctx.device, **ctx.params(name))
        extra[name] = {"fit s": timed_fit(model, train)}
        vectors = model.item_vectors()
        if vectors is not None:
            scorers.append((name, OURS, gp.vector_scorer(np.asarray(vectors))))
    progress(len(runs), len(runs), "done")
    aucs = {
        (name, by): [gp.auc_pair(score, *pairs) for pairs in pair_sets]
        for name, by, score in scorers
    }
    notes.append(
        f"Graph-B: protocol R's split (default_rng(0)); {len(positives):,} positives, the edges "
        f"of the default co-like graph on all ratings ({full.n_edges:,} edges) missing from the "
        f"one on training ratings ({graph.n_edges:,} edges over {int((degree > 0).sum()):,} films), both "
        "films on the training graph; as many uniform and as many degree-corrected pairs that "
        f"are an edge of neither; {draws} draws (seeds 0–{draws - 1}) resample the positives and "
        "redraw the negatives, fits fixed."
    )
    return pd.DataFrame(gp.interval_rows(aucs, extra))


__all__ = ["new_edges", "run_graph_b"]
