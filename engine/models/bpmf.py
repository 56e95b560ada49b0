"""Bayesian PMF by Gibbs sampling (Salakhutdinov & Mnih, ICML 2008), same model as ``pmf``.

``pmf`` finds one point (VB means) of the posterior over factors and precisions; this model draws
from it and averages predictions over the draws, which is what the Bayesian treatment buys on
sparse data: a film with three ratings contributes an uncertain vector, and the average over
draws shrinks its predictions exactly as much as the data warrant. The prior is the one of
``pmf`` (isotropic Gaussian factors and biases, Gamma(a0, b0) on every precision); each sweep
draws all users at once, all films at once (the batched Cholesky of ``pmf``, one triangular
solve more per row), then every precision from its Gamma conditional.

The chain starts from ``pmf``'s VB fit (``init_sweeps``), discards ``burnin`` sweeps and keeps
``samples``. Fold-in: for every kept draw, the new person's conditional posterior mean given that
draw's films and precisions (a (K+1) ridge solve, batched over draws); scores average over draws.

Defaults from ``python -m engine.tuning bpmf`` (protocol E validation split of the embedded data,
seed 100): grid factors ∈ {5, 10, 20}; best 5 (validation RMSE 0.8773; 10: 0.8827, 20: 0.8827).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.models.base import Capability, UserState, as_index_arrays, to_tensor
from engine.models.pmf import PMF, PRECISIONS, PMFConfig, _row_posteriors
from engine.progress import Progress


@dataclass
class BPMFConfig(PMFConfig):
    factors: int = 5
    init_sweeps: int = 8  # VB sweeps (pmf) to start the chain from
    burnin: int = 10
    samples: int = 40  # kept draws; predictions average over them
    sweeps: int = 0  # unused here (pmf's option); the chain length is burnin + samples


class BPMF(PMF):
    """Gibbs-sampled PMF; ``info`` shows the posterior means of the precisions."""

    name = "bpmf"
    kind = "explicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items", "expected_stars"}
    )
    config_class = BPMFConfig
    config: BPMFConfig
    resumable = False  # the chain's draws come from running generators (pmf's resume is off)

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        vb = PMFConfig(
            **{
                **{k: getattr(cfg, k) for k in PMFConfig.__dataclass_fields__},
                "sweeps": cfg.init_sweeps,
                "method": "vb",
                "adaptive": False,
            }
        )
        self.config = vb  # run pmf's VB fit as the chain's starting point
        try:
            super()._fit(train, lambda d, t, m="": progress(d, t + cfg.burnin + cfg.samples, m))
        finally:
            self.config = cfg
        u, i, r = (t.to(self.device) for t in train.to_torch())
        r = r.double()
        gen = torch.Generator().manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        self._SU = self._SV = None  # Gibbs conditions on drawn values, not on covariances
        total = cfg.init_sweeps + cfg.burnin + cfg.samples
        kept_u, kept_v, kept_prec = [], [], []
        for step in range(cfg.burnin + cfg.samples):
            self._U, _ = _row_posteriors(
                *self._by_user, self._V, None, self._prec["tau"], self._diag("u", len(self._U)), gen
            )
            self._V, _ = _row_posteriors(
                *self._by_item, self._U, None, self._prec["tau"], self._diag("i", len(self._V)), gen
            )
            self._draw_precisions(u, i, r, rng)
            if step >= cfg.burnin:
                kept_u.append(self._U.float())
                kept_v.append(self._V.float())
                kept_prec.append({k: v.clone() for k, v in self._prec.items()})
            progress(cfg.init_sweeps + step + 1, total, f"Gibbs sweep {step + 1}")
        self._Us, self._Vs = torch.stack(kept_u), torch.stack(kept_v)
        self._precs = {k: torch.stack([p[k] for p in kept_prec]) for k in PRECISIONS}
        self._set_means()

    def _draw_precisions(
        self, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor, rng: np.random.Generator
    ) -> None:
        """Each precision from its Gamma conditional: shape a0 + count/2, rate b0 + SS/2."""
        a0, b0, K = self.config.prior_shape, self.config.prior_rate, self.config.factors
        pred = self._mu + self._bu[u] + self._bi[i] + (self._P[u] * self._Q[i]).sum(1)
        draws = {"tau": (r.numel() / 2, float((r - pred).square().sum()) / 2)}
        for side, mean, active in (("p", self._U, self._active_u), ("q", self._V, self._active_i)):
            n = int(active.sum())
            draws[f"lambda_{side}"] = (n * K / 2, float(mean[active, :-1].square().sum()) / 2)
            bias = "lambda_bu" if side == "p" else "lambda_bi"
            draws[bias] = (n / 2, float(mean[active, -1].square().sum()) / 2)
        for name, (shape, ss) in draws.items():
            value = rng.gamma(a0 + shape, 1.0 / (b0 + ss))
            self._prec[name] = torch.tensor(value, dtype=torch.float64, device=self.device)

    def _set_means(self) -> None:
        """Posterior means: what insight pages and ``info`` show."""
        self._U, self._V = self._Us.mean(0).double(), self._Vs.mean(0).double()
        self._prec = {k: v.mean(0) for k, v in self._precs.items()}
        self._finish()
        self.info["draws"] = int(self._Us.shape[0])

    # ------------------------------------------------------------------ people
    def fold_in(self, items: Any, values: Any) -> UserState:
        items, values = as_index_arrays(items, values, self.n_items)
        S, K = self._Vs.shape[0], self.config.factors
        idx = to_tensor(items, torch.long, self.device)
        other = self._Vs[:, idx].double()  # [S, n, K+1]: [q, b_i]
        design = torch.cat([other[:, :, :-1], torch.ones_like(other[:, :, :1])], 2)
        target = to_tensor(values, torch.float64, self.device) - self._mu - other[:, :, -1]
        tau = self._precs["tau"][:, None, None]
        gram = tau * design.mT @ design
        diag = torch.cat(
            [self._precs["lambda_p"][:, None].expand(S, K), self._precs["lambda_bu"][:, None]], 1
        )
        gram = gram + torch.diag_embed(diag)
        rhs = tau[:, :, 0] * (design.mT @ target[:, :, None])[:, :, 0]
        x = torch.linalg.solve(gram, rhs)  # [S, K+1]
        mean = x.mean(0)
        return UserState(
            items=items,
            values=values,
            vector=mean[:-1],
            bias=float(mean[-1]),
            extra={"draws": x.float()},
        )

    def user_state(self, user: int) -> UserState:
        draws = self._Us[:, user]
        mean = draws.mean(0)
        return UserState(
            items=np.empty(0, np.int64),
            values=np.empty(0, np.float32),
            vector=mean[:-1],
            bias=float(mean[-1]),
            extra={"draws": draws},
        )

    def _score_state(self, state: UserState) -> torch.Tensor:
        draws = state.extra.get("draws")
        if draws is None:
            return super()._score_state(state)
        Q, bi = self._Vs[:, :, :-1], self._Vs[:, :, -1]
        per_draw = draws[:, -1:] + bi + torch.einsum("sk,snk->sn", draws[:, :-1].to(Q), Q)
        return (float(self._mu) + per_draw).clamp(MIN_RATING, MAX_RATING).mean(0)

    def score_users(self, users: np.ndarray) -> torch.Tensor:
        idx = to_tensor(users, torch.long, self.device)
        total = torch.zeros(len(idx), self.n_items, device=self.device)
        for s in range(self._Us.shape[0]):
            U, V = self._Us[s, idx], self._Vs[s]
            pred = float(self._mu) + U[:, -1:] + V[:, -1][None, :] + U[:, :-1] @ V[:, :-1].T
            total += pred.clamp(MIN_RATING, MAX_RATING)
        return (total / self._Us.shape[0]).cpu()

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u = to_tensor(users, torch.long, self.device)
        i = to_tensor(items, torch.long, self.device)
        U, V = self._Us[:, u], self._Vs[:, i]
        pred = float(self._mu) + U[:, :, -1] + V[:, :, -1] + (U[:, :, :-1] * V[:, :, :-1]).sum(2)
        return pred.clamp(MIN_RATING, MAX_RATING).mean(0).cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {
            "mu": self._mu,
            "user_draws": self._Us,
            "item_draws": self._Vs,
            "active_users": self._active_u.to(torch.uint8),
        }
        out.update({f"precision.{k}": v for k, v in self._precs.items()})
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._mu = tensors["mu"]
        self._Us, self._Vs = tensors["user_draws"], tensors["item_draws"]
        self._precs = {k: tensors[f"precision.{k}"] for k in PRECISIONS}
        self._active_u = tensors["active_users"].bool()
        self._SU = self._SV = None
        self.history = []
        info = dict(self.info)
        self._set_means()
        self.info = info or self.info
