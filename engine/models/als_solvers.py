"""ALS's solvers: every row's normal equations (YᵀY + λI + Yᵀ(Cᵤ − I)Y) xᵤ = Yᵀ Cᵤ pᵤ at once.

``cg_update`` runs a few warm-started conjugate-gradient steps for all rows with two sparse
kernels (``als_matrix.Side``; ``als``'s docstring says why this shape); ``exact_update`` solves
each row exactly in padded, degree-sorted batches (Cholesky), the reference; ``solve_one`` is
the single exact solve that fold-in uses.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from engine.models.als_matrix import Side
from engine.models.torch_typed import cholesky, solve


def gram(factors: torch.Tensor, regularization: float) -> torch.Tensor:
    """FᵀF + λI, the part of every normal equation shared by all rows."""
    k = factors.shape[1]
    eye = torch.eye(k, dtype=factors.dtype, device=factors.device)
    return factors.T @ factors + regularization * eye


def cg_update(
    side: Side,
    x: torch.Tensor,
    other: torch.Tensor,
    regularization: float,
    steps: int,
    chunk_rows: int = 0,
    chunk_nnz: int = 1 << 22,
) -> torch.Tensor:
    """``steps`` conjugate-gradient iterations on every row's normal equations, from ``x``.

    Matvec for all rows of a chunk at once: A p = p (FᵀF + λI) + SpMM(w ⊙ SDDMM(p, F), F),
    w = c − 1. Rows go in chunks of at most ``chunk_rows`` rows (0 = all at once) and
    ``chunk_nnz`` cells, so CG's half-dozen [rows, k] work tensors and the SDDMM buffer stay small
    next to the data (peak memory at 25M ratings: below implicit's). Returns new factors; ``x`` is not modified.
    """
    shared = gram(other, regularization)
    out = torch.empty_like(x)
    for start, stop in side.chunks(chunk_rows, chunk_nnz):
        out[start:stop] = _cg_rows(side.rows(start, stop), x[start:stop], other, shared, steps)
    return out


def _cg_rows(
    side: Side, x: torch.Tensor, other: torch.Tensor, shared: torch.Tensor, steps: int
) -> torch.Tensor:
    w = side.weight
    # r = b − A x, with b = Σ c·y folded into the same SDDMM/SpMM pass: Σ y·(c − w·(x·y)) − x·shared
    t = side.sddmm(x, other)
    t.mul_(w).neg_().add_(w).add_(1.0)
    r = side.spmm(t, other).addmm_(x, shared, alpha=-1.0)
    x = x.clone()
    p = r.clone()
    rs_old = (r * r).sum(1, keepdim=True)
    for _ in range(steps):
        t = side.sddmm(p, other).mul_(w)
        ap = side.spmm(t, other).addmm_(p, shared)
        denom = (p * ap).sum(1, keepdim=True)
        step = torch.where(denom > 0, rs_old / denom.clamp_min(1e-30), torch.zeros_like(denom))
        x.addcmul_(step, p)
        r.addcmul_(step, ap, value=-1.0)
        del ap
        rs_new = (r * r).sum(1, keepdim=True)
        beta = torch.where(rs_old > 0, rs_new / rs_old.clamp_min(1e-30), torch.zeros_like(rs_old))
        p.mul_(beta).add_(r)
        rs_old = rs_new
    return x


def _batches(degree: np.ndarray, slots: int) -> list[np.ndarray]:
    """Rows sorted by degree, cut into batches of at most ``slots`` padded cells (at least 1 row).

    Sorting first keeps padding small: a batch is as wide as its last (largest) row.
    """
    order = np.argsort(degree, kind="stable")
    width = np.maximum(degree[order], 1)
    out: list[np.ndarray] = []
    start, n = 0, len(order)
    while start < n:
        # (stop − start)·width[stop − 1] grows with stop: binary-search the largest that fits
        lo, hi = start + 1, min(n, start + max(1, slots // int(width[start])))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if (mid - start) * int(width[mid - 1]) <= slots:
                lo = mid
            else:
                hi = mid - 1
        out.append(order[start:lo])
        start = lo
    return out


def exact_update(
    matrix: sp.csr_matrix, other: torch.Tensor, regularization: float, slots: int
) -> torch.Tensor:
    """Exact solve of every row's normal equations (padded degree-sorted batches, Cholesky)."""
    device, k = other.device, other.shape[1]
    shared = gram(other, regularization)
    padded = torch.cat([other, other.new_zeros(1, k)])
    indptr, indices = matrix.indptr, matrix.indices
    data = np.asarray(matrix.data, dtype=np.float32)
    degree = np.diff(indptr)
    out = other.new_zeros(matrix.shape[0], k)
    for rows in _batches(degree, slots):
        width = int(degree[rows].max())
        if width == 0:
            continue  # no ratings: b = 0, so the solution is 0
        pos = indptr[rows][:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < degree[rows][:, None]
        pos = np.where(valid, pos, 0)
        idx = np.where(valid, indices[pos], len(other))
        w = np.where(valid, data[pos], 0.0).astype(np.float32)
        g = padded[torch.as_tensor(idx).to(device)]  # [B, n, k]
        wt = torch.as_tensor(w).to(device)
        a = shared + torch.bmm(g.transpose(1, 2) * wt[:, None, :], g)
        b = torch.bmm(g.transpose(1, 2), (wt + torch.as_tensor(valid).to(device))[:, :, None])
        out[torch.as_tensor(rows).to(device)] = torch.cholesky_solve(b, cholesky(a)).squeeze(2)
    return out


def solve_one(
    other: torch.Tensor, shared: torch.Tensor, cols: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Exact solve for one row: (shared + Fᵀ W F) x = Fᵀ (1 + w)."""
    f = other[cols]
    a = shared + (f.T * weights) @ f
    b = f.T @ (weights + 1.0)
    return solve(a, b)


__all__ = ["cg_update", "exact_update", "gram", "solve_one"]
