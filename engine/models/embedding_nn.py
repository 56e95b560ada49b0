"""fastai's deep collaborative model, ``collab_learner(use_nn=True, layers=[100, 50],
y_range=(0, 5.5))``, re-implemented in PyTorch (fastai is not a dependency of the engine).

fastai builds it as ``EmbeddingNN``, a ``TabularModel`` with two categorical inputs:

    r̂(u, i) = 5.5 · σ(MLP([e_u, e_i])),
    MLP = Linear(d_u + d_i, 100, no bias) → ReLU → BatchNorm → Dropout(p)
          → Linear(100, 50, no bias) → ReLU → BatchNorm → Dropout(p) → Linear(50, 1),

(``LinBnDrop`` with ``lin_first=True``; no batchnorm after the last layer; dropout p = 0 by
default). Embedding lengths follow fastai's ``emb_sz_rule``: min(600, round(1.6 · n^0.56)) for a
variable with n levels, counting fastai's extra "#na#" level (the embedded sample's 671 people
and 9,066 films: 61 and 263). Embeddings start as fastai's ``trunc_normal_(std=0.01)``: N(0, 1) draws
folded into (−2, 2) by ``fmod(2)``, times 0.01.

Training is fastai's ``fit_one_cycle(5, 5e-3, wd=0.1)`` from its collab tutorial: mini-batches of
64, AdamW (betas 0.9/0.99, eps 1e-5) with decoupled weight decay 0.1 on the embeddings and linear
weights but not on batchnorm parameters or biases (fastai's ``wd_bn_bias=False``), and the one-cycle
schedule through torch's ``OneCycleLR`` (warm-up over the first 25 %, cosine anneal; momentum
0.95 → 0.85 → 0.95).

Unlike a dot-product model there are no biases and a person's embedding is not in the film
embeddings' space (the MLP compares them). So:

- fold-in is the MAP estimate of a new member's embedding p (everything else frozen, batchnorm
  in eval mode): the squared error summed over their ratings plus λ|p − p̄|², a Gaussian prior
  around the average person p̄ that weighs less the more they rated. The objective is not
  convex (the MLP), so it is solved to convergence, in float64, by L-BFGS from several starts:
  p̄ and the training people whose embeddings already fit the member's ratings best; the start
  that ends lowest wins (the ReLUs make the objective piecewise smooth, so the solve stops where
  the objective stops falling rather than at a zero gradient). A fixed number of Adam steps
  from p̄ stopped short of the minimum for most people, and where it stopped depended on
  rounding, i.e. on the CPU; this solve ends at the same embedding on any CPU and thread count. The embedding lives in
  ``UserState.extra``;
- ``UserState.vector`` is the person's *direction among the film embeddings*: the ridge regression
  of their predicted stars (centred) on the film embeddings (centred), so on a factor map they
  point towards the films the model predicts they rate highly;
- film embeddings are ``item_vectors`` and give ``similar_items`` by cosine.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from engine.data.ratings import Ratings
from engine.models.base import (
    Capability,
    ExplicitRecommender,
    UserState,
    epoch_generator,
    to_tensor,
)
from engine.models.config import Config, param
from engine.models.torch_typed import backward, descend, lbfgs_step, solve
from engine.progress import Progress

LOW, HIGH = 0.0, 5.5
EMBEDDING = "embedding"  # UserState.extra key of a person's embedding


def emb_sz_rule(n_levels: int) -> int:
    """fastai's embedding length for a categorical variable with ``n_levels`` levels."""
    return min(600, round(1.6 * n_levels**0.56))


@dataclass(frozen=True)
class EmbeddingNNConfig(Config):
    """fastai's defaults for ``collab_learner(use_nn=True, layers=[100, 50], y_range=(0, 5.5))``
    trained with ``fit_one_cycle(5, 5e-3, wd=0.1)``; the fold-in settings are ours."""

    user_factors: int | None = param(
        None,
        low=1,
        high=4096,
        help="person embedding length; None: fastai's rule (61 for 671 people)",
    )
    item_factors: int | None = param(
        None,
        low=1,
        high=4096,
        help="film embedding length; None: fastai's rule (263 for 9,066 films)",
    )
    hidden: int = param(100, low=1, high=4096, help="width of the first hidden layer")
    hidden2: int = param(50, low=1, high=4096, help="width of the second hidden layer")
    dropout: float = param(0.0, low=0, high=0.9, help="dropout after each hidden layer (ps)")
    embed_dropout: float = param(0.0, low=0, high=0.9, help="dropout on the embeddings (embed_p)")
    epochs: int = param(5, low=1, high=1000, quick=2, help="one-cycle passes over the ratings")
    lr: float = param(5e-3, low=0, high=1, low_open=True, help="the one-cycle's peak step size")
    weight_decay: float = param(
        0.1, low=0, high=10, help="AdamW's decoupled weight decay (not on batchnorm or biases)"
    )
    batch_size: int = param(64, low=1, high=2**31 - 1, help="ratings per AdamW step")
    foldin_steps: int = param(
        100, low=0, high=10_000, quick=20, help="L-BFGS iterations of a new member's fold-in (0: p̄)"
    )
    foldin_starts: int = param(
        4,
        low=1,
        high=1024,
        help="fold-in's starts: p̄ and the training people that fit the member's ratings best",
    )
    foldin_regularization: float = param(
        30.0,
        low=0,
        high=1e6,
        help="λ of fold-in's pull λ|p − p̄|² towards the average person's embedding p̄",
    )

    # fold-in was a fixed number of Adam steps with this step size; the solve needs none
    RETIRED: ClassVar[frozenset[str]] = frozenset({"foldin_lr"})


