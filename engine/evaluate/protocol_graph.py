"""Protocol Graph: film-pair link prediction, Graph-A (edge hold-out) and Graph-B (new edges).

- **Graph-A** (``protocol_graph_a``) is the design of the graph model's source,
  recsys-nlp-graph (Eugene Yan): held-out edges of the graph the model walks on, against random
  non-edges, scored by the cosine of the two films' vectors, ROC AUC.
- **Graph-B** (``protocol_graph_b``) puts the graph model next to the rating models on
  protocol R's split: edges that the test ratings add to the co-like graph.

Both score against two kinds of negatives, uniform (the source's) and degree-corrected
(Aiyappa et al., arXiv 2405.14985), and list the graph heuristics and popularity next to the
models, which the source does not: its reported 0.95–0.98 AUC (Amazon product pairs, uniform
negatives) has no baseline to read it against. The pairs of the earlier version of this
protocol (film pairs nobody co-liked in train, first co-liked in test) are dropped: none of them
can be an edge of the graph the model is built on.
"""

from __future__ import annotations

import time

from engine.evaluate.protocol_graph_a import DEFAULT_RATING_MODELS, run_graph_a
from engine.evaluate.protocol_graph_b import run_graph_b
from engine.evaluate.report import BenchContext, ProtocolResult
from engine.models import REGISTRY, model_class

TITLE = "film-pair link prediction AUC (Graph-A: edge hold-out; Graph-B: new edges on R's split)"
DRAWS = 3
QUICK_DRAWS = 2
SOURCE_NOTE = (
    "The source (recsys-nlp-graph, src/prep/train_val_split.py) holds out 33 % of its Amazon "
    "product graph's edges before the walks; its negatives are pairs of products drawn uniformly "
    "among those in the held-out edges, never an edge; its score is the cosine of the centre "
    "embeddings, AUC by sklearn. Its readme reports 0.955 (Electronics) and 0.978 (Books) for "
    "its PyTorch skip-gram on all held-out pairs, and 0.986 (Electronics) on pairs of products "
    "seen in training, which is Graph-A's setting (every positive's films keep an edge in "
    "train); side information gave no result there, and no popularity, degree or heuristic "
    "baseline is reported."
)
B_CAPTION = "Graph-B: new co-like edges on protocol R's split, every model with film vectors"


def _vector_models(
    ctx: BenchContext, default: tuple[str, ...] | None
) -> tuple[list[str], list[str]]:
    """Models with film vectors to fit: those asked for, or ``default`` (None: all of them)."""
    asked = list(ctx.models) if ctx.models is not None else list(default or REGISTRY)
    names, notes = [], []
    for name in asked:
        if name not in REGISTRY:
            notes.append(f"{name}: not a registered model")
        elif "item_vectors" not in model_class(name).capabilities:
            notes.append(f"{name}: skipped here, it has no film vectors")
        else:
            names.append(name)
    return names, notes


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    draws = QUICK_DRAWS if ctx.quick else DRAWS
    rating_a, notes = _vector_models(ctx, DEFAULT_RATING_MODELS)
    rating_a = [m for m in rating_a if m != "graph"]
    models_b, _ = _vector_models(ctx, None)
    table_a = run_graph_a(ctx, draws, rating_a, notes)
    table_b = run_graph_b(ctx, draws, models_b, notes)
    notes.append(SOURCE_NOTE)
    return ProtocolResult(
        "Graph",
        TITLE,
        table_a,
        notes,
        time.perf_counter() - start,
        extra_tables={B_CAPTION: table_b},
    )


__all__ = ["run"]
