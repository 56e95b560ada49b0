"""Random walks over a ``FilmGraph``: uniform DeepWalk steps and node2vec's p/q-biased ones.

All walkers advance together, one vectorised numpy step at a time, straight on the CSR arrays:
no per-walk Python loop, no networkx (the source, recsys-nlp-graph, found networkx-based node2vec
ran out of memory on a 64 GB machine at Amazon size).

- A **first-order** step (DeepWalk on a weighted graph; Perozzi et al. 2014) moves from film v to
  neighbour x with probability w_vx / Σ w_v·: one uniform draw per walker, placed in v's slice of
  the global cumulative weights with ``searchsorted``.
- A **second-order** step (node2vec; Grover & Leskovec 2016) also looks at the previous film t:
  the weight w_vx is multiplied by 1/p when x = t (return), 1 when x is a neighbour of t, and
  1/q otherwise (explore outward). node2vec's reference code precomputes an alias table per
  *edge*, memory Σ_v deg(v)², which is what blows up on large graphs; here each walker draws a
  first-order proposal and accepts it with probability bias / max(bias) (rejection sampling, as
  KnightKing and PecanPy do), memory O(edges). "Is x a neighbour of t" is one ``searchsorted`` in
  the sorted edge keys t·n + x. Rejected walkers redraw until every one has moved.

Walks start from every film with at least one edge (``walks_per_film`` each); a film without
edges has nothing to walk to and no context to learn from (the EGES side information places it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engine.data.film_graph import FilmGraph


@dataclass(frozen=True)
class Walks:
    """``paths`` [n_walks, walk_length] film indices, and how long generating them took."""

    paths: np.ndarray
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.paths) / self.seconds if self.seconds > 0 else float("inf")


class _Sampler:
    """The CSR arrays prepared once for vectorised steps."""

    def __init__(self, graph: FilmGraph):
        self.indptr = graph.indptr
        self.indices = graph.indices.astype(np.int64)
        self.n = graph.n_films
        weights = graph.weights.astype(np.float64)
        self.cumulative = np.cumsum(weights)
        before = np.concatenate([[0.0], self.cumulative])
        self.row_start = before[self.indptr[:-1]]  # cumulative weight before each row
        self.row_total = before[self.indptr[1:]] - self.row_start
        rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
        self.keys = rows * self.n + self.indices  # sorted, since CSR rows and columns are

    def first_order(self, current: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One weighted step from each film in ``current`` (each must have an edge)."""
        target = self.row_start[current] + rng.random(len(current)) * self.row_total[current]
        position = np.searchsorted(self.cumulative, target, side="right")
        # float rounding can land one slot outside the row: clamp into it
        position = np.clip(position, self.indptr[current], self.indptr[current + 1] - 1)
        return self.indices[position]

    def linked(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether a[k]–b[k] is an edge, for every k."""
        if len(self.keys) == 0:
            return np.zeros(len(a), dtype=bool)
        wanted = a * self.n + b
        position = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        return self.keys[position] == wanted

    def second_order(
        self,
        previous: np.ndarray,
        current: np.ndarray,
        p: float,
        q: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """One node2vec step by rejection: propose first-order, accept with bias / max bias."""
        out = np.empty(len(current), dtype=np.int64)
        pending = np.arange(len(current))
        top = max(1.0 / p, 1.0, 1.0 / q)
        while len(pending):
            proposal = self.first_order(current[pending], rng)
            prev = previous[pending]
            bias = np.where(
                proposal == prev, 1.0 / p, np.where(self.linked(prev, proposal), 1.0, 1.0 / q)
            )
            accepted = rng.random(len(pending)) * top < bias
            out[pending[accepted]] = proposal[accepted]
            pending = pending[~accepted]
        return out


def random_walks(
    graph: FilmGraph,
    walks_per_film: int = 10,
    walk_length: int = 10,
    p: float = 1.0,
    q: float = 1.0,
    seed: int = 0,
) -> Walks:
    """``walks_per_film`` walks of ``walk_length`` films from every film with an edge, in a
    shuffled order; p = q = 1 is a (weighted) DeepWalk, otherwise node2vec's biased walk."""
    if walks_per_film < 1 or walk_length < 1:
        raise ValueError("walks_per_film and walk_length must be at least 1")
    if p <= 0 or q <= 0:
        raise ValueError(f"node2vec's p and q must be positive, got p={p}, q={q}")
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    sampler = _Sampler(graph)
    starts = np.flatnonzero(graph.degree() > 0)
    starts = rng.permutation(np.repeat(starts, walks_per_film))
    paths = np.empty((len(starts), walk_length), dtype=np.int64)
    if len(starts) == 0:
        return Walks(paths.astype(np.int32), time.perf_counter() - began)
    paths[:, 0] = starts
    biased = p != 1.0 or q != 1.0
    for step in range(1, walk_length):
        current = paths[:, step - 1]
        if step == 1 or not biased:
            paths[:, step] = sampler.first_order(current, rng)
        else:
            paths[:, step] = sampler.second_order(paths[:, step - 2], current, p, q, rng)
    return Walks(paths.astype(np.int32), time.perf_counter() - began)


__all__ = ["Walks", "random_walks"]
