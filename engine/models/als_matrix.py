"""ALS's confidence matrix as the solvers read it: c − 1 per rating in CSR form, both ways round.

``weight_matrix`` builds the users × films CSR (sharing the ratings' own arrays where it can: at
25M ratings a copy is the difference between fitting and not); ``Side`` wraps one orientation
for the two sparse kernels the conjugate-gradient solver is made of (``als_solvers``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from engine.data.ratings import Ratings
from engine.models.torch_typed import sampled_addmm, sparse_csr

Confidence = Literal["rating", "binary"]


@dataclass
class Side:
    """One orientation of the confidence matrix in CSR form; rows are the side being solved.

    ``scratch`` is a values buffer sharing ``crow``/``col`` with ``pattern``: SDDMM writes into it
    in place (no fresh nnz-sized output plus index copy per call, which cost 4× the kernel itself).
    Row chunks (``rows``) are views with a small scratch buffer of their own.
    """

    crow: torch.Tensor
    col: torch.Tensor
    weight: torch.Tensor  # c − 1 per stored cell
    scratch: torch.Tensor
    pattern: torch.Tensor  # CSR over (crow, col, scratch)
    n_rows: int
    n_cols: int

    @classmethod
    def build(cls, matrix: sp.csr_matrix, device: torch.device, scratch: bool = True) -> Side:
        """Wrap ``matrix`` (shared, not copied, on CPU). ``scratch=False`` skips the nnz-sized
        SDDMM buffer: ``cg_update`` then gives each row chunk a small buffer of its own."""
        if not matrix.has_sorted_indices:
            matrix.sort_indices()
        # int32 indices when they fit: half the memory of int64, and both kernels accept them
        dtype = np.int32 if matrix.nnz < 2**31 and max(matrix.shape) < 2**31 else np.int64
        crow = torch.as_tensor(np.asarray(matrix.indptr, dtype=dtype)).to(device)
        with warnings.catch_warnings():  # shared read-only Ratings.items: the kernels only read it
            warnings.simplefilter("ignore", UserWarning)
            col = torch.as_tensor(np.asarray(matrix.indices, dtype=dtype)).to(device)
        weight = torch.as_tensor(np.asarray(matrix.data, dtype=np.float32)).to(device)
        buffer = torch.zeros_like(weight) if scratch else weight.new_zeros(0)
        return cls(
            crow=crow,
            col=col,
            weight=weight,
            scratch=buffer,
            pattern=_csr(crow, col, buffer, matrix.shape) if scratch else buffer,
            n_rows=matrix.shape[0],
            n_cols=matrix.shape[1],
        )

    def chunks(self, max_rows: int, max_nnz: int) -> list[tuple[int, int]]:
        """Row ranges with at most ``max_rows`` rows and ``max_nnz`` cells (a heavier single row
        makes its own chunk); ``max_rows <= 0`` means one chunk."""
        if max_rows <= 0:
            return [(0, self.n_rows)]
        indptr = np.asarray(self.crow.cpu().numpy(), dtype=np.int64)
        out: list[tuple[int, int]] = []
        start = 0
        while start < self.n_rows:
            stop = min(self.n_rows, start + max_rows)
            limit = int(indptr[start]) + max_nnz
            by_nnz = int(np.searchsorted(indptr, limit, side="right")) - 1
            stop = max(start + 1, min(stop, by_nnz))
            out.append((start, stop))
            start = stop
        return out

    def rows(self, start: int, stop: int) -> Side:
        """Rows ``start:stop`` as a side of their own with a fresh scratch buffer; the big arrays
        are views, not copies."""
        if start == 0 and stop == self.n_rows and len(self.scratch) == len(self.weight):
            return self
        crow = self.crow[start : stop + 1]
        first, last = int(crow[0]), int(crow[-1])
        crow = crow - crow[0]
        col = self.col[first:last]
        scratch = self.weight.new_zeros(last - first)
        return Side(
            crow=crow,
            col=col,
            weight=self.weight[first:last],
            scratch=scratch,
            pattern=_csr(crow, col, scratch, (stop - start, self.n_cols)),
            n_rows=stop - start,
            n_cols=self.n_cols,
        )

    def sddmm(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """rows[r]·cols[c] on every stored cell (r, c), in CSR order, into ``scratch``."""
        # beta = 0 still reads the old values (0·NaN = NaN), so they must be finite: zero them
        self.scratch.zero_()
        try:
            sampled_addmm(self.pattern, rows, cols.T, beta=0.0, out=self.pattern)
        except RuntimeError:  # a backend without in-place SDDMM: allocate
            out = sampled_addmm(self.pattern, rows, cols.T, beta=0.0)
            self.scratch.copy_(out.values())
        return self.scratch

    def spmm(self, values: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Σ_c values[r, c]·cols[c] per row: SpMM written as a weighted ``embedding_bag``, whose
        fused CPU kernel (FBGEMM) is ~6× faster than torch's CSR×dense matmul on CPU."""
        return F.embedding_bag(
            self.col,
            cols,
            self.crow,
            mode="sum",
            per_sample_weights=values,
            include_last_offset=True,
        )


def _csr(
    crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]
) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": we rely on one stable kernel
        warnings.simplefilter("ignore", UserWarning)
        return sparse_csr(crow, col, values, shape, check=False)


def confidence_weights(values: np.ndarray, alpha: float, confidence: Confidence) -> np.ndarray:
    """c − 1 per rating: alpha·stars, or alpha for binary feedback."""
    values = np.asarray(values, dtype=np.float32)
    if confidence == "rating":
        return (alpha * values).astype(np.float32)
    if confidence == "binary":
        return np.full(len(values), alpha, dtype=np.float32)
    raise ValueError(f"confidence must be 'rating' or 'binary', not {confidence!r}")


def _sorted_by_user_then_item(train: Ratings) -> bool:
    """Whether the rating arrays are already in CSR order (MovieLens files and the synthetic
    scale data are), checked in one vectorised pass without int64 temporaries."""
    u, i = train.users, train.items
    if len(u) < 2:
        return True
    return bool(np.all((u[1:] > u[:-1]) | ((u[1:] == u[:-1]) & (i[1:] > i[:-1]))))


def weight_matrix(train: Ratings, alpha: float, confidence: Confidence) -> sp.csr_matrix:
    """users × films CSR of c − 1 (duplicates summed, which well-formed Ratings never have).

    When the ratings are already sorted by (user, item), the CSR *shares* ``train.items`` as its
    column indices (read-only, never written) instead of copying 25M of them.
    """
    w = confidence_weights(train.values, alpha, confidence)
    shape = (train.n_users, train.n_items)
    if _sorted_by_user_then_item(train) and max(shape) < 2**31:
        indptr = np.zeros(train.n_users + 1, dtype=np.int32 if len(train) < 2**31 else np.int64)
        np.cumsum(np.bincount(train.users, minlength=train.n_users), out=indptr[1:])
        matrix = sp.csr_matrix(shape)
        # set the arrays directly: the constructor would copy the read-only index array (the
        # stubs type these attributes for int32 indices and float64 data; ours may differ)
        arrays = cast(Any, matrix)
        arrays.indptr, arrays.indices, arrays.data = indptr, train.items, w
        arrays.has_sorted_indices = True
        return matrix
    return sp.csr_matrix((w, (train.users, train.items)), shape=shape, dtype=np.float32)


__all__ = ["Confidence", "Side", "confidence_weights", "weight_matrix"]
