"""Shared helper for the film-graph tests (film_graph, graph_pairs)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.data.film_graph import FilmGraph


def dense_film_graph(dense: np.ndarray) -> FilmGraph:
    """A FilmGraph from a symmetric weight matrix written out by hand."""
    matrix = sp.csr_matrix(dense)
    matrix.sort_indices()
    return FilmGraph(
        matrix.indptr.astype(np.int64),
        matrix.indices.astype(np.int32),
        matrix.data.astype(np.float32),
        np.ones(len(dense), np.int64),
    )
