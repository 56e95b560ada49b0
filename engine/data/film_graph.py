"""The film–film co-rating graph: two films are linked when the same people liked both.

How edges are weighted and pruned, and why:

- **Co-likes, not co-ratings.** A pair counts when one person rated *both* films at least
  ``like_threshold`` stars (4 by default, what protocol R calls relevant). Two films rated by the
  same person, one loved and one hated, say little about each other being alike.
- **min_count.** A pair needs at least ``min_count`` co-likers (2): one person's eclectic taste
  links anything to anything, and on MovieLens most single co-likes are that noise.
- **Cosine weight** c_ij / √(n_i n_j) (n_i: people who liked film i). Raw counts link every film
  to the blockbusters (a walk on them collapses into a few hubs); cosine divides popularity out
  and stays bounded in [0, 1]. PMI, log(c_ij N / n_i n_j), is the other common choice but it
  rewards pairs of rare films whose two co-likers are chance, so it is offered, not the default
  (``weighting``: "cosine", "jaccard", "pmi" (positive part), "count").
- **Top-k neighbours per film** (``top_k`` = 30): bounded degree keeps the graph and every walk
  step small whatever the catalogue size, and drops the long tail of weak links. An edge is kept
  when *either* end keeps it (the union), so the graph stays undirected.

The co-like counts XᵀX (X: people × films, 1 for a like) are computed in blocks of films, each
block pruned to its top-k before the next, so memory follows the pruned graph, not the dense
film × film matrix (at MovieLens-25M size, 59k² cells). scipy.sparse does the products;
networkx is used for what it is good at (``to_networkx`` for drawing a neighbourhood), not to
hold the graph the walks run on: the source (recsys-nlp-graph) notes networkx-based node2vec
ran out of memory on its large graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import networkx as nx
import numpy as np
import scipy.sparse as sp

from engine.data.ratings import Ratings

Weighting = Literal["cosine", "jaccard", "pmi", "count"]
WEIGHTINGS: tuple[Weighting, ...] = ("cosine", "jaccard", "pmi", "count")


@dataclass(frozen=True)
class FilmGraph:
    """An undirected weighted film graph in CSR form (each edge stored in both rows).

    ``indptr``/``indices``/``weights`` are the CSR arrays (row r's neighbours are
    ``indices[indptr[r]:indptr[r + 1]]``, sorted), ``likes`` how many people liked each film.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    likes: np.ndarray

    @property
    def n_films(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_edges(self) -> int:
        """Undirected edges (each stored twice)."""
        return len(self.indices) // 2

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def neighbours(self, film: int) -> tuple[np.ndarray, np.ndarray]:
        """(films, weights) linked to ``film``."""
        lo, hi = self.indptr[film], self.indptr[film + 1]
        return self.indices[lo:hi], self.weights[lo:hi]

    def csr(self) -> sp.csr_matrix:
        n = self.n_films
        return sp.csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))

    def to_networkx(self, films: np.ndarray | None = None) -> nx.Graph:
        """The graph (or the part induced by ``films``) as networkx, for drawing and analysis."""
        matrix = self.csr()
        if films is not None:
            films = np.asarray(films, dtype=np.int64)
            matrix = cast(sp.csr_matrix, matrix[films][:, films])
        graph = nx.from_scipy_sparse_array(matrix)
        if films is not None:
            graph = nx.relabel_nodes(graph, dict(enumerate(films.tolist())))
        return graph


def like_matrix(ratings: Ratings, like_threshold: float) -> sp.csr_matrix:
    """people × films CSR, 1 where the person rated the film at least ``like_threshold``."""
    liked = ratings.values >= like_threshold
    shape = (ratings.n_users, ratings.n_items)
    ones = np.ones(int(liked.sum()), np.float32)
    return sp.csr_matrix((ones, (ratings.users[liked], ratings.items[liked])), shape=shape)


def edge_weights(
    counts: np.ndarray, likes_i: np.ndarray, likes_j: np.ndarray, n_people: int, how: Weighting
) -> np.ndarray:
    """The weight of each pair from its co-like count and the two films' like counts."""
    c = counts.astype(np.float64)
    a, b = likes_i.astype(np.float64), likes_j.astype(np.float64)
    if how == "cosine":
        return c / np.sqrt(a * b)
    if how == "jaccard":
        return c / (a + b - c)
    if how == "pmi":
        return np.maximum(np.log(c * max(n_people, 1) / (a * b)), 0.0)
    if how == "count":
        return c
    raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {how!r}")


def _top_k_rows(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` heaviest entries of each row (ties: the lower film index first)."""
    order = np.lexsort((cols, -weights, rows))
    sorted_rows = rows[order]
    starts = np.searchsorted(sorted_rows, sorted_rows, side="left")
    rank = np.arange(len(order)) - starts
    keep = np.zeros(len(rows), dtype=bool)
    keep[order[rank < k]] = True
    return keep


def co_like_graph(
    ratings: Ratings,
    like_threshold: float = 4.0,
    min_count: int = 2,
    top_k: int = 30,
    weighting: Weighting = "cosine",
    block: int = 2048,
) -> FilmGraph:
    """The pruned, weighted co-like graph of ``ratings`` (see the module docstring)."""
    if min_count < 1 or top_k < 1 or block < 1:
        raise ValueError("min_count, top_k and block must be at least 1")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    likes_by_person = like_matrix(ratings, like_threshold)
    by_film = likes_by_person.T.tocsr()
    likes = np.asarray(by_film.sum(axis=1)).ravel()
    n_people = int((np.diff(likes_by_person.indptr) > 0).sum())
    n = ratings.n_items
    kept_rows: list[np.ndarray] = []
    kept_cols: list[np.ndarray] = []
    kept_weights: list[np.ndarray] = []
    for start in range(0, n, block):
        counts = cast(sp.coo_matrix, (by_film[start : start + block] @ likes_by_person).tocoo())
        rows = counts.row.astype(np.int64) + start
        cols = counts.col.astype(np.int64)
        c = counts.data
        mask = (rows != cols) & (c >= min_count)
        rows, cols, c = rows[mask], cols[mask], c[mask]
        w = edge_weights(c, likes[rows], likes[cols], n_people, weighting)
        mask = w > 0
        rows, cols, w = rows[mask], cols[mask], w[mask]
        keep = _top_k_rows(rows, cols, w, top_k)
        kept_rows.append(rows[keep])
        kept_cols.append(cols[keep])
        kept_weights.append(w[keep])
    rows = np.concatenate(kept_rows) if kept_rows else np.empty(0, np.int64)
    cols = np.concatenate(kept_cols) if kept_cols else np.empty(0, np.int64)
    w = np.concatenate(kept_weights) if kept_weights else np.empty(0)
    pruned = sp.csr_matrix((w, (rows, cols)), shape=(n, n))
    union = cast(sp.csr_matrix, pruned.maximum(pruned.T).tocsr())  # weights are symmetric
    union.sort_indices()
    return FilmGraph(
        indptr=union.indptr.astype(np.int64),
        indices=union.indices.astype(np.int32),
        weights=union.data.astype(np.float32),
        likes=likes.astype(np.int64),
    )


__all__ = ["WEIGHTINGS", "FilmGraph", "Weighting", "co_like_graph", "edge_weights", "like_matrix"]
