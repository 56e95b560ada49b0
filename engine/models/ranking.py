"""Pairwise ranking models trained on sampled negatives: bilinear ("ranking") and MLP ("ranking-mlp").

Each rated film i of user u is a positive; each epoch draws ``negatives`` random films per positive
and (``hard``) keeps the one the model currently scores highest (``negatives`` = 1 is plain BPR,
Rendle et al. 2009; more approximates WARP's hunt for a violating negative, Weston et al. 2011) or
averages the loss over all of them (an unbiased, lower-variance estimate of BPR's AUC surrogate). The loss is
BPR's −log σ(s_ui − s_uj) or the margin hinge max(0, m − s_ui + s_uj), plus L2 on the vectors
that took part. Scores: bilinear s_ui = p_u·q_i + b_i; MLP s_ui = wᵀ relu(W [p_u⊙q_i, p_u, q_i] + c)
+ b_i (He et al. 2017's NCF idea, kept shallow so it scores a catalogue quickly).

Fold-in: a new person's vector is found by full-batch Adam steps on the *expected* training loss
with the films frozen: every film is a negative, weighted by the probability that it is the
highest-scoring of ``negatives`` uniform draws (((rank+1)/n)^m − (rank/n)^m by score rank), so
fold-in minimises what training minimised for a user, deterministically.

Defaults from ``python -m engine tune ranking`` (protocol R validation split of the embedded data,
seed 100, 20 epochs): grid regularization ∈ {0.005, 0.01}, negatives ∈ {2, 4}, hard ∈ {True,
False}; best regularization=0.01, 4 averaged negatives by validation NDCG@10; then
``python -m engine tune ranking:schedule --metric auc``: lr ∈ {0.005, 0.01} × epochs ∈ {20, 40},
ranked by validation AUC because AUC is what this pairwise model is for (its quality bar); best
lr=0.005, 40 epochs (by NDCG@10 lr=0.01 would have won, by a little). The scores of both
searches: docs/tuning/ranking.txt. ``ranking-mlp`` shares these defaults (its own
search, ``python -m engine tune ranking-mlp``, was not run yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from engine.data.ratings import Ratings
from engine.models.base import Capability, Recommender, UserState, cosine_neighbours, to_tensor
from engine.models.config import Config, param
from engine.models.torch_typed import descend
from engine.progress import Progress


@dataclass(frozen=True)
class RankingConfig(Config):
    factors: int = param(64, low=1, high=1024, help="length of each person's and film's vector")
    epochs: int = param(
        40, low=1, high=10_000, quick=15, help="full passes of Adam over the ratings"
    )
    lr: float = param(0.005, low=0, high=1, low_open=True, help="Adam's step size")
    batch_size: int = param(2048, low=1, high=2**31 - 1, help="ratings per Adam step")
    negatives: int = param(4, low=1, high=1000, help="random films drawn per rated film")
    hard: bool = param(
        False, help="train against the highest-scoring drawn film (WARP-like), else all of them"
    )
    loss: Literal["bpr", "margin"] = param(
        "bpr", help='"bpr": −log σ(s⁺ − s⁻); "margin": max(0, margin − s⁺ + s⁻)'
    )
    margin: float = param(1.0, low=0, high=100, low_open=True, help="the margin loss's margin")
    regularization: float = param(
        0.01, low=0, high=100, help="L2 on the vectors in each pair, per pair"
    )
    init_std: float = param(0.1, low=0, high=10, help="spread of the random initial vectors")
    hidden: int = param(64, low=1, high=4096, help="MLP width (ranking-mlp only)")
    foldin_steps: int = param(
        60, low=0, high=10_000, quick=4, help="Adam steps when folding a new person in"
    )
    foldin_lr: float = param(
        0.05, low=0, high=10, low_open=True, help="Adam's step size when folding in"
    )


class _Bilinear(nn.Module):
    def __init__(self, n_users: int, n_items: int, cfg: RankingConfig, gen: torch.Generator):
        super().__init__()
        self.user = nn.Parameter(torch.randn(n_users, cfg.factors, generator=gen) * cfg.init_std)
        self.item = nn.Parameter(torch.randn(n_items, cfg.factors, generator=gen) * cfg.init_std)
        self.bias = nn.Parameter(torch.zeros(n_items))

    def pair(self, p: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of users ``p`` [b, d] for ``items`` [b, m] -> [b, m]."""
        return torch.einsum("bd,bmd->bm", p, self.item[items]) + self.bias[items]

    def all_items(self, p: torch.Tensor) -> torch.Tensor:
        """Scores of users ``p`` [b, d] for every film -> [b, n_items]."""
        return p @ self.item.T + self.bias


