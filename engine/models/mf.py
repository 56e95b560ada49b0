"""Explicit matrix factorisation with biases and a sigmoid output range.

    r̂(u, i) = lo + (hi − lo) · σ(μ + b_u + b_i + p_u · q_i),   (lo, hi) = (0, 5.5)

The sigmoid keeps predictions inside the star range without clipping, so the gradient never dies at
the edges (the fastai collab trick). Training is full-batch Adam on the mean squared error plus
weight decay applied *per observed rating* (the regulariser Funk-style SGD implies): a user with
many ratings is regularised in proportion, which generalises better on MovieLens than a flat
penalty. Full batch is deterministic and, at 100k ratings, faster than mini-batches on a CPU.

Resumable: ``fit(train, checkpoint=Checkpoint(folder))`` saves after every epoch and a fit
interrupted (Ctrl-C) and run again resumes from the last saved epoch. The checkpoint (not the saved
model) carries Adam's moments and step count, and a mini-batch epoch's shuffle depends only on
(seed, epoch), so on CPU the resumed fit gives the same parameters as an uninterrupted one; on CUDA
the gradient scatter uses atomic adds, so any two fits may differ at float rounding level.

Fold-in solves the same per-user objective with the items frozen by Gauss–Newton (a ridge solve
per step, started from the solution on the logit scale): closed form per step, a few milliseconds.
With ``foldin_reg_scale=1`` it minimises exactly what training minimised, so it reproduces a trained
user's vector; the default 0.9 (chosen on two datasets) shrinks a new member slightly less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.models.base import (
    Capability,
    ExplicitRecommender,
    UserState,
    epoch_generator,
    to_tensor,
)
from engine.models.config import Config, param
from engine.models.torch_typed import descend, solve
from engine.progress import Progress

LOW, HIGH = 0.0, 5.5
# the trained tensors, in ``_params()`` order, by their names in ``state_tensors()``
PARAMS = ("mu", "user_factors", "item_factors", "user_bias", "item_bias")
ADAM = "adam."  # checkpoint-only tensors: "adam.<param>.<exp_avg | exp_avg_sq | step>"


@dataclass(frozen=True)
class MFConfig(Config):
    """Defaults chosen by ``python -m engine tune mf``: validation split carved from protocol
    E's train part; grid regularization {0.3, 0.5, 0.7} × bias_regularization {0.3, 0.5, 0.8} ×
    decay_power {0.75, 1.0} at 32 factors, 150 epochs, lr 0.03; best (0.5, 0.5, 0.75) by
    validation RMSE. More factors gave no gain at this data size (64: the same RMSE at twice the
    time). The scores: docs/tuning/mf.txt."""

    factors: int = param(32, low=1, high=1024, help="length of each person's and film's vector")
    epochs: int = param(
        150, low=1, high=100_000, quick=15, help="full passes of Adam over the ratings"
    )
    lr: float = param(0.03, low=0, high=1, low_open=True, help="Adam's step size")
    regularization: float = param(
        0.5,
        low=0,
        high=1e4,
        help="L2 on the person and film vectors, times (#ratings of each) ** decay_power",
    )
    bias_regularization: float = param(
        0.5, low=0, high=1e4, help="L2 on the person and film biases, weighted the same way"
    )
    decay_power: float = param(
        0.75,
        low=0,
        high=2,
        help="1 = penalty per observed rating (Funk SGD), 0 = flat per parameter",
    )
    init_std: float = param(0.01, low=0, high=1, help="spread of the random initial vectors")
    batch_size: int = param(
        0,
        low=0,
        high=2**31 - 1,
        help="ratings per Adam step; 0 = all at once (full batch), >0 for data that does not fit",
    )
    foldin_steps: int = param(
        8, low=0, high=100, quick=4, help="Gauss-Newton steps when folding a new person in"
    )
    # fold-in's penalty is the training one times this (1: exactly the training objective). 0.9
    # and 8 steps have the best worst case over the embedded and the synthetic MovieLens-like
    # data (``python -m engine.tuning.foldin mf``, docs/tuning/mf_foldin.txt): a little less
    # shrinkage ranks a new member's films better than a retrain, at < 1 % more RMSE
    foldin_reg_scale: float = param(
        0.9, low=0, high=1e6, help="fold-in's penalty as a multiple of the training one"
    )


class MatrixFactorization(ExplicitRecommender):
    name = "mf"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items", "expected_stars"}
    )
    config_class = MFConfig
    config: MFConfig
    resumable = True
    _opt: torch.optim.Adam | None = None  # while fitting, for checkpoint_tensors()
    _adam_state: dict[str, dict[str, torch.Tensor]] | None = None  # loaded from a checkpoint

    # ------------------------------------------------------------------ training
    def _init_params(self, train: Ratings) -> None:
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        mean = float(np.clip(train.values.mean(), LOW + 0.1, HIGH - 0.1))
        self._mu = torch.tensor(math.log((mean - LOW) / (HIGH - mean)), device=self.device)
        self._user_factors = (
            torch.randn(train.n_users, cfg.factors, generator=gen) * cfg.init_std
        ).to(self.device)
        self._item_factors = (
            torch.randn(train.n_items, cfg.factors, generator=gen) * cfg.init_std
        ).to(self.device)
        self._bu = torch.zeros(train.n_users, device=self.device)
        self._bi = torch.zeros(train.n_items, device=self.device)

    def _params(self) -> list[torch.Tensor]:
        return [self._mu, self._user_factors, self._item_factors, self._bu, self._bi]

    def _penalty(self, user_weight: torch.Tensor, item_weight: torch.Tensor) -> torch.Tensor:
        """Σ_u w_u(λ|p_u|² + λ_b b_u²) + Σ_i w_i(λ|q_i|² + λ_b b_i²), w = count ** decay_power."""
        cfg = self.config
        users = user_weight @ (
            cfg.regularization * self._user_factors.square().sum(1)
            + cfg.bias_regularization * self._bu.square()
        )
        items = item_weight @ (
            cfg.regularization * self._item_factors.square().sum(1)
            + cfg.bias_regularization * self._bi.square()
        )
        return users + items

    def _loss(self, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        # index_select, not P[u]: its backward is an index_add, while advanced indexing's is an
        # accumulating index_put that sorts the indices (2.5x slower per batch at 25M on a CPU)
        rows = (self._user_factors.index_select(0, u) * self._item_factors.index_select(0, i)).sum(
            1
        )
        pred = LOW + (HIGH - LOW) * torch.sigmoid(
            self._mu + self._bu.index_select(0, u) + self._bi.index_select(0, i) + rows
        )
        return (pred - r).square().sum()

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        self._init_params(train)
        self._adam_state = None
        checkpoint = self._checkpoint
        start = checkpoint.resume(self, train) if checkpoint is not None else 0
        params = self._params()
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.Adam(params, lr=cfg.lr)
        if self._adam_state:
            self._restore_adam(opt)
        users, items, values = train.to_torch(self.device)
        n = len(values)
        batch = n if cfg.batch_size <= 0 else cfg.batch_size
        user_weight = (
            torch.as_tensor(train.user_counts(), dtype=torch.float32, device=self.device)
            ** cfg.decay_power
        )
        item_weight = (
            torch.as_tensor(train.item_counts(), dtype=torch.float32, device=self.device)
            ** cfg.decay_power
        )
        self._opt = opt
        try:
            for epoch in range(start, cfg.epochs):
                order = (
                    torch.arange(n, device=self.device)
                    if batch >= n
                    else torch.randperm(n, generator=epoch_generator(cfg.seed, epoch)).to(
                        self.device
                    )
                )
                total = 0.0
                for begin in range(0, n, batch):
                    idx = order[begin : begin + batch]
                    opt.zero_grad(set_to_none=True)
                    # objective / N, the penalty shared out over the batches of an epoch
                    sse = self._loss(users[idx], items[idx], values[idx])
                    penalty = self._penalty(user_weight, item_weight) * (len(idx) / n)
                    loss = (sse + penalty) / len(idx)
                    descend(loss, opt)
                    total += float(sse.detach())
                if checkpoint is not None:
                    checkpoint.save(self, epoch + 1, train)
                progress(epoch + 1, cfg.epochs, f"train rmse {math.sqrt(total / n):.4f}")
        finally:
            self._opt = self._adam_state = None
            for p in params:
                p.requires_grad_(False)
        self._counts = torch.as_tensor(train.user_counts(), dtype=torch.float32, device=self.device)

    def _restore_adam(self, opt: torch.optim.Adam) -> None:
        """Put the moments a checkpoint held back into a fresh optimiser over ``_params()``."""
        saved = self._adam_state or {}
        state = {}
        for index, name in enumerate(PARAMS):
            if name in saved:
                entry = dict(saved[name])
                # Adam keeps a non-capturable step count on the CPU whatever the parameters' device
                entry["step"] = entry["step"].cpu()
                state[index] = entry
        opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})

    # ------------------------------------------------------------------ people
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """Minimise Σ (r − r̂)² + n^a·(λ|p|² + λ_b b²) over (p, b), items frozen.

        This is the training objective restricted to one user, so a training user's own ratings
        give back their trained vector.
        """
        d = self.config.factors
        if len(items) == 0:
            return UserState(
                items=items, values=values, vector=torch.zeros(d, device=self.device), bias=0.0
            )
        idx = torch.as_tensor(items, device=self.device)
        r = torch.as_tensor(values, device=self.device, dtype=torch.float64)
        X = torch.cat(
            [self._item_factors[idx], torch.ones(len(idx), 1, device=self.device)], 1
        ).double()
        offset = (self._mu + self._bi[idx]).double()
        weight = float(len(items)) ** self.config.decay_power * self.config.foldin_reg_scale
        reg = torch.full(
            (d + 1,), self.config.regularization * weight, dtype=torch.float64, device=self.device
        )
        reg[-1] = self.config.bias_regularization * weight
        span = HIGH - LOW
        # start: ridge on the logit scale, where the model is linear
        target = torch.logit(((r - LOW) / span).clamp(0.02, 0.98)) - offset
        theta = solve(X.T @ X + torch.diag(reg), X.T @ target)
        for _ in range(self.config.foldin_steps):
            s = torch.sigmoid(offset + X @ theta)
            resid = r - (LOW + span * s)
            J = X * (span * s * (1 - s))[:, None]
            grad = J.T @ resid - reg * theta
            H = J.T @ J + torch.diag(reg)
            step = solve(H, grad)
            theta = theta + step
            if float(step.abs().max()) < 1e-7:
                break
        return UserState(items=items, values=values, vector=theta[:d].float(), bias=float(theta[d]))

    def _user_state(self, user: int) -> UserState:
        return UserState(
            items=np.empty(0, np.int64),
            values=np.empty(0, np.float32),
            vector=self._user_factors[user].clone(),
            bias=float(self._bu[user]),
        )

    # ------------------------------------------------------------------ scoring
    def _score_state(self, state: UserState) -> torch.Tensor:
        vector = (
            state.vector
            if state.vector is not None
            else torch.zeros(self.config.factors, device=self.device)
        )
        z = self._mu + state.bias + self._bi + self._item_factors @ vector.to(self.device)
        return LOW + (HIGH - LOW) * torch.sigmoid(z)

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        u = to_tensor(users, torch.long, self.device)
        z = (
            self._mu
            + self._bu[u, None]
            + self._bi[None, :]
            + self._user_factors[u] @ self._item_factors.T
        )
        return (LOW + (HIGH - LOW) * torch.sigmoid(z)).cpu()

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u = to_tensor(users, torch.long, self.device)
        i = to_tensor(items, torch.long, self.device)
        z = (
            self._mu
            + self._bu[u]
            + self._bi[i]
            + (self._user_factors[u] * self._item_factors[i]).sum(1)
        )
        return (LOW + (HIGH - LOW) * torch.sigmoid(z)).cpu().numpy()

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self._item_factors.cpu().numpy()

    def _item_bias(self) -> np.ndarray:
        """Item bias converted to stars at the global mean (slope of the sigmoid there), so a
        bias of +0.4 reads as "about 0.4★ above what the factors explain"."""
        s = torch.sigmoid(self._mu)
        return (self._bi * (HIGH - LOW) * s * (1 - s)).cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "mu": self._mu,
            "user_factors": self._user_factors,
            "item_factors": self._item_factors,
            "user_bias": self._bu,
            "item_bias": self._bi,
        }

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._mu = tensors["mu"]
        self._user_factors, self._item_factors = tensors["user_factors"], tensors["item_factors"]
        self._bu, self._bi = tensors["user_bias"], tensors["item_bias"]
        if self._item_factors.shape != (self.n_items, self.config.factors):
            raise ValueError(
                f"item factors {tuple(self._item_factors.shape)} do not match the manifest"
            )

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """The model plus, mid-fit, Adam's per-tensor moments and step (checkpoint only)."""
        out = dict(self.state_tensors())
        if self._opt is not None:
            for name, p in zip(PARAMS, self._params(), strict=True):
                for key, value in self._opt.state.get(p, {}).items():
                    out[f"{ADAM}{name}.{key}"] = value
        return out

    def load_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.load_state_tensors({k: v for k, v in tensors.items() if not k.startswith(ADAM)})
        adam: dict[str, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith(ADAM):
                name, _, field = key[len(ADAM) :].rpartition(".")
                adam.setdefault(name, {})[field] = value
        for name, entry in adam.items():
            if name not in PARAMS or set(entry) != {"step", "exp_avg", "exp_avg_sq"}:
                raise KeyError(f"unexpected optimiser state for {name!r}: {sorted(entry)}")
        self._adam_state = adam
