"""The graph model's walk and skip-gram settings, chosen on a validation hold-out of Graph-A's
train graph (never on its test edges).

``python -m engine.evaluate.graph_search [--data PATH] [--configs NAME,...]``: build the default
co-like graph on all ratings, hold out Graph-A's first draw of test edges (seed 0), then hold
out a further 33 % of the *train* graph's edges (seed 1000) as validation edges; embed the rest
with each candidate setting and print the validation AUC against uniform and degree-corrected
non-edges, next to Adamic–Adar on the same inner graph. The figures go to docs/BENCHMARKS.md's
Graph section with this command.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np

from engine.data.film_graph import FilmGraph, co_like_graph
from engine.data.movielens import load_named
from engine.data.ratings import Ratings
from engine.evaluate.graph_pairs import auc_pair, context_scorer, heuristic_scorers, vector_scorer
from engine.evaluate.protocol_graph_a import EdgeSplit, draw_pairs, hold_out_edges
from engine.models.graph_embedding import GraphConfig, embed_graph

VALIDATION_SEED = 1000
# Candidates: the source's walk settings and cheaper or more local/global variants of them.
CANDIDATES: dict[str, dict[str, Any]] = {
    "source": {},  # 10 walks × 10 films, window 5, 5 epochs
    "epochs1": {"epochs": 1},
    "window2": {"window": 2, "epochs": 2},
    "window2-q2": {"window": 2, "q": 2.0, "epochs": 2},  # node2vec, stays local
    "q0.5": {"q": 0.5, "epochs": 2},  # node2vec, moves outward
    "unweighted": {"epochs": 2, "walk_weights": "uniform"},
    "long": {"walks_per_film": 20, "walk_length": 20, "epochs": 1},
}


def validation_split(ratings: Ratings) -> tuple[FilmGraph, EdgeSplit, tuple[np.ndarray, ...]]:
    """(Graph-A's train graph for draw 0, its validation split, validation pairs)."""
    cfg = GraphConfig()
    full = co_like_graph(ratings, cfg.like_threshold, cfg.min_count, cfg.top_k, cfg.weighting)
    outer = hold_out_edges(full, 0.33, seed=0)
    inner = hold_out_edges(outer.train, 0.33, seed=VALIDATION_SEED)
    return outer.train, inner, draw_pairs(outer.train, inner, seed=VALIDATION_SEED)


def search(ratings: Ratings, names: list[str], side_info: bool = False) -> list[tuple[Any, ...]]:
    """(setting, score, validation AUC uniform, degree-corrected, seconds) per candidate and
    score (centre cosine, the source's; centre·context); Adamic–Adar's row first."""
    train, inner, pairs = validation_split(ratings)
    aa = heuristic_scorers(inner.train, train.likes)["Adamic–Adar (train graph)"]
    rows: list[tuple[Any, ...]] = [("Adamic–Adar", "", *auc_pair(aa, *pairs), 0.0)]
    print(rows[-1], flush=True)
    for name in names:
        began = time.perf_counter()
        cfg = replace(GraphConfig(), side_info=side_info, **CANDIDATES[name])
        embedded = embed_graph(inner.train, ratings, cfg)
        seconds = time.perf_counter() - began
        cosine = vector_scorer(embedded.centre.numpy())
        rows.append((name, "cosine", *auc_pair(cosine, *pairs), seconds))
        print(rows[-1], flush=True)
        product = context_scorer(embedded.centre.numpy(), embedded.context.numpy())
        rows.append((name, "centre·context", *auc_pair(product, *pairs), seconds))
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--data", help='a MovieLens folder or "synthetic" (default: the embedded sample)'
    )
    parser.add_argument("--configs", help="comma-separated candidate names (default: all)")
    parser.add_argument("--side-info", action="store_true", help="EGES side information on")
    args = parser.parse_args(argv)

    ratings = load_named(args.data)
    names = args.configs.split(",") if args.configs else list(CANDIDATES)
    search(ratings, names, args.side_info)


if __name__ == "__main__":
    main()
