"""Film-pair link prediction, shared by protocols Graph-A and Graph-B: pairs, negatives, scores.

- **Negatives** are pairs of distinct films that are never an edge, drawn two ways:
  *uniform* over the films of the train graph (the source's, recsys-nlp-graph), and
  *degree-corrected*, both ends drawn in proportion to their train-graph degree, so that a
  negative's ends are as well connected as a positive's (Aiyappa et al., "Implicit degree bias
  in the link prediction task", arXiv 2405.14985: uniform negatives reward any score that
  follows degree, which is why preferential attachment looks good under them).
- **Heuristics** on the train graph, unweighted, as defined by Liben-Nowell & Kleinberg (2007):
  common neighbours |Γ(i) ∩ Γ(j)|, Adamic–Adar Σ_{z ∈ Γ(i) ∩ Γ(j)} 1 / log |Γ(z)|, preferential
  attachment |Γ(i)|·|Γ(j)|. They are computed with scipy.sparse row products for all pairs at
  once, rather than with networkx's per-pair generators (``adamic_adar_index``...), which take
  minutes for the tens of thousands of pairs here; the tests check both agree.
- **AUC**: P(a positive outscores a negative), ties ½ (sklearn's ``roc_auc_score``, which the
  source uses, computes the same); **intervals**: Student-t 95 % over seeded draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
import torch
from scipy.stats import rankdata
from scipy.stats import t as student_t

from engine.data.film_graph import FilmGraph
from engine.data.ratings import Ratings
from engine.models.graph_embedding import GraphConfig, embed_graph
from engine.similarity import COWATCH_BETA, COWATCH_SHRINK, GENRE_WEIGHT, CoWatch

#: Explore's film similarity ("Watched by the same people", its graph and list) as a row label.
EXPLORE_ROW = (
    f"co-watched, damped (β {COWATCH_BETA:g}, shrink {COWATCH_SHRINK:g}) × "
    f"(1 + {GENRE_WEIGHT:g}·genre overlap): Explore's"
)
COWATCH_COSINE_ROW = "co-watched, cosine (β 0.5)"


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting ½ (the Mann–Whitney U statistic)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positive, negative]))
    u = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(u / (len(positive) * len(negative)))


def t_interval(values: np.ndarray | list[float]) -> tuple[float, float]:
    """(mean, half-width of the Student-t 95 % interval of the mean); half-width NaN for one."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return float(v.mean()) if len(v) else float("nan"), float("nan")
    half = student_t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(half)