class _MLP(_Bilinear):
    def __init__(self, n_users: int, n_items: int, cfg: RankingConfig, gen: torch.Generator):
        super().__init__(n_users, n_items, cfg, gen)
        d, h = cfg.factors, cfg.hidden
        scale = 1.0 / np.sqrt(d)
        self.w_prod = nn.Parameter(torch.randn(h, d, generator=gen) * scale)
        self.w_user = nn.Parameter(torch.randn(h, d, generator=gen) * scale)
        self.w_item = nn.Parameter(torch.randn(h, d, generator=gen) * scale)
        self.c = nn.Parameter(torch.zeros(h))
        self.out = nn.Parameter(torch.randn(h, generator=gen) / np.sqrt(h))

    def _score(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        # W [p⊙q, p, q] split into three blocks so the q-only part is shared across users
        h = (p * q) @ self.w_prod.T + p @ self.w_user.T + q @ self.w_item.T + self.c
        return torch.relu(h) @ self.out

    def pair(self, p: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self._score(p[:, None, :], self.item[items]) + self.bias[items]

    def all_items(self, p: torch.Tensor) -> torch.Tensor:
        rows = [self._score(p[k : k + 16, None, :], self.item[None]) for k in range(0, len(p), 16)]
        return torch.cat(rows) + self.bias


class BilinearRanking(Recommender):
    """Bilinear pairwise ranking (BPR / WARP-like negatives)."""

    name = "ranking"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items"}
    )
    config_class = RankingConfig
    config: RankingConfig
    module_class: type[_Bilinear] = _Bilinear

    def _loss(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "bpr":
            return nn.functional.softplus(neg - pos)
        return torch.relu(self.config.margin - pos + neg)

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        self.net = self.module_class(train.n_users, train.n_items, cfg, gen).to(self.device)
        self._train = train.csr()
        u_all, i_all, _ = train.to_torch(self.device)
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        n = len(u_all)
        dev_gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        for epoch in range(cfg.epochs):
            order = torch.randperm(n, generator=dev_gen, device=self.device)
            negs = torch.randint(
                train.n_items, (n, cfg.negatives), generator=dev_gen, device=self.device
            )
            total = 0.0
            for start in range(0, n, cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                u, i, cand = u_all[idx], i_all[idx], negs[idx]
                p = self.net.user[u]
                if cfg.negatives > 1 and cfg.hard:  # the hardest of the sampled negatives
                    with torch.no_grad():
                        hardest = self.net.pair(p, cand).argmax(1)
                    cand = cand.gather(1, hardest[:, None])
                pos = self.net.pair(p, i[:, None])
                neg = self.net.pair(p, cand)  # [b, 1] (hard) or [b, negatives] (averaged)
                reg = p.square().sum(1) + self.net.item[i].square().sum(1)
                reg = reg + self.net.item[cand].square().sum(2).mean(1)
                loss = (self._loss(pos, neg).mean(1) + cfg.regularization * reg).mean()
                opt.zero_grad()
                descend(loss, opt)
                total += float(loss.detach()) * len(idx)
            progress(epoch + 1, cfg.epochs, f"loss {total / n:.4f}")
        self.net.requires_grad_(False)

    # ------------------------------------------------------------------ people
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        cfg = self.config
        p = torch.zeros(cfg.factors, device=self.device)
        if len(items) == 0:
            return UserState(items=items, values=values, vector=p)
        with torch.no_grad():  # start from the mean of the rated films' vectors
            p = self.net.item[to_tensor(items, torch.long, self.device)].mean(0).clone()
        p.requires_grad_(True)
        pos_idx = to_tensor(items, torch.long, self.device)
        n, m = self.n_items, (cfg.negatives if cfg.hard else 1)
        opt = torch.optim.Adam([p], lr=cfg.foldin_lr)
        for _ in range(cfg.foldin_steps):
            scores = self.net.all_items(p[None])[0]
            with torch.no_grad():  # P(film j is the hardest of m uniform draws), by rank
                rank = torch.empty(n, device=self.device)
                rank[scores.argsort()] = torch.arange(n, device=self.device, dtype=rank.dtype)
                weight = ((rank + 1) / n) ** m - (rank / n) ** m
            pair = self._loss(scores[pos_idx][:, None], scores[None, :])  # [pos, every film]
            loss = (pair * weight[None, :]).sum(1).mean() + cfg.regularization * p.square().sum()
            opt.zero_grad()
            descend(loss, opt)
        return UserState(items=items, values=values, vector=p.detach())

    def _user_state(self, user: int) -> UserState:
        lo, hi = self._train.indptr[user], self._train.indptr[user + 1]
        return UserState(
            items=self._train.indices[lo:hi].astype(np.int64),
            values=self._train.data[lo:hi],
            vector=self.net.user[user],
        )

    def _score_state(self, state: UserState) -> torch.Tensor:
        vector = state.vector  # None for a state made elsewhere: the zero vector, biases only
        p = torch.zeros(self.config.factors) if vector is None else vector
        with torch.no_grad():
            return self.net.all_items(p.to(self.device)[None])[0]

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            p = self.net.user[to_tensor(users, torch.long, self.device)]
            return self.net.all_items(p).cpu()

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray | None:
        return self.net.item.detach().cpu().numpy()

    def _item_bias(self) -> np.ndarray:
        return self.net.bias.detach().cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        t = self._train
        out = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        out.update(
            {
                "train_indptr": torch.as_tensor(t.indptr.astype(np.int64)),
                "train_indices": torch.as_tensor(t.indices.astype(np.int64)),
                "train_data": torch.as_tensor(t.data.astype(np.float32)),
            }
        )
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        gen = torch.Generator().manual_seed(0)
        self.net = self.module_class(self.n_users, self.n_items, self.config, gen).to(self.device)
        self.net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        self.net.requires_grad_(False)
        self._train = sp.csr_matrix(
            (
                tensors["train_data"].cpu().numpy(),
                tensors["train_indices"].cpu().numpy(),
                tensors["train_indptr"].cpu().numpy(),
            ),
            shape=(self.n_users, self.n_items),
        )


class MLPRanking(BilinearRanking):
    """The same pairwise training with an MLP match function instead of a dot product.

    Its film embeddings still say which films are alike (``similar_items``), but a person's
    embedding scores films through the MLP, not by a dot product with them, so it declares no
    ``item_vectors``: a factor map would place people where their scores do not put them.
    """

    name = "ranking-mlp"
    module_class = _MLP
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"item_bias", "similar_items"})

    def _item_vectors(self) -> np.ndarray | None:
        return None

    def _similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return cosine_neighbours(self.net.item.detach().cpu().numpy(), item, k)
