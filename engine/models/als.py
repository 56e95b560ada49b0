"""Implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008).

Every observed (user, film) pair is a preference p = 1 with confidence c = 1 + alpha·r, where r is
the star rating (``confidence="rating"``) or 1 (``"binary"``); unobserved pairs are p = 0, c = 1.
The loss Σ c (p − xᵤ·yᵢ)² + λ(‖X‖² + ‖Y‖²) is minimised by alternating exact ridge problems

    (YᵀY + λI + Yᵀ(Cᵤ − I)Y) xᵤ = Yᵀ Cᵤ pᵤ      (and the same for films with X).

Why the solver looks the way it does: the obvious batched form (gather each user's film vectors
into a padded [B, n, k] block) spends most of its time in the gather and in small gemv calls and
was 3× slower than implicit's Cython loop on 2 cores. Instead, the conjugate-gradient matvec for
*all* users at once is two library sparse kernels over the rating pattern:
``sampled_addmm`` (SDDMM: tᵤᵢ = xᵤ·yᵢ on observed cells) and CSR×dense ``matmul`` (SpMM:
Σᵢ wᵤᵢ tᵤᵢ yᵢ), plus one dense [n, k]×[k, k] product for the shared YᵀY. No per-user Python loop,
no materialised gathers, float32 throughout, and the same code runs on CUDA (cuSPARSE). As in
implicit's ``use_cg``, each half-step runs a few CG iterations warm-started from the previous
factors (Takács, Pilászy & Tikk 2011), which is enough because the factors move little per sweep.
``solver="cholesky"`` solves each system exactly (padded batches, Cholesky); it is the reference
for tests and cheap on a GPU, but costs O(nnz·k²) so it is not the CPU default.

Fold-in is one exact solve of the same normal equations against the frozen film factors.
Defaults come from a reproducible validation search (``python -m engine tune als``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from engine.data.ratings import Ratings
from engine.models.base import Capability, Recommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.models.torch_typed import cholesky, sampled_addmm, solve, sparse_csr
from engine.progress import Progress

Solver = Literal["cg", "cholesky"]
Confidence = Literal["rating", "binary"]


@dataclass(frozen=True)
class ALSConfig(Config):
    """Defaults chosen by ``python -m engine tune als`` (96 settings, 15 epochs) on the protocol
    R validation split (seed 100) carved from the embedded data's protocol R train part. Best
    validation NDCG@10 0.196 at factors=128, λ=50, alpha=2, c = 1 + alpha·stars; the 64-factor
    runner-up (same λ, alpha) scored 0.190. Star-weighted confidence beat binary throughout."""

    factors: int = param(128, low=1, high=1024, help="length of each person's and film's vector")
    epochs: int = param(
        15, low=1, high=1000, quick=4, help="alternating passes: all films, then all people"
    )
    regularization: float = param(
        50.0, low=0, high=1e6, low_open=True, help="λ, the L2 penalty on every vector"
    )
    alpha: float = param(
        2.0, low=0, high=1e4, help="confidence slope: a rating counts as c = 1 + alpha·r"
    )
    confidence: Confidence = param(
        "rating", help='"rating": c = 1 + alpha·stars; "binary": c = 1 + alpha for every rating'
    )
    solver: Solver = param(
        "cg", help='"cg": a few warm-started conjugate-gradient steps (fast); "cholesky": exact'
    )
    cg_steps: int = param(3, low=1, high=100, help="conjugate-gradient steps per half-epoch")
    cg_chunk_rows: int = param(
        32768,
        low=0,
        high=2**31 - 1,
        help="rows per CG chunk (and ≤ 4M cells), bounding work memory; 0 = no chunks",
    )
    init_std: float = param(0.01, low=0, high=1, help="spread of the random initial vectors")
    batch_slots: int = param(
        1 << 20, low=1, high=2**40, help="padded cells per batch of the exact (Cholesky) solver"
    )


# ---------------------------------------------------------------------- sparse plumbing
@dataclass
class _Side:
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
    def build(cls, matrix: sp.csr_matrix, device: torch.device, scratch: bool = True) -> _Side:
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

    def rows(self, start: int, stop: int) -> _Side:
        """Rows ``start:stop`` as a side of their own with a fresh scratch buffer; the big arrays
        are views, not copies."""
        if start == 0 and stop == self.n_rows and len(self.scratch) == len(self.weight):
            return self
        crow = self.crow[start : stop + 1]
        first, last = int(crow[0]), int(crow[-1])
        crow = crow - crow[0]
        col = self.col[first:last]
        scratch = self.weight.new_zeros(last - first)
        return _Side(
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


# ---------------------------------------------------------------------- solvers
def gram(factors: torch.Tensor, regularization: float) -> torch.Tensor:
    """FᵀF + λI, the part of every normal equation shared by all rows."""
    k = factors.shape[1]
    eye = torch.eye(k, dtype=factors.dtype, device=factors.device)
    return factors.T @ factors + regularization * eye


def cg_update(
    side: _Side,
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
    side: _Side, x: torch.Tensor, other: torch.Tensor, shared: torch.Tensor, steps: int
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


def objective(
    train: Ratings, x: torch.Tensor, y: torch.Tensor, cfg: ALSConfig, chunk: int = 1 << 20
) -> float:
    """The HKV loss Σ_all c (p − x·y)² + λ(‖X‖² + ‖Y‖²), without forming the dense matrix:
    Σ_all (x·y)² = ‖XᵀX ∘ YᵀY‖ sum; observed cells add c(1 − s)² − s²."""
    x64, y64 = x.double().cpu(), y.double().cpu()
    total = float(((x64.T @ x64) * (y64.T @ y64)).sum())
    w = torch.as_tensor(confidence_weights(train.values, cfg.alpha, cfg.confidence)).double()
    u = torch.as_tensor(train.users.astype(np.int64))
    i = torch.as_tensor(train.items.astype(np.int64))
    for s in range(0, len(train), chunk):
        sl = slice(s, s + chunk)
        score = (x64[u[sl]] * y64[i[sl]]).sum(1)
        total += float(((1.0 + w[sl]) * (1.0 - score) ** 2 - score**2).sum())
    return total + cfg.regularization * float((x64**2).sum() + (y64**2).sum())


# ---------------------------------------------------------------------- the model
class ImplicitALS(Recommender):
    name = "als"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"item_vectors", "similar_items"})
    config_class = ALSConfig
    config: ALSConfig
    resumable = True  # fit(..., checkpoint=...): its epochs depend only on the factors
    _shared: torch.Tensor | None = None  # YᵀY + λI, built on the first fold-in after a fit

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        weights = weight_matrix(train, cfg.alpha, cfg.confidence)
        gen = torch.Generator().manual_seed(cfg.seed)
        self._user_factors = (
            torch.randn(train.n_users, cfg.factors, generator=gen) * cfg.init_std
        ).to(self.device)
        self._item_factors = (
            torch.randn(train.n_items, cfg.factors, generator=gen) * cfg.init_std
        ).to(self.device)
        checkpoint = self._checkpoint
        start = checkpoint.resume(self, train) if checkpoint is not None else 0
        if cfg.solver == "cg":
            # one orientation at a time, sharing scipy's arrays and one scratch buffer: peak
            # memory ~12 B per rating beyond the Ratings themselves (matters at 25M ratings)
            by_user = _Side.build(weights, self.device, scratch=False)
            by_item = _Side.build(weights.T.tocsr(), self.device, scratch=False)
            del weights

            def films_then_people() -> None:
                self._item_factors = cg_update(
                    by_item,
                    self._item_factors,
                    self._user_factors,
                    cfg.regularization,
                    cfg.cg_steps,
                    cfg.cg_chunk_rows,
                )
                self._user_factors = cg_update(
                    by_user,
                    self._user_factors,
                    self._item_factors,
                    cfg.regularization,
                    cfg.cg_steps,
                    cfg.cg_chunk_rows,
                )
        else:
            by_film = weights.T.tocsr()

            def films_then_people() -> None:
                self._item_factors = exact_update(
                    by_film, self._user_factors, cfg.regularization, cfg.batch_slots
                )
                self._user_factors = exact_update(
                    weights, self._item_factors, cfg.regularization, cfg.batch_slots
                )

        seconds: list[float] = []
        self.info["seconds_per_iteration"] = seconds
        for it in range(start, cfg.epochs):
            tick = time.perf_counter()
            # films first, then people: the final user factors are then the solution against the
            # final film factors, which is exactly what fold-in computes for a new person.
            films_then_people()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            seconds.append(time.perf_counter() - tick)
            if checkpoint is not None:
                checkpoint.save(self, it + 1, train)
            progress(it + 1, cfg.epochs, f"ALS epoch {it + 1}/{cfg.epochs}")
        self._shared = None

    # ------------------------------------------------------------------ people
    def _gram(self) -> torch.Tensor:
        if self._shared is None:
            self._shared = gram(self._item_factors, self.config.regularization)
        return self._shared

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """One exact solve against the frozen film factors (the same equations training solved)."""
        if len(items) == 0:
            return UserState(items=items, values=values, vector=None)
        cfg = self.config
        w = confidence_weights(values, cfg.alpha, cfg.confidence)  # c − 1 for these ratings
        vector = solve_one(
            self._item_factors,
            self._gram(),
            to_tensor(items, torch.long, self.device),
            to_tensor(w, torch.float32, self.device),
        )
        return UserState(items=items, values=values, vector=vector)

    def _user_state(self, user: int) -> UserState:
        return UserState(
            items=np.empty(0, np.int64),
            values=np.empty(0, np.float32),
            vector=self._user_factors[user],
        )

    def _prior(self) -> torch.Tensor:
        """Score for someone with no ratings: how much the average person's vector likes a film,
        i.e. popularity as the model sees it."""
        return self._item_factors @ self._user_factors.mean(0)

    def _score_state(self, state: UserState) -> torch.Tensor:
        if state.vector is None:
            return self._prior()
        return self._item_factors @ state.vector

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        idx = to_tensor(users, torch.long, self.device)
        return (self._user_factors[idx] @ self._item_factors.T).cpu()

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self._item_factors.cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"user_factors": self._user_factors, "item_factors": self._item_factors}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        x, y = tensors["user_factors"], tensors["item_factors"]
        k = self.config.factors
        if x.shape[1] != k or y.shape[1] != k:
            raise ValueError(f"factor tensors have width {x.shape[1]}/{y.shape[1]}, expected {k}")
        self._user_factors, self._item_factors = x.to(self.device), y.to(self.device)
        self._shared = None
