"""Typed doors into the few torch functions whose stubs leave their types Unknown.

``torch.linalg``'s functions and ``torch.sparse.sampled_addmm`` are attached at import time
(``_add_docstr``) and carry no types at all; ``manual_seed``, ``Tensor.backward``,
``Optimizer.step``, ``Tensor.tolist`` and the sparse constructors declare some parameters or
results untyped. Strict checking of ``engine/models`` would flag every use, so the models call
these doors instead: each states the types torch's documentation gives and confines the one
unchecked call to this file (one narrow ``pyright: ignore`` per door).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def solve(a: Tensor, b: Tensor) -> Tensor:
    """``torch.linalg.solve``: x with a @ x = b (batched over leading dimensions)."""
    return torch.linalg.solve(a, b)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def cholesky(a: Tensor) -> Tensor:
    """``torch.linalg.cholesky``: lower-triangular L with a = L Lᵀ."""
    return torch.linalg.cholesky(a)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def solve_triangular(a: Tensor, b: Tensor, *, upper: bool) -> Tensor:
    """``torch.linalg.solve_triangular``."""
    return torch.linalg.solve_triangular(a, b, upper=upper)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def inv(a: Tensor) -> Tensor:
    """``torch.linalg.inv``."""
    return torch.linalg.inv(a)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def sampled_addmm(
    pattern: Tensor, rows: Tensor, cols: Tensor, *, beta: float, out: Tensor | None = None
) -> Tensor:
    """``torch.sparse.sampled_addmm``: rows @ cols on the stored cells of a CSR ``pattern``."""
    if out is None:
        return torch.sparse.sampled_addmm(pattern, rows, cols, beta=beta)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return torch.sparse.sampled_addmm(pattern, rows, cols, beta=beta, out=out)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def sparse_csr(
    crow: Tensor, col: Tensor, values: Tensor, size: tuple[int, int], *, check: bool = True
) -> Tensor:
    """``torch.sparse_csr_tensor`` from index and value tensors."""
    return torch.sparse_csr_tensor(crow, col, values, size=size, check_invariants=check)  # pyright: ignore[reportUnknownMemberType]


def sparse_coo(indices: Tensor, values: Tensor, size: tuple[int, int]) -> Tensor:
    """``torch.sparse_coo_tensor`` from a [2, nnz] index tensor and values."""
    return torch.sparse_coo_tensor(indices, values, size)  # pyright: ignore[reportUnknownMemberType]


def manual_seed(seed: int) -> None:
    """``torch.manual_seed``: seed the global generators (CPU and every CUDA device)."""
    torch.manual_seed(seed)  # pyright: ignore[reportUnknownMemberType]


def descend(loss: Tensor, optimiser: torch.optim.Optimizer) -> None:
    """One gradient step: ``loss.backward()`` then ``optimiser.step()``."""
    loss.backward()  # pyright: ignore[reportUnknownMemberType]
    optimiser.step()  # pyright: ignore[reportUnknownMemberType]


def backward(loss: Tensor) -> None:
    """``loss.backward()``."""
    loss.backward()  # pyright: ignore[reportUnknownMemberType]


def lbfgs_step(optimiser: torch.optim.LBFGS, closure: Callable[[], Tensor]) -> None:
    """``LBFGS.step(closure)``: iterations until convergence or ``max_iter``."""
    optimiser.step(closure)  # pyright: ignore[reportUnknownMemberType, reportArgumentType]


def floats(tensor: Tensor) -> list[float]:
    """``tensor.tolist()`` of a 1-d float tensor."""
    return [float(v) for v in tensor.reshape(-1).cpu().numpy()]