class _EmbeddingNN(nn.Module):
    """fastai's EmbeddingNN (see the module docstring), with the first layer split into its
    person and film halves so a catalogue's film half is computed once per scoring call."""

    def __init__(self, n_users: int, n_items: int, cfg: EmbeddingNNConfig):
        super().__init__()
        du = cfg.user_factors or emb_sz_rule(n_users + 1)
        di = cfg.item_factors or emb_sz_rule(n_items + 1)
        self.user = nn.Embedding(n_users, du)
        self.item = nn.Embedding(n_items, di)
        self.embed_drop = nn.Dropout(cfg.embed_dropout)
        self.first = nn.Linear(du + di, cfg.hidden, bias=False)
        self.rest = nn.Sequential(
            nn.ReLU(),
            nn.BatchNorm1d(cfg.hidden),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.hidden2, bias=False),
            nn.ReLU(),
            nn.BatchNorm1d(cfg.hidden2),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden2, 1),
        )

    def init_embeddings(self, gen: torch.Generator) -> None:
        with torch.no_grad():
            for table in (self.user, self.item):
                draws = torch.randn(table.weight.shape, generator=gen).fmod(2.0)
                table.weight.copy_(draws * 0.01)

    def stars(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """Predicted stars for person embeddings ``p`` [b, du] and films ``q`` [b, di]."""
        x = self.embed_drop(torch.cat([p, q], 1))
        return LOW + (HIGH - LOW) * torch.sigmoid(self.rest(self.first(x))[:, 0])

    def all_items(self, p: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """Stars of people ``p`` [b, du] for every film -> [b, n_items] (eval mode)."""
        du = p.shape[1]
        w = self.first.weight
        film_part = self.item.weight @ w[:, du:].T  # [n_items, hidden], shared by every person
        rows: list[torch.Tensor] = []
        for start in range(0, len(p), chunk):
            person_part = p[start : start + chunk] @ w[:, :du].T  # [c, hidden]
            h = (person_part[:, None, :] + film_part[None, :, :]).reshape(-1, w.shape[0])
            logits = self.rest(h)[:, 0].reshape(len(person_part), -1)
            rows.append(LOW + (HIGH - LOW) * torch.sigmoid(logits))
        return torch.cat(rows)


class EmbeddingNN(ExplicitRecommender):
    """fastai's deep collaborative model: an MLP over concatenated person and film embeddings."""

    name = "embedding-nn"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "similar_items", "expected_stars"}
    )
    config_class = EmbeddingNNConfig
    config: EmbeddingNNConfig

    # ------------------------------------------------------------------ training
    def _build(self) -> _EmbeddingNN:
        return _EmbeddingNN(self.n_users, self.n_items, self.config).to(self.device)

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        net = self._build()
        net.init_embeddings(torch.Generator().manual_seed(cfg.seed))
        decayed = [net.user.weight, net.item.weight, net.first.weight]
        decayed += [m.weight for m in net.rest if isinstance(m, nn.Linear)]
        ids = {id(p) for p in decayed}
        rest = [p for p in net.parameters() if id(p) not in ids]
        opt = torch.optim.AdamW(
            [
                {"params": decayed, "weight_decay": cfg.weight_decay},
                {"params": rest, "weight_decay": 0.0},
            ],
            lr=cfg.lr,
            betas=(0.9, 0.99),
            eps=1e-5,
            # the same AdamW in one kernel per step: the per-tensor loop spent most of the fit
            # updating the dense embedding tables (21.8 s an epoch on the embedded data, 4.0 fused)
            fused=True,
        )
        users, items, values = train.to_torch(self.device)
        n = len(values)
        steps = math.ceil(n / cfg.batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=cfg.lr,
            total_steps=cfg.epochs * steps,
            pct_start=0.25,
            div_factor=25.0,
            final_div_factor=1e5,
            base_momentum=0.85,
            max_momentum=0.95,
        )
        net.train()
        for epoch in range(cfg.epochs):
            order = torch.randperm(n, generator=epoch_generator(cfg.seed, epoch)).to(self.device)
            total = 0.0
            for start in range(0, n, cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                if len(idx) < 2:  # batchnorm needs two rows to estimate a batch's spread
                    continue
                pred = net.stars(net.user(users[idx]), net.item(items[idx]))
                loss = (pred - values[idx]).square().mean()
                opt.zero_grad(set_to_none=True)
                descend(loss, opt)
                schedule.step()
                total += float(loss.detach()) * len(idx)
            progress(epoch + 1, cfg.epochs, f"train rmse {math.sqrt(total / n):.4f}")
        net.eval()
        net.requires_grad_(False)
        self.net = net

    # ------------------------------------------------------------------ people
    def _mean_embedding(self) -> torch.Tensor:
        return self.net.user.weight.mean(0)

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """The MAP embedding of a new member (see the module docstring); p̄ without ratings."""
        if not len(items) or not self.config.foldin_steps:
            return self._state(items, values, self._mean_embedding())
        return self._state(items, values, self._map_embedding(items, values))

    def _double_net(self) -> _EmbeddingNN:
        """A float64 copy of the frozen network, made once per fitted network: fold-in's
        solve in float64 ends where it ends whatever the CPU's vector width."""
        cached = getattr(self, "_net64", None)
        if cached is None or cached[0] is not self.net:
            cached = (self.net, copy.deepcopy(self.net).double())
            self._net64 = cached
        return cached[1]

    def _map_embedding(self, items: np.ndarray, values: np.ndarray) -> torch.Tensor:
        """argmin_p Σ (r̂(p, i) − r_i)² + λ|p − p̄|², by L-BFGS from ``foldin_starts`` starts."""
        cfg = self.config
        net = self._double_net()
        anchor = net.user.weight.mean(0)
        q = net.item.weight[to_tensor(items, torch.long, self.device)]
        r = to_tensor(values, torch.float64, self.device)

        def objective(p: torch.Tensor) -> torch.Tensor:  # [b, du] -> [b]
            b, n = len(p), len(q)
            stars = net.stars(p.repeat_interleave(n, 0), q.repeat(b, 1)).reshape(b, n)
            return (stars - r).square().sum(1) + cfg.foldin_regularization * (
                (p - anchor).square().sum(1)
            )

        candidates = torch.cat([anchor[None], net.user.weight])
        chunk = max(1, 2**16 // len(q))
        with torch.no_grad():
            fit = torch.cat(
                [objective(candidates[s : s + chunk]) for s in range(0, len(candidates), chunk)]
            )
        # stable order: equal objectives keep p̄ and the lower person index first
        order = torch.sort(fit, stable=True).indices[: cfg.foldin_starts]
        p = candidates[order].clone().requires_grad_(True)
        opt = torch.optim.LBFGS(
            [p],
            lr=1.0,
            max_iter=cfg.foldin_steps,
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            total = objective(p).sum()  # the starts are independent: one sum, separate minima
            backward(total)
            return total

        lbfgs_step(opt, closure)
        with torch.no_grad():  # the starts stay in the running: the result never fits worse
            ends = torch.cat([p.detach(), candidates[order]])
            best = int(torch.argmin(objective(ends)))
        return ends[best].float()

    def _state(self, items: np.ndarray, values: np.ndarray, embedding: torch.Tensor) -> UserState:
        return UserState(
            items=items,
            values=values,
            vector=self._direction(embedding),
            extra={EMBEDDING: embedding},
        )

    def _direction(self, embedding: torch.Tensor) -> torch.Tensor:
        """Ridge regression of the person's centred predicted stars on the centred film
        embeddings: where they point among the films (see the module docstring)."""
        with torch.no_grad():
            stars = self.net.all_items(embedding[None])[0].double()
            films = self.net.item.weight.double()
            films = films - films.mean(0)
            gram = films.T @ films
            ridge = 1e-3 * float(torch.diagonal(gram).mean()) + 1e-12
            eye = torch.eye(len(gram), dtype=gram.dtype, device=gram.device)
            return solve(gram + ridge * eye, films.T @ (stars - stars.mean())).float()

    def _user_state(self, user: int) -> UserState:
        empty = np.empty(0, np.int64)
        return self._state(empty, np.empty(0, np.float32), self.net.user.weight[user].clone())

    # ------------------------------------------------------------------ scoring
    def _score_state(self, state: UserState) -> torch.Tensor:
        embedding = state.extra.get(EMBEDDING)  # a state made elsewhere: the average person
        p = self._mean_embedding() if embedding is None else embedding
        with torch.no_grad():
            return self.net.all_items(torch.as_tensor(p).to(self.device)[None])[0]

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.net.all_items(
                self.net.user.weight[to_tensor(users, torch.long, self.device)]
            )

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u = to_tensor(users, torch.long, self.device)
        i = to_tensor(items, torch.long, self.device)
        out: list[torch.Tensor] = []
        with torch.no_grad():
            for start in range(0, len(u), 65536):
                part = slice(start, start + 65536)
                out.append(self.net.stars(self.net.user(u[part]), self.net.item(i[part])))
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, np.float32)

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self.net.item.weight.detach().cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.net.state_dict())

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        net = self._build()
        net.load_state_dict(tensors)
        net.eval()
        net.requires_grad_(False)
        self.net = net
