"""Probabilistic matrix factorisation whose regularisation is learned, not searched.

Model (Salakhutdinov & Mnih 2008, with biases):

    r_ui ~ N(μ + b_u + b_i + p_u·q_i, 1/τ),   p_u ~ N(0, I/λ_p),  q_i ~ N(0, I/λ_q),
    b_u ~ N(0, 1/λ_bu),  b_i ~ N(0, 1/λ_bi),  every precision λ ~ Gamma(a0, b0).

``method="map"`` is joint MAP over factors, biases *and* the five precisions: it minimises the
negative log posterior ``objective`` (in ``gaussian_rows``), which keeps the Gaussian
log-normalisers (−(n·K/2)·log λ for a prior over n vectors of size K, −(N/2)·log τ for the N
ratings), so that given the factors each precision has a finite closed-form optimum, e.g. λ_p = (n_u·K/2 + a0 − 1) / (‖P‖²/2 + b0).
Measured, though, joint MAP is degenerate on sparse ratings: P = Q = 0 with λ_p, λ_q large is an
attracting optimum (the log-normaliser rewards shrinking the factors more than the fit rewards
keeping them), and it converges there: protocol E's RMSE is the bias-only level
(docs/tuning/pmf.txt; ``python -m engine train --model pmf --set method=map`` measures it).

``method="vb"`` (the default) therefore learns the precisions from posterior *expectations*:
mean-field variational Bayes (Lim & Teh 2007), the same closed-form updates with
E‖p_u‖² = ‖m_u‖² + tr S_u and E[SSE] including every rating's predictive variance. The posterior
covariances keep the factors from collapsing and the learned noise honest, with no
regularisation search (protocol E: pmf's row in docs/BENCHMARKS.md, section E).

The optimiser is block coordinate ascent, each block solved exactly: all users at once (a
batched (K+1)×(K+1) Cholesky per user, on the GPU when present), all films at once, then the
precisions in closed form. No learning rate, no weight decay to search. Fold-in is the same
(K+1) solve for one new person against frozen films, using the learned τ, λ_p and λ_bu.

Resumable: ``fit(train, checkpoint=Checkpoint(folder))`` saves after every sweep (both methods:
each sweep depends only on the factors, covariances and precisions the checkpoint holds, plus the
MAP objective history, which is checkpoint-only), and a fit interrupted and run again resumes from
the last saved sweep with the same result as an uninterrupted fit on CPU. (``bpmf``, a Gibbs
chain, is not resumable.) On CUDA, sparse products may not be bitwise deterministic, so any two
fits may differ at float rounding level.

With ``adaptive=True`` each user and each film gets its own factor precision (λ_p,u, λ_q,i, each
with the same Gamma hyperprior) — "PMF with adaptive priors" — so heavy raters can carry larger
vectors than people with three ratings.

Defaults from ``python -m engine tune pmf`` (protocol E validation split of the embedded data,
seed 100). Only the structure is searched, never a regularisation strength: grid factors ∈
{10, 20, 30, 50}; best 20 by validation RMSE (the scores: docs/tuning/pmf.txt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.models.base import Capability, ExplicitRecommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.models.gaussian_rows import (
    PRECISIONS,
    objective,
    precision_summary,
    prior_diagonal,
    rating_matrices,
    row_posteriors,
    sparse_rows,
)
from engine.models.torch_typed import floats
from engine.progress import Progress

FACTORS_HELP = "length of each person's and film's vector"
PRIOR_SHAPE_HELP = "Gamma hyperprior a0 on every precision (1 = flat in shape)"
PRIOR_RATE_HELP = "Gamma hyperprior b0: keeps precisions finite when factors vanish"
INIT_STD_HELP = "spread of the random initial vectors"
WARMUP_HELP = "epochs with the initial precisions (all 1) before they are learned"


@dataclass(frozen=True)
class PMFConfig(Config):
    factors: int = param(20, low=1, high=1024, help=FACTORS_HELP)
    epochs: int = param(
        30, low=1, high=10_000, quick=5, help="alternating sweeps: people, films, precisions"
    )
    adaptive: bool = param(
        False, help="one factor precision per person and per film instead of one shared"
    )
    prior_shape: float = param(1.0, low=0, high=1e6, low_open=True, help=PRIOR_SHAPE_HELP)
    prior_rate: float = param(1.0, low=0, high=1e6, low_open=True, help=PRIOR_RATE_HELP)
    init_std: float = param(0.1, low=0, high=10, help=INIT_STD_HELP)
    warmup: int = param(3, low=0, high=10_000, help=WARMUP_HELP)
    method: Literal["vb", "map"] = param(
        "vb", help='"vb": precisions from posterior expectations; "map": joint MAP (degenerate)'
    )


@dataclass(frozen=True)
class Posterior:
    """A fitted PMF's means and precisions: rows [vector, bias] per user and per film, and the
    sparse rating matrices by user and by film (``rating_matrices``)."""

    mu: torch.Tensor
    users: torch.Tensor
    items: torch.Tensor
    precisions: dict[str, torch.Tensor]
    active_users: torch.Tensor
    active_items: torch.Tensor
    by_user: tuple[torch.Tensor, torch.Tensor]
    by_item: tuple[torch.Tensor, torch.Tensor]


class PMF(ExplicitRecommender):
    """MAP PMF with learned precisions; ``info`` shows what it learned."""

    name = "pmf"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items", "expected_stars"}
    )
    config_class = PMFConfig
    config: PMFConfig
    resumable = True
    history: list[float]  # the MAP objective per epoch of the last fit (empty for VB)
    _prec: dict[str, torch.Tensor]  # the learned precisions, by name (PRECISIONS)
    _user_cov: torch.Tensor | None  # VB's posterior covariances (None for MAP)
    _item_cov: torch.Tensor | None

    # ------------------------------------------------------------------ training
    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        dev, dt = self.device, torch.float64  # float64: the solves and log-terms are cheap
        gen = torch.Generator().manual_seed(cfg.seed)
        u, i, r = (t.to(dev) for t in train.to_torch())
        r = r.to(dt)
        K, n_u, n_i = cfg.factors, train.n_users, train.n_items
        self._mu = r.mean()
        self._by_user, self._by_item = rating_matrices(u, i, r, self._mu, n_u, n_i)
        self._user_rows = torch.zeros(n_u, K + 1, dtype=dt, device=dev)
        self._item_rows = torch.zeros(n_i, K + 1, dtype=dt, device=dev)
        self._user_rows[:, :K] = (torch.randn(n_u, K, generator=gen, dtype=dt) * cfg.init_std).to(
            dev
        )
        self._item_rows[:, :K] = (torch.randn(n_i, K, generator=gen, dtype=dt) * cfg.init_std).to(
            dev
        )
        self._user_cov = self._item_cov = None
        one = torch.ones((), dtype=dt, device=dev)
        self._prec = {
            "tau": one.clone(),
            "lambda_p": one.expand(n_u).clone() if cfg.adaptive else one.clone(),
            "lambda_q": one.expand(n_i).clone() if cfg.adaptive else one.clone(),
            "lambda_bu": one.clone(),
            "lambda_bi": one.clone(),
        }
        self._active_u = torch.bincount(u, minlength=n_u) > 0
        self._active_i = torch.bincount(i, minlength=n_i) > 0
        self.history = []
        checkpoint = self._checkpoint
        start = checkpoint.resume(self, train) if checkpoint is not None else 0
        for sweep in range(start, cfg.epochs):
            self._update_users()
            self._update_items()
            if sweep >= cfg.warmup:
                self._update_precisions(u, i, r)
            if cfg.method == "map":
                self.history.append(float(self.objective(train)))
            if checkpoint is not None:
                checkpoint.save(self, sweep + 1, train)
            progress(sweep + 1, cfg.epochs, f"sweep {sweep + 1}: τ={float(self._prec['tau']):.2f}")
        self._finish()

    def _update_users(self) -> None:
        """Every user's [p_u, b_u] posterior given the films (exact block minimiser for MAP)."""
        self._user_rows, cov = row_posteriors(
            *self._by_user,
            self._item_rows,
            self._item_cov,
            self._prec["tau"],
            self._diag("u", len(self._user_rows)),
        )
        self._user_cov = cov if self.config.method == "vb" else None

    def _update_items(self) -> None:
        """Every film's [q_i, b_i] posterior given the users."""
        self._item_rows, cov = row_posteriors(
            *self._by_item,
            self._user_rows,
            self._user_cov,
            self._prec["tau"],
            self._diag("i", len(self._item_rows)),
        )
        self._item_cov = cov if self.config.method == "vb" else None

    def posterior(self) -> Posterior:
        """What the fit learned, for ``bpmf`` to start its chain from."""
        self._check_fitted()
        return Posterior(
            mu=self._mu,
            users=self._user_rows,
            items=self._item_rows,
            precisions=dict(self._prec),
            active_users=self._active_u,
            active_items=self._active_i,
            by_user=self._by_user,
            by_item=self._by_item,
        )

    @property
    def _P(self) -> torch.Tensor:
        return self._user_rows[:, :-1]

    @property
    def _Q(self) -> torch.Tensor:
        return self._item_rows[:, :-1]

    @property
    def _bu(self) -> torch.Tensor:
        return self._user_rows[:, -1]

    @property
    def _bi(self) -> torch.Tensor:
        return self._item_rows[:, -1]

    def _diag(self, side: str, n: int) -> torch.Tensor:
        """Prior precisions on each row's [vector, bias]: [λ_p..., λ_bu] (or q, bi)."""
        lam, lam_b = (
            (self._prec["lambda_p"], self._prec["lambda_bu"])
            if side == "u"
            else (self._prec["lambda_q"], self._prec["lambda_bi"])
        )
        return prior_diagonal(lam, lam_b, self.config.factors, n)

    def _update_precisions(self, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor) -> None:
        """Closed-form update of each precision given everything else:
        λ = (a0 − 1 + count/2) / (b0 + E[sum of squares]/2).

        For MAP the expectations are the point values (this is the exact argmin of ``objective``
        over λ); for VB they add the posterior variances, e.g. E‖p_u‖² = ‖m_u‖² + tr S_u, which
        is what keeps the factors from collapsing to 0 (MAP's degenerate optimum)."""
        a0, b0 = self.config.prior_shape, self.config.prior_rate
        K = self.config.factors
        pred = self._mu + self._bu[u] + self._bi[i] + (self._P[u] * self._Q[i]).sum(1)
        sse = (r - pred).square().sum()
        if self._user_cov is not None and self._item_cov is not None:
            sse = sse + self._expected_variance()
        self._prec["tau"] = (a0 - 1 + r.numel() / 2) / (b0 + sse / 2)
        for side, mean, cov, active in (
            ("p", self._user_rows, self._user_cov, self._active_u),
            ("q", self._item_rows, self._item_cov, self._active_i),
        ):
            sq = mean[:, :-1].square().sum(1)
            sqb = mean[:, -1].square()
            if cov is not None:
                sq = sq + cov[:, :-1, :-1].diagonal(dim1=1, dim2=2).sum(1)
                sqb = sqb + cov[:, -1, -1]
            n_active = int(active.sum())
            if self.config.adaptive:
                self._prec[f"lambda_{side}"] = (a0 - 1 + K / 2) / (b0 + sq / 2)
            else:
                self._prec[f"lambda_{side}"] = (a0 - 1 + n_active * K / 2) / (
                    b0 + sq[active].sum() / 2
                )
            bias = "lambda_bu" if side == "p" else "lambda_bi"
            self._prec[bias] = (a0 - 1 + n_active / 2) / (b0 + sqb[active].sum() / 2)

    def _expected_variance(self) -> torch.Tensor:
        """Σ over ratings of Var[b_u + b_i + p_u·q_i] under the factorised posterior.

        Per rating: [q,1]ᵀS_u[q,1] + [p,1]ᵀS_i[p,1] + tr(S_u^pp S_i^qq). Summed per user (film)
        as ⟨S_u, Σ_i [q,1][q,1]ᵀ⟩ with the inner sums done by one sparse product, so memory stays
        O((users + films)·K²) instead of O(ratings·K²)."""
        K = self.config.factors
        user_cov, item_cov = self._user_cov, self._item_cov
        if user_cov is None or item_cov is None:
            raise RuntimeError("the expected variance needs VB's posterior covariances")
        total = torch.zeros((), dtype=self._user_rows.dtype, device=self._user_rows.device)
        for (counts, _), cov, other in (
            (self._by_user, user_cov, self._item_rows),
            (self._by_item, item_cov, self._user_rows),
        ):
            ot = torch.cat([other[:, :-1], torch.ones_like(other[:, :1])], 1)
            second = (ot[:, :, None] * ot[:, None, :]).reshape(len(ot), -1)
            total = total + ((counts @ second) * cov.reshape(len(cov), -1)).sum()
        counts = self._by_user[0]
        sv = item_cov[:, :K, :K].reshape(len(item_cov), -1)
        total = total + ((counts @ sv) * user_cov[:, :K, :K].reshape(len(user_cov), -1)).sum()
        return total

    def objective(self, train: Ratings) -> float:
        """The negative log posterior at the current parameters (lower is better)."""
        u, i, r = (t.to(self.device) for t in train.to_torch())
        cfg = self.config
        return float(
            objective(
                u, i, r.double(), self._mu, self._P, self._Q, self._bu, self._bi,
                self._prec, cfg.prior_shape, cfg.prior_rate,
            )
        )  # fmt: skip

    def _finish(self) -> None:
        self.info = {name: precision_summary(value) for name, value in self._prec.items()}
        self.info["noise_std"] = 1.0 / math.sqrt(float(self._prec["tau"]))
        self.info["global_mean"] = float(self._mu)
        if self.history:
            self.info["objective"] = self.history[-1]

    # ------------------------------------------------------------------ people
    def _user_prior(self) -> tuple[torch.Tensor, torch.Tensor]:
        """λ_p for a new person: the shared one, or (adaptive) the mean over training users."""
        lam = self._prec["lambda_p"]
        if lam.ndim:
            lam = lam[self._active_u].mean()
        return lam, self._prec["lambda_bu"]

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """The new person's posterior mean of (p, b) against frozen films: the same (K+1) ridge
        solve training does for a user, with the learned τ, λ_p, λ_bu."""
        lam_p, lam_b = self._user_prior()
        idx = to_tensor(items, torch.long, self.device)
        n = len(items)
        ones = torch.ones(n, dtype=torch.float64, device=self.device)
        rows = torch.zeros(n, dtype=torch.long, device=self.device)
        centred = to_tensor(values, torch.float64, self.device) - self._mu
        counts = sparse_rows(rows, torch.arange(n, device=self.device), ones, (1, n))
        centred_m = sparse_rows(rows, torch.arange(n, device=self.device), centred, (1, n))
        K = self.config.factors
        diag = torch.cat([lam_p.expand(K), lam_b.reshape(1)])[None, :]
        cov = None if self._item_cov is None else self._item_cov[idx]
        x, _ = row_posteriors(counts, centred_m, self._item_rows[idx], cov, self._prec["tau"], diag)
        return UserState(items=items, values=values, vector=x[0, :-1], bias=float(x[0, -1]))

    def _user_state(self, user: int) -> UserState:
        return UserState(
            items=np.empty(0, np.int64),
            values=np.empty(0, np.float32),
            vector=self._P[user],
            bias=float(self._bu[user]),
        )

    def _score_state(self, state: UserState) -> torch.Tensor:
        vec = state.vector if state.vector is not None else torch.zeros_like(self._P[0])
        out = self._mu + state.bias + self._bi + self._Q @ vec.to(self._Q)
        return out.clamp(MIN_RATING, MAX_RATING)

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        idx = to_tensor(users, torch.long, self.device)
        out = self._mu + self._bu[idx, None] + self._bi[None, :] + self._P[idx] @ self._Q.T
        return out.clamp(MIN_RATING, MAX_RATING).float().cpu()

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u = to_tensor(users, torch.long, self.device)
        i = to_tensor(items, torch.long, self.device)
        out = self._mu + self._bu[u] + self._bi[i] + (self._P[u] * self._Q[i]).sum(1)
        return out.clamp(MIN_RATING, MAX_RATING).float().cpu().numpy()

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self._Q.float().cpu().numpy()

    def _item_bias(self) -> np.ndarray:
        return self._bi.float().cpu().numpy()

    @property
    def precisions(self) -> dict[str, torch.Tensor]:
        """The learned precisions (scalars, or per-row vectors for adaptive λ_p, λ_q)."""
        return dict(self._prec)

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {
            "mu": self._mu,
            "user_factors": self._P,
            "item_factors": self._Q,
            "user_bias": self._bu,
            "item_bias": self._bi,
            "active_users": self._active_u.to(torch.uint8),
        }
        if self._item_cov is not None and self._user_cov is not None:
            out["user_covariance"], out["item_covariance"] = self._user_cov, self._item_cov
        out.update({f"precision.{k}": v.reshape(-1) for k, v in self._prec.items()})
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._mu = tensors["mu"]
        self._user_rows = torch.cat([tensors["user_factors"], tensors["user_bias"][:, None]], 1)
        self._item_rows = torch.cat([tensors["item_factors"], tensors["item_bias"][:, None]], 1)
        self._user_cov = self._item_cov = None
        if "item_covariance" in tensors:
            self._user_cov, self._item_cov = tensors["user_covariance"], tensors["item_covariance"]
        self._active_u = tensors["active_users"].bool()
        self._prec = {}
        for name in PRECISIONS:
            value = tensors[f"precision.{name}"]
            scalar = name in ("tau", "lambda_bu", "lambda_bi") or not self.config.adaptive
            self._prec[name] = value.reshape(()) if scalar else value
        self.history = []

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """The model plus the MAP objective per sweep so far (checkpoint only)."""
        history = torch.tensor(self.history, dtype=torch.float64)
        return {**self.state_tensors(), "history": history}

    def load_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.load_state_tensors({k: v for k, v in tensors.items() if k != "history"})
        self.history = floats(tensors["history"])
