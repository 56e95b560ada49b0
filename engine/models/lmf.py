"""Logistic matrix factorisation for implicit feedback (Johnson, "Logistic Matrix Factorization
for Implicit Feedback Data", NIPS 2014 workshop).

The probability that person u watches film i is a logistic function of their vectors and biases,

    p(l_ui = 1) = σ(z_ui),   z_ui = x_u · y_i + β_u + β_i,

and each watch counts c_ui times as an observation of l = 1 (c = 0 for films they did not watch),
c_ui = alpha·r_ui (``confidence="rating"``, the paper's main choice), alpha (``"binary"``) or the
paper's log scaling alpha·log(1 + r_ui/ε) (``"log"``). With zero-mean Gaussian priors of precision
λ on the vectors, the log posterior is (Johnson's equation 3, constant terms dropped)

    L = Σ_ui [c_ui z_ui − (1 + c_ui) log(1 + e^z_ui)] − λ/2 Σ_u |x_u|² − λ/2 Σ_i |y_i|²,

summed over *every* (person, film) cell, unwatched ones included. Its gradient in z is
c − (1 + c)·σ(z), so ∂L/∂x_u = Σ_i (c_ui − (1 + c_ui) σ(z_ui)) y_i − λ x_u (films alike).

Training follows the paper: alternate a gradient-ascent step on all film vectors and biases (people
fixed) with one on all people (films fixed), each step scaled per parameter by AdaGrad
(``torch.optim.Adagrad``; Johnson: γ / sqrt(Σ past g²)). Gradients are exact sums over all
cells, computed in chunks of people as dense [chunk, films] blocks: on MovieLens-small that is 6M
cells per pass, a fraction of a second; it grows as people × films, so MovieLens-25M size would
need Johnson's blocked or sampled scheme instead (not implemented).

After the last epoch each person's (x_u, β_u) is polished by a few Newton steps against the
final films, and fold-in runs the same Newton iteration for a new member from zero: both
maximise the same concave per-person objective (a weighted, L2-penalised logistic regression on
the film vectors), so a training person's own ratings give back their trained vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.models.base import Capability, Recommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.models.torch_typed import solve
from engine.progress import Progress

Confidence = Literal["rating", "binary", "log"]


@dataclass(frozen=True)
class LMFConfig(Config):
    """Defaults chosen on the protocol R validation split (seed 100) of the embedded data's
    protocol R train part, by validation NDCG@10 (every grid point's scores: docs/tuning/lmf.txt).
    ``python -m engine tune lmf``: factors {8, 16, 32} × λ {1, 3, 10} × alpha {0.5, 2} with
    γ = 1, 30 epochs, c = alpha·stars; best at 16 factors, λ = 10, alpha = 2, on the grid's high
    edge in λ and alpha. ``python -m engine tune lmf:edge`` went past that edge: λ = 30,
    alpha = 4 scored higher (and above implicit's tuned LMF on the same split: docs/BENCHMARKS.md,
    section R, "implicit logistic MF: validation grid"). λ = 30, alpha = 4 is itself an edge:
    larger values were not tried."""

    factors: int = param(16, low=1, high=1024, help="length of each person's and film's vector")
    epochs: int = param(
        30, low=1, high=10_000, quick=5, help="alternating AdaGrad steps: all films, then people"
    )
    lr: float = param(1.0, low=0, high=100, low_open=True, help="AdaGrad's step size γ")
    regularization: float = param(
        30.0, low=0, high=1e6, help="λ, the Gaussian prior's precision on every vector"
    )
    alpha: float = param(
        4.0, low=0, high=1e4, low_open=True, help="confidence scale: a watch counts c times"
    )
    confidence: Confidence = param(
        "rating",
        help='c = alpha·stars ("rating"), alpha ("binary") or alpha·log(1 + stars/epsilon) ("log")',
    )
    epsilon: float = param(1.0, low=0, high=1e6, low_open=True, help='ε of the "log" confidence')
    init_std: float = param(0.01, low=0, high=1, help="spread of the random initial vectors")
    newton_steps: int = param(
        8,
        low=0,
        high=100,
        quick=3,
        help="Newton steps per person after training and when folding a new member in",
    )
    chunk_cells: int = param(
        1 << 22, low=1, high=2**40, help="dense (person, film) cells per block of the gradient"
    )


def confidence(values: np.ndarray, cfg: LMFConfig) -> np.ndarray:
    """c per watched film from its stars (float32)."""
    r = np.asarray(values, dtype=np.float32)
    if cfg.confidence == "rating":
        return (cfg.alpha * r).astype(np.float32)
    if cfg.confidence == "binary":
        return np.full(len(r), cfg.alpha, dtype=np.float32)
    return (cfg.alpha * np.log1p(r / cfg.epsilon)).astype(np.float32)


def log_likelihood(
    x: torch.Tensor,
    y: torch.Tensor,
    user_bias: torch.Tensor,
    item_bias: torch.Tensor,
    c: torch.Tensor,
    regularization: float,
) -> torch.Tensor:
    """Johnson's log posterior L on a dense confidence matrix ``c`` [people, films]: the
    reference the chunked gradients are checked against (differentiable, for autograd)."""
    z = x @ y.T + user_bias[:, None] + item_bias[None, :]
    fit = (c * z - (1 + c) * torch.nn.functional.softplus(z)).sum()
    return fit - regularization / 2 * (x.square().sum() + y.square().sum())


def z_gradient(z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """∂L/∂z = c − (1 + c)·σ(z), per cell."""
    return c - (1 + c) * torch.sigmoid(z)


class _Watches:
    """The confidence matrix, people-major, cut into dense row blocks on demand."""

    def __init__(self, train: Ratings, cfg: LMFConfig, device: torch.device):
        order = np.lexsort((train.items, train.users))
        users = np.asarray(train.users, dtype=np.int64)[order]
        self.indptr = np.searchsorted(users, np.arange(train.n_users + 1))
        self.users = torch.as_tensor(users, device=device)
        self.items = torch.as_tensor(np.asarray(train.items, dtype=np.int64)[order], device=device)
        self.c = torch.as_tensor(confidence(train.values[order], cfg), device=device)
        self.n_users, self.n_items = train.n_users, train.n_items
        rows = max(1, cfg.chunk_cells // max(1, train.n_items))
        self.blocks = [(a, min(a + rows, self.n_users)) for a in range(0, self.n_users, rows)]

    def dense(self, start: int, stop: int) -> torch.Tensor:
        """c for people ``start:stop`` as a dense [stop − start, films] block."""
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        block = self.c.new_zeros(stop - start, self.n_items)
        block[self.users[lo:hi] - start, self.items[lo:hi]] = self.c[lo:hi]
        return block


def newton_people(
    x: torch.Tensor,
    bias: torch.Tensor,
    y: torch.Tensor,
    item_bias: torch.Tensor,
    c: torch.Tensor,
    regularization: float,
    steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` Newton steps on each person's (x_u, β_u) with the films fixed.

    Per person the objective is concave: gradient Ỹᵀd − Λx̃ and negative Hessian
    Ỹᵀ diag((1 + c) σ(1 − σ)) Ỹ + Λ, with Ỹ = [Y, 1], x̃ = [x, β] and Λ = diag(λ, …, λ, 0) (the
    bias has no prior). ``c`` is [people, films]; returns new (x, bias).
    """
    k = y.shape[1]
    ones = y.new_ones(len(y), 1)
    y1 = torch.cat([y, ones], 1)
    penalty = torch.full((k + 1,), regularization, dtype=y.dtype, device=y.device)
    penalty[-1] = 0.0
    theta = torch.cat([x, bias[:, None]], 1)
    for _ in range(steps):
        z = theta @ y1.T + item_bias[None, :]
        s = torch.sigmoid(z)
        grad = z_gradient(z, c) @ y1 - theta * penalty
        curvature = (1 + c) * s * (1 - s)
        hessian = torch.einsum("pi,ik,il->pkl", curvature, y1, y1) + torch.diag(penalty)
        # the bias' curvature Σ (1 + c) σ(1 − σ) is > 0 unless σ saturates: keep it invertible
        hessian[:, k, k] += 1e-6
        theta = theta + solve(hessian, grad[:, :, None])[:, :, 0]
    return theta[:, :k].contiguous(), theta[:, k].contiguous()


class LogisticMF(Recommender):
    """Johnson's logistic MF: scores are the logit of the probability that a person watches a
    film, so they rank films for a person but are not stars."""

    name = "lmf"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items"}
    )
    config_class = LMFConfig
    config: LMFConfig

    # ------------------------------------------------------------------ training
    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        x = (torch.randn(train.n_users, cfg.factors, generator=gen) * cfg.init_std).to(self.device)
        y = (torch.randn(train.n_items, cfg.factors, generator=gen) * cfg.init_std).to(self.device)
        bu = torch.zeros(train.n_users, device=self.device)
        bi = torch.zeros(train.n_items, device=self.device)
        watches = _Watches(train, cfg, self.device)
        films = torch.optim.Adagrad([y, bi], lr=cfg.lr)
        people = torch.optim.Adagrad([x, bu], lr=cfg.lr)
        lam = cfg.regularization
        for epoch in range(cfg.epochs):
            # films first (people fixed), then people against the new films, as in the paper
            gy, gbi = torch.zeros_like(y), torch.zeros_like(bi)
            for a, b in watches.blocks:
                d = z_gradient(x[a:b] @ y.T + bu[a:b, None] + bi, watches.dense(a, b))
                gy += d.T @ x[a:b]
                gbi += d.sum(0)
            _ascend(films, [(y, gy - lam * y), (bi, gbi)])
            gx, gbu = torch.empty_like(x), torch.empty_like(bu)
            total = 0.0
            for a, b in watches.blocks:
                c = watches.dense(a, b)
                z = x[a:b] @ y.T + bu[a:b, None] + bi
                d = z_gradient(z, c)
                gx[a:b] = d @ y
                gbu[a:b] = d.sum(1)
                total += float((c * z - (1 + c) * torch.nn.functional.softplus(z)).sum())
            _ascend(people, [(x, gx - lam * x), (bu, gbu)])
            prior = lam / 2 * float(x.square().sum() + y.square().sum())
            progress(epoch + 1, cfg.epochs, f"log-likelihood {total - prior:.1f}")
        # each person: the maximiser against the final films, in blocks of people small enough
        # that the [people, films, k + 1] Hessian intermediate stays within chunk_cells numbers
        rows = max(1, cfg.chunk_cells // (train.n_items * (cfg.factors + 1)))
        for a in range(0, train.n_users, rows):
            b = min(a + rows, train.n_users)
            x[a:b], bu[a:b] = newton_people(
                x[a:b], bu[a:b], y, bi, watches.dense(a, b), lam, cfg.newton_steps
            )
        self._x, self._y, self._bu, self._bi = x, y, bu, bi

    # ------------------------------------------------------------------ people
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """Newton from zero on the new person's (x, β) with the films frozen: the training
        objective restricted to one person (in float64, as the system is tiny)."""
        if len(items) == 0:
            return UserState(items=items, values=values, vector=None)
        cfg = self.config
        c = torch.zeros(1, self.n_items, dtype=torch.float64, device=self.device)
        c[0, to_tensor(items, torch.long, self.device)] = to_tensor(
            confidence(values, cfg), torch.float64, self.device
        )
        x, bias = newton_people(
            torch.zeros(1, cfg.factors, dtype=torch.float64, device=self.device),
            self._bu.mean().double().reshape(1),
            self._y.double(),
            self._bi.double(),
            c,
            cfg.regularization,
            max(cfg.newton_steps, 1),
        )
        return UserState(items=items, values=values, vector=x[0].float(), bias=float(bias[0]))

    def _user_state(self, user: int) -> UserState:
        return UserState(
            items=np.empty(0, np.int64),
            values=np.empty(0, np.float32),
            vector=self._x[user].clone(),
            bias=float(self._bu[user]),
        )

    # ------------------------------------------------------------------ scoring
    def _score_state(self, state: UserState) -> torch.Tensor:
        if state.vector is None:  # nobody yet: the average person's logits (popularity)
            return self._y @ self._x.mean(0) + self._bi + self._bu.mean()
        return self._y @ state.vector.to(self.device) + self._bi + state.bias

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        u = to_tensor(users, torch.long, self.device)
        return self._x[u] @ self._y.T + self._bi[None, :] + self._bu[u, None]

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self._y.cpu().numpy()

    def _item_bias(self) -> np.ndarray:
        """β_i: the logit of how likely anyone is to watch the film, beyond the factors."""
        return self._bi.cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "user_factors": self._x,
            "item_factors": self._y,
            "user_bias": self._bu,
            "item_bias": self._bi,
        }

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        x, y = tensors["user_factors"], tensors["item_factors"]
        k = self.config.factors
        if x.shape[1] != k or y.shape != (self.n_items, k):
            raise ValueError(f"factor tensors {tuple(x.shape)}/{tuple(y.shape)} do not fit k={k}")
        self._x, self._y = x.to(self.device), y.to(self.device)
        self._bu = tensors["user_bias"].to(self.device)
        self._bi = tensors["item_bias"].to(self.device)


def _ascend(optimiser: torch.optim.Adagrad, grads: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """One AdaGrad step *up* the log posterior: torch's optimisers descend, so they get −∇L."""
    for tensor, grad in grads:
        tensor.grad = -grad
    optimiser.step()  # pyright: ignore[reportUnknownMemberType]
    for tensor, _ in grads:
        tensor.grad = None
