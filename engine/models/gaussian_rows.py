"""The Gaussian algebra ``pmf`` and ``bpmf`` share: the PMF posterior, its per-row solves.

Every row (a person or a film) is a vector plus a bias, [x, b], with a Gaussian prior of
precisions [λ, …, λ, λ_b]; given the other side, its posterior is Gaussian too and all rows are
solved at once by one batched Cholesky (``row_posteriors``). The sums over each row's ratings
are sparse × dense products over ``rating_matrices``.
"""

from __future__ import annotations

import warnings

import torch

from engine.models.torch_typed import cholesky, solve_triangular, sparse_coo

PRECISIONS = ("tau", "lambda_p", "lambda_q", "lambda_bu", "lambda_bi")


def objective(
    users: torch.Tensor,
    items: torch.Tensor,
    values: torch.Tensor,
    mu: torch.Tensor,
    P: torch.Tensor,
    Q: torch.Tensor,
    bu: torch.Tensor,
    bi: torch.Tensor,
    precisions: dict[str, torch.Tensor],
    a0: float,
    b0: float,
) -> torch.Tensor:
    """Negative log posterior (up to a constant) of the PMF model above.

    ``precisions`` maps each name of ``PRECISIONS`` to a tensor: a scalar, or for lambda_p /
    lambda_q one value per row of P / Q (adaptive priors). Rows of P and Q with no rating are
    left out of the prior (they stay at their prior mean 0 and do not inform λ).
    """
    resid = values - (mu + bu[users] + bi[items] + (P[users] * Q[items]).sum(1))
    tau = precisions["tau"]
    n = values.numel()
    total = 0.5 * tau * resid.square().sum() - 0.5 * n * torch.log(tau)
    for name, rows, index in (("lambda_p", P, users), ("lambda_q", Q, items)):
        active = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
        active[index] = True
        lam = precisions[name].expand(rows.shape[0])[active]
        sq = rows[active].square().sum(1)
        total = total + 0.5 * (lam * sq).sum() - 0.5 * rows.shape[1] * torch.log(lam).sum()
        if precisions[name].ndim:  # adaptive: a hyperprior per active row
            total = total + (b0 * lam - (a0 - 1.0) * torch.log(lam)).sum()
    for name, b, index in (("lambda_bu", bu, users), ("lambda_bi", bi, items)):
        active = torch.zeros(b.shape[0], dtype=torch.bool, device=b.device)
        active[index] = True
        lam = precisions[name]
        k = int(active.sum())
        total = total + 0.5 * lam * b[active].square().sum() - 0.5 * k * torch.log(lam)
    for value in precisions.values():
        if value.ndim == 0:
            total = total + b0 * value - (a0 - 1.0) * torch.log(value)
    return total


def sparse_rows(
    rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]
) -> torch.Tensor:
    """A CSR tensor: per-row sums over ratings become one sparse @ dense product."""
    with warnings.catch_warnings():  # torch calls sparse CSR "beta"; the ops used here are stable
        warnings.simplefilter("ignore", UserWarning)
        coo = sparse_coo(torch.stack([rows, cols]), values, shape).coalesce()
        return coo.to_sparse_csr()


def row_posteriors(
    counts: torch.Tensor,
    centred: torch.Tensor,
    mean: torch.Tensor,
    cov: torch.Tensor | None,
    tau: torch.Tensor,
    diag: torch.Tensor,
    sample: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian posterior (mean, covariance) of every row's [vector, bias] given the other side.

    Row x minimises τ/2 Σ_j E[(r_j − μ − b_j − x·[v_j, 1])²] + ½ xᵀ diag(diag) x, the expectation
    over the other side's factors v_j and biases b_j (mean ``mean`` = [v, b], covariance ``cov``
    over [v, b], None for point estimates, i.e. MAP). ``counts``/``centred`` are sparse
    rows × others matrices holding 1 and r − μ per rating. One batched Cholesky for all rows.
    With ``sample`` (a generator), returns a draw from the posterior (and the Cholesky factor)
    instead of its mean (and covariance): the Gibbs step of ``bpmf``.
    """
    v, b = mean[:, :-1], mean[:, -1]
    vt = torch.cat([v, torch.ones_like(b[:, None])], 1)  # [v, 1]
    d = vt.shape[1]
    second = vt[:, :, None] * vt[:, None, :]
    cross = vt * b[:, None]  # E[[v, 1] · b]
    if cov is not None:
        second[:, :-1, :-1] += cov[:, :-1, :-1]
        cross[:, :-1] += cov[:, :-1, -1]
    gram = (counts @ second.reshape(len(vt), d * d)).reshape(-1, d, d) * tau
    rhs = (centred @ vt - counts @ cross) * tau
    gram.diagonal(dim1=1, dim2=2).add_(diag)
    factor = cholesky(gram)
    mean_x = torch.cholesky_solve(rhs[:, :, None], factor)[:, :, 0]
    if sample is not None:  # a draw from N(mean, A⁻¹) with A = L Lᵀ: mean + L⁻ᵀ z
        z = torch.randn(mean_x.shape, generator=sample, dtype=mean_x.dtype).to(mean_x.device)
        step = solve_triangular(factor.mT, z[:, :, None], upper=True)[:, :, 0]
        return mean_x + step, factor
    return mean_x, torch.cholesky_inverse(factor)


def rating_matrices(
    u: torch.Tensor, i: torch.Tensor, r: torch.Tensor, mu: torch.Tensor, n_u: int, n_i: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(counts, centred) sparse matrices by user and by film: 1 and r − μ per rating, what
    ``row_posteriors`` sums over."""
    ones = torch.ones_like(r)
    by_user = (sparse_rows(u, i, ones, (n_u, n_i)), sparse_rows(u, i, r - mu, (n_u, n_i)))
    by_item = (sparse_rows(i, u, ones, (n_i, n_u)), sparse_rows(i, u, r - mu, (n_i, n_u)))
    return by_user, by_item


def prior_diagonal(lam: torch.Tensor, lam_b: torch.Tensor, factors: int, n: int) -> torch.Tensor:
    """Prior precisions on each of n rows' [vector, bias]: [λ, ..., λ, λ_b] (λ shared or per row)."""
    return torch.cat([lam.expand(n)[:, None].expand(-1, factors), lam_b.expand(n)[:, None]], 1)


def precision_summary(value: torch.Tensor) -> float | dict[str, float]:
    """A scalar precision as a float; an adaptive one as its median and spread."""
    if value.ndim == 0:
        return float(value)
    v = value.float()
    return {"median": float(v.median()), "min": float(v.min()), "max": float(v.max())}
