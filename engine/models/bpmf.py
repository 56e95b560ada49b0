"""Bayesian PMF by Gibbs sampling (Salakhutdinov & Mnih, ICML 2008), same model as ``pmf``.

``pmf`` finds one point (VB means) of the posterior over factors and precisions; this model draws
from it and averages predictions over the draws, which is what the Bayesian treatment buys on
sparse data: a film with three ratings contributes an uncertain vector, and the average over
draws shrinks its predictions exactly as much as the data warrant. The prior is the one of
``pmf`` (isotropic Gaussian factors and biases, Gamma(a0, b0) on every precision); each sweep
draws all users at once, all films at once (the batched Cholesky of ``pmf``, one triangular
solve more per row), then every precision from its Gamma conditional.

The chain starts from a ``pmf`` VB fit of ``init_epochs`` epochs, discards ``burnin`` sweeps and
keeps ``samples``. Fold-in: for every kept draw, the new person's conditional posterior mean given
that draw's films and precisions (a (K+1) ridge solve, batched over draws); scores average over
draws.

Defaults from ``python -m engine tune bpmf`` (protocol E validation split of the embedded data,
seed 100): grid factors ∈ {5, 10, 20}; best 5 by validation RMSE (the scores: docs/tuning/bpmf.txt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.models.base import Capability, ExplicitRecommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.models.gaussian_rows import (
    PRECISIONS,
    precision_summary,
    prior_diagonal,
    row_posteriors,
)
from engine.models.pmf import (
    FACTORS_HELP,
    INIT_STD_HELP,
    PMF,
    PRIOR_RATE_HELP,
    PRIOR_SHAPE_HELP,
    WARMUP_HELP,
    PMFConfig,
)
from engine.models.torch_typed import solve
from engine.progress import Progress


@dataclass(frozen=True)
class BPMFConfig(Config):
    factors: int = param(5, low=1, high=1024, help=FACTORS_HELP)
    init_epochs: int = param(8, low=1, high=10_000, help="pmf (VB) epochs the chain starts from")
    burnin: int = param(10, low=0, high=100_000, help="Gibbs sweeps discarded before keeping")
    samples: int = param(
        40, low=1, high=100_000, help="Gibbs sweeps kept; predictions average over them"
    )
    prior_shape: float = param(1.0, low=0, high=1e6, low_open=True, help=PRIOR_SHAPE_HELP)
    prior_rate: float = param(1.0, low=0, high=1e6, low_open=True, help=PRIOR_RATE_HELP)
    init_std: float = param(0.1, low=0, high=10, help=INIT_STD_HELP)
    warmup: int = param(3, low=0, high=10_000, help=WARMUP_HELP)


class BPMF(ExplicitRecommender):
    """Gibbs-sampled PMF; ``info`` shows the posterior means of the precisions."""

    name = "bpmf"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items", "expected_stars"}
    )
    config_class = BPMFConfig
    config: BPMFConfig
    resumable = False  # the chain's draws come from running generators

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        steps = cfg.init_epochs + cfg.burnin + cfg.samples
        start = PMF(
            PMFConfig(
                seed=cfg.seed,
                factors=cfg.factors,
                epochs=cfg.init_epochs,
                adaptive=False,
                prior_shape=cfg.prior_shape,
                prior_rate=cfg.prior_rate,
                init_std=cfg.init_std,
                warmup=cfg.warmup,
                method="vb",
            ),
            device=self.device,
        )

        def vb_progress(done: int, total: int, message: str = "") -> None:
            progress(done, steps, message)  # the VB epochs are the first part of the chain

        start.fit(train, progress=vb_progress)
        chain = start.posterior()
        self._mu = chain.mu
        users, items = chain.users, chain.items
        prec = chain.precisions
        u, i, r = (t.to(self.device) for t in train.to_torch())
        r = r.double()
        gen = torch.Generator().manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        K = cfg.factors
        kept_u: list[torch.Tensor] = []
        kept_v: list[torch.Tensor] = []
        kept_prec: list[dict[str, torch.Tensor]] = []
        for step in range(cfg.burnin + cfg.samples):
            diag_u = prior_diagonal(prec["lambda_p"], prec["lambda_bu"], K, len(users))
            users, _ = row_posteriors(*chain.by_user, items, None, prec["tau"], diag_u, gen)
            diag_i = prior_diagonal(prec["lambda_q"], prec["lambda_bi"], K, len(items))
            items, _ = row_posteriors(*chain.by_item, users, None, prec["tau"], diag_i, gen)
            prec = self._draw_precisions(
                u, i, r, users, items, chain.active_users, chain.active_items, rng
            )
            if step >= cfg.burnin:
                kept_u.append(users.float())
                kept_v.append(items.float())
                kept_prec.append({k: v.clone() for k, v in prec.items()})
            progress(cfg.init_epochs + step + 1, steps, f"Gibbs sweep {step + 1}")
        self._Us, self._Vs = torch.stack(kept_u), torch.stack(kept_v)
        self._precs = {k: torch.stack([p[k] for p in kept_prec]) for k in PRECISIONS}
        self._active_u = chain.active_users
        self._set_means()

    def _draw_precisions(
        self,
        u: torch.Tensor,
        i: torch.Tensor,
        r: torch.Tensor,
        users: torch.Tensor,
        items: torch.Tensor,
        active_u: torch.Tensor,
        active_i: torch.Tensor,
        rng: np.random.Generator,
    ) -> dict[str, torch.Tensor]:
        """Each precision from its Gamma conditional: shape a0 + count/2, rate b0 + SS/2."""
        a0, b0, K = self.config.prior_shape, self.config.prior_rate, self.config.factors
        p, q = users[:, :-1], items[:, :-1]
        pred = self._mu + users[u, -1] + items[i, -1] + (p[u] * q[i]).sum(1)
        draws = {"tau": (r.numel() / 2, float((r - pred).square().sum()) / 2)}
        for side, mean, active in (("p", users, active_u), ("q", items, active_i)):
            n = int(active.sum())
            draws[f"lambda_{side}"] = (n * K / 2, float(mean[active, :-1].square().sum()) / 2)
            bias = "lambda_bu" if side == "p" else "lambda_bi"
            draws[bias] = (n / 2, float(mean[active, -1].square().sum()) / 2)
        out: dict[str, torch.Tensor] = {}
        for name, (shape, ss) in draws.items():
            value = rng.gamma(a0 + shape, 1.0 / (b0 + ss))
            out[name] = torch.tensor(value, dtype=torch.float64, device=self.device)
        return out

    def _set_means(self) -> None:
        """Posterior means over the kept draws: what insight pages and ``info`` show."""
        self._user_rows, self._item_rows = self._Us.mean(0).double(), self._Vs.mean(0).double()
        means = {k: v.mean(0) for k, v in self._precs.items()}
        self.info = {name: precision_summary(value) for name, value in means.items()}
        self.info["noise_std"] = 1.0 / math.sqrt(float(means["tau"]))
        self.info["global_mean"] = float(self._mu)
        self.info["draws"] = int(self._Us.shape[0])

    # ------------------------------------------------------------------ people
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
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
        x = solve(gram, rhs)  # [S, K+1]
        mean = x.mean(0)
        return UserState(
            items=items,
            values=values,
            vector=mean[:-1],
            bias=float(mean[-1]),
            extra={"draws": x.float()},
        )

    def _user_state(self, user: int) -> UserState:
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
        if not isinstance(draws, torch.Tensor):  # a state from elsewhere: the posterior means
            vec = (
                state.vector
                if state.vector is not None
                else torch.zeros_like(self._user_rows[0, :-1])
            )
            out = (
                self._mu
                + state.bias
                + self._item_rows[:, -1]
                + self._item_rows[:, :-1] @ vec.to(self._item_rows)
            )
            return out.clamp(MIN_RATING, MAX_RATING)
        Q, bi = self._Vs[:, :, :-1], self._Vs[:, :, -1]
        per_draw = draws[:, -1:] + bi + torch.einsum("sk,snk->sn", draws[:, :-1].to(Q), Q)
        return (float(self._mu) + per_draw).clamp(MIN_RATING, MAX_RATING).mean(0)

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        idx = to_tensor(users, torch.long, self.device)
        total = torch.zeros(len(idx), self.n_items, device=self.device)
        for s in range(self._Us.shape[0]):
            U, V = self._Us[s, idx], self._Vs[s]
            pred = float(self._mu) + U[:, -1:] + V[:, -1][None, :] + U[:, :-1] @ V[:, :-1].T
            total += pred.clamp(MIN_RATING, MAX_RATING)
        return (total / self._Us.shape[0]).cpu()

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u = to_tensor(users, torch.long, self.device)
        i = to_tensor(items, torch.long, self.device)
        U, V = self._Us[:, u], self._Vs[:, i]
        pred = float(self._mu) + U[:, :, -1] + V[:, :, -1] + (U[:, :, :-1] * V[:, :, :-1]).sum(2)
        return pred.clamp(MIN_RATING, MAX_RATING).mean(0).cpu().numpy()

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self._item_rows[:, :-1].float().cpu().numpy()

    def _item_bias(self) -> np.ndarray:
        return self._item_rows[:, -1].float().cpu().numpy()

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
        self._set_means()