def pair_cosines(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine of the two films' vectors for every pair (a zero vector: cosine 0)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1)
    norms[norms == 0] = 1.0
    unit = v / norms[:, None]
    return (unit[pairs[:, 0]] * unit[pairs[:, 1]]).sum(1)


def edge_pairs(graph: FilmGraph) -> np.ndarray:
    """Every undirected edge once, [m, 2] with i < j, in row order."""
    rows = np.repeat(np.arange(graph.n_films, dtype=np.int64), graph.degree())
    cols = graph.indices.astype(np.int64)
    upper = rows < cols
    return np.stack([rows[upper], cols[upper]], axis=1)


def pair_keys(pairs: np.ndarray, n_films: int) -> np.ndarray:
    """One integer per unordered pair (min · n + max), for set operations on pairs."""
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    return lo.astype(np.int64) * n_films + hi.astype(np.int64)


def draw_negatives(
    films: np.ndarray,
    weights: np.ndarray | None,
    n: int,
    forbidden: np.ndarray,
    n_films: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n`` distinct pairs [n, 2] (i < j) of distinct ``films``, each end drawn with
    probability ∝ ``weights`` (None: uniformly), none of whose keys is in ``forbidden``."""
    films = np.asarray(films, dtype=np.int64)
    if n <= 0 or len(films) < 2:
        return np.empty((0, 2), np.int64)
    p = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
    forbidden = np.unique(forbidden)
    found = np.empty((0, 2), np.int64)
    for _ in range(100):  # a graph this sparse leaves almost every draw a non-edge
        draw = rng.choice(films, size=(2 * (n - len(found)) + 16, 2), p=p)
        draw = np.sort(draw, axis=1)
        draw = draw[draw[:, 0] != draw[:, 1]]
        draw = draw[~np.isin(pair_keys(draw, n_films), forbidden)]
        merged = np.concatenate([found, draw])
        _, first = np.unique(pair_keys(merged, n_films), return_index=True)
        found = merged[np.sort(first)][:n]
        if len(found) >= n:
            break
    return found


def both_negatives(
    degree: np.ndarray, n: int, forbidden: np.ndarray, n_films: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(uniform, degree-corrected) negatives: ``n`` pairs each over the films with a train-graph
    edge (``degree`` > 0), uniform first, from the one ``rng``, as every protocol draws them."""
    films = np.flatnonzero(degree > 0)
    uniform = draw_negatives(films, None, n, forbidden, n_films, rng)
    by_degree = draw_negatives(films, degree[films], n, forbidden, n_films, rng)
    return uniform, by_degree


def binary_adjacency(graph: FilmGraph) -> sp.csr_matrix:
    """The graph's 0/1 adjacency (weights dropped: the heuristics are defined unweighted)."""
    n = graph.n_films
    ones = np.ones(len(graph.indices), dtype=np.float64)
    return sp.csr_matrix((ones, graph.indices, graph.indptr), shape=(n, n))


def _row_products(left: sp.csr_matrix, right: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """Σ_z left[i, z] · right[j, z] for every pair (i, j)."""
    if len(pairs) == 0:
        return np.empty(0)
    a = cast(sp.csr_matrix, left[pairs[:, 0]])
    b = cast(sp.csr_matrix, right[pairs[:, 1]])
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def common_neighbours(adjacency: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """|Γ(i) ∩ Γ(j)| for every pair."""
    return _row_products(adjacency, adjacency, pairs)


def adamic_adar(adjacency: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """Σ over common neighbours z of 1 / log |Γ(z)| (a common neighbour has degree ≥ 2)."""
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    inverse_log = np.where(degree > 1, 1.0 / np.log(np.maximum(degree, 2.0)), 0.0)
    weighted = cast(sp.csr_matrix, adjacency @ sp.diags(inverse_log)).tocsr()
    return _row_products(adjacency, weighted, pairs)


def preferential_attachment(degree: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """|Γ(i)| · |Γ(j)| for every pair."""
    d = np.asarray(degree, dtype=np.float64)
    return d[pairs[:, 0]] * d[pairs[:, 1]] if len(pairs) else np.empty(0)


def heuristic_scorers(
    graph: FilmGraph, likes: np.ndarray
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Row name -> pair scorer, for the heuristics on ``graph`` and the popularity baseline
    (log(1 + likes_i) + log(1 + likes_j), ``likes``: people who liked each film)."""
    adjacency = binary_adjacency(graph)
    degree = graph.degree()
    popularity = np.log1p(np.asarray(likes, dtype=np.float64))
    return {
        "Adamic–Adar (train graph)": lambda pairs: adamic_adar(adjacency, pairs),
        "common neighbours (train graph)": lambda pairs: common_neighbours(adjacency, pairs),
        "preferential attachment (degree × degree)": lambda pairs: preferential_attachment(
            degree, pairs
        ),
        "popularity (log likes_i + log likes_j)": lambda pairs: popularity[pairs].sum(1),
    }


def vector_scorer(vectors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The cosine of the two films' vectors, the source's score."""
    return lambda pairs: pair_cosines(vectors, pairs)


def explore_scorers(
    ratings: Ratings,
) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]]:
    """Row name -> (pair scorer, seconds to build) for Explore's similarity and the plain cosine
    of co-watching, both from ``ratings`` (``CoWatch.pair_scores``: the mean of a pair's two
    directions). They need no fit; a protocol hands them the ratings its rating models fit on,
    so they see no more than those do."""
    rows: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {}
    for name, beta, shrink, weight in (
        (EXPLORE_ROW, COWATCH_BETA, COWATCH_SHRINK, GENRE_WEIGHT),
        (COWATCH_COSINE_ROW, 0.5, 0.0, 0.0),
    ):
        began = time.perf_counter()
        cowatch = CoWatch.build(ratings, beta=beta, shrink=shrink, genre_weight=weight)
        rows[name] = (cowatch.pair_scores, time.perf_counter() - began)
    return rows


def context_scorer(centre: np.ndarray, context: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """½(h_i·v_j + h_j·v_i), centre vectors h and skip-gram context vectors v: what skip-gram is
    trained to predict (film j near film i on a walk), made symmetric."""
    h, v = np.asarray(centre, np.float64), np.asarray(context, np.float64)

    def score(pairs: np.ndarray) -> np.ndarray:
        i, j = pairs[:, 0], pairs[:, 1]
        return 0.5 * ((h[i] * v[j]).sum(1) + (h[j] * v[i]).sum(1))

    return score


def graph_scorers(
    graph: FilmGraph, catalogue: Ratings, cfg: GraphConfig, device: torch.device | str
) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]]:
    """Row name -> (pair scorer, seconds to embed) for the graph model embedded on ``graph``:
    the cosine of its film vectors (the source's score, and what the app ranks with) and the
    skip-gram's own centre·context product (``context_scorer``)."""
    began = time.perf_counter()
    embedded = embed_graph(graph, catalogue, cfg, device)
    seconds = time.perf_counter() - began
    label = "side information" if cfg.side_info else "no side information"
    centre, context = embedded.centre.cpu().numpy(), embedded.context.cpu().numpy()
    return {
        f"graph ({label}), cosine": (vector_scorer(centre), seconds),
        f"graph ({label}), centre·context": (context_scorer(centre, context), seconds),
    }


def graph_model_scorers(
    graph: FilmGraph, catalogue: Ratings, cfg: GraphConfig, device: torch.device | str
) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]]:
    """``graph_scorers`` with side information, then without (``cfg`` otherwise as given): the
    graph model's rows in both protocols."""
    rows: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {}
    for side in (True, False):
        rows.update(graph_scorers(graph, catalogue, replace(cfg, side_info=side), device))
    return rows


def auc_pair(
    score: Callable[[np.ndarray], np.ndarray],
    positives: np.ndarray,
    uniform: np.ndarray,
    degree: np.ndarray,
) -> tuple[float, float]:
    """AUC of ``score`` against uniform and against degree-corrected negatives."""
    pos = score(positives)
    return roc_auc(pos, score(uniform)), roc_auc(pos, score(degree))


def interval_rows(
    aucs: dict[tuple[str, str], list[tuple[float, float]]], extra: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One table row per (model, by): mean AUC and 95 % half-width for both negative kinds over
    the draws, plus ``extra[model]`` (e.g. positives, fit seconds)."""
    rows = []
    for (name, by), draws in aucs.items():
        values = np.asarray(draws, dtype=np.float64).reshape(-1, 2)
        uniform, uniform_half = t_interval(values[:, 0])
        degree, degree_half = t_interval(values[:, 1])
        rows.append(
            {
                "model": name,
                "by": by,
                "AUC, uniform negatives": uniform,
                "± (uniform)": uniform_half,
                "AUC, degree-corrected negatives": degree,
                "± (degree)": degree_half,
                "draws": len(values),
                **extra.get(name, {}),
            }
        )
    return rows


__all__ = [
    "COWATCH_COSINE_ROW",
    "EXPLORE_ROW",
    "adamic_adar",
    "auc_pair",
    "binary_adjacency",
    "both_negatives",
    "common_neighbours",
    "context_scorer",
    "draw_negatives",
    "edge_pairs",
    "explore_scorers",
    "graph_model_scorers",
    "graph_scorers",
    "heuristic_scorers",
    "interval_rows",
    "pair_cosines",
    "pair_keys",
    "preferential_attachment",
    "roc_auc",
    "t_interval",
    "vector_scorer",
]
