"""Item-item cosine neighbours with shrinkage (Sarwar et al. 2001; Deshpande & Karypis 2004).

sim(a, b) = x_a·x_b / (|x_a| |x_b| + shrink) over the binary "who rated it" columns; only the
``neighbours`` most similar films of each film are kept (a scipy.sparse matrix S, row a = a's
neighbours). A person's score for film i is Σ_j w_j S[j, i] over the films j they rated, with
w_j = 1 ("binary"), the rating ("rating") or the rating minus their mean ("centred").

Defaults from ``python -m engine tune knn`` (protocol R validation split of the embedded data,
seed 100): grid neighbours ∈ {50, 200}, shrink ∈ {0, 10}, weighting ∈ {binary, rating}; best
neighbours=50, shrink=10, rating by validation NDCG@10 (the scores: docs/tuning/knn.txt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch

from engine.data.ratings import Ratings
from engine.models.base import Capability, Recommender, UserState
from engine.models.config import Config, param
from engine.progress import Progress

Weighting = Literal["binary", "rating", "centred"]


@dataclass(frozen=True)
class KNNConfig(Config):
    neighbours: int = param(50, low=1, high=100_000, help="similar films kept per film")
    shrink: float = param(10.0, low=0, high=1e6, help="damps similarities resting on few co-raters")
    weighting: Weighting = param(
        "rating",
        help="how a person's ratings weigh their films' neighbours: 1, the stars, or stars − mean",
    )
    block: int = param(
        1024, low=1, high=1 << 20, help="films per block when computing similarities (memory)"
    )


def _weights(values: np.ndarray, weighting: Weighting) -> np.ndarray:
    if weighting == "binary":
        return np.ones_like(values, dtype=np.float32)
    if weighting == "rating":
        return values.astype(np.float32)
    return (values - values.mean()).astype(np.float32) if len(values) else values


class ItemKNN(Recommender):
    """Item-based top-N neighbours; no user factors, so fold-in is exact and instant."""

    name = "knn"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"similar_items"})
    config_class = KNNConfig
    config: KNNConfig

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        binary = train.csr()
        binary.data[:] = 1.0
        self._train = train.csr()
        # Gram blocks by scipy (sparse × sparse), top-k by torch: scipy has no sparse top-k and
        # the dense Gram of a 60k-film catalogue would not fit in memory at once.
        xt = binary.T.tocsr()
        norms = torch.as_tensor(np.sqrt(np.asarray(binary.sum(axis=0)).ravel())).to(self.device)
        n = train.n_items
        k = min(cfg.neighbours, n - 1)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        starts = list(range(0, n, cfg.block))
        for step, start in enumerate(starts):
            stop = min(start + cfg.block, n)
            block = torch.as_tensor((xt[start:stop] @ binary).toarray()).to(self.device)
            sims = block / (norms[start:stop, None] * norms[None, :] + cfg.shrink + 1e-12)
            idx = torch.arange(start, stop, device=self.device)
            sims[idx - start, idx] = 0.0  # a film is not its own neighbour
            top = torch.topk(sims, k, dim=1)
            keep = top.values > 0
            rows.append(idx[:, None].expand(-1, k)[keep].cpu().numpy())
            cols.append(top.indices[keep].cpu().numpy())
            vals.append(top.values[keep].cpu().numpy())
            progress(step + 1, len(starts), "item similarities")
        self._set_similarity(
            sp.csr_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(n, n),
                dtype=np.float32,
            )
        )

    def _set_similarity(self, sim: sp.csr_matrix) -> None:
        sim.sort_indices()
        self._sim = sim

    @property
    def similarity(self) -> sp.csr_matrix:
        """Item × item similarities, row a holding a's kept neighbours."""
        return self._sim

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        return UserState(items=items, values=values)

    def _user_state(self, user: int) -> UserState:
        lo, hi = self._train.indptr[user], self._train.indptr[user + 1]
        return UserState(
            items=self._train.indices[lo:hi].astype(np.int64), values=self._train.data[lo:hi]
        )

    def _score_state(self, state: UserState) -> torch.Tensor:
        w = _weights(state.values, self.config.weighting)
        if len(state.items) == 0:  # prior: films that are neighbours of many films
            return torch.as_tensor(np.asarray(self._sim.sum(axis=0)).ravel().astype(np.float32))
        rows = self._sim[state.items]
        return torch.as_tensor(np.asarray(rows.T @ w).ravel().astype(np.float32))

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        x = self._train[users]
        if self.config.weighting == "binary":
            x.data[:] = 1.0
        elif self.config.weighting == "centred":
            counts = np.diff(x.indptr)
            means = np.asarray(x.sum(axis=1)).ravel() / np.maximum(counts, 1)
            x.data -= np.repeat(means, counts).astype(np.float32)
        return torch.as_tensor((x @ self._sim).toarray().astype(np.float32))

    def _similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._sim.indptr[item], self._sim.indptr[item + 1]
        idx, sims = self._sim.indices[lo:hi], self._sim.data[lo:hi]
        order = np.lexsort((idx, -sims))[:k]
        return idx[order].astype(np.int64), sims[order]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        t = self._train
        return {
            "sim_indptr": torch.as_tensor(self._sim.indptr.astype(np.int64)),
            "sim_indices": torch.as_tensor(self._sim.indices.astype(np.int64)),
            "sim_data": torch.as_tensor(self._sim.data.astype(np.float32)),
            "train_indptr": torch.as_tensor(t.indptr.astype(np.int64)),
            "train_indices": torch.as_tensor(t.indices.astype(np.int64)),
            "train_data": torch.as_tensor(t.data.astype(np.float32)),
        }

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        def csr(prefix: str, shape: tuple[int, int]) -> sp.csr_matrix:
            return sp.csr_matrix(
                (
                    tensors[f"{prefix}_data"].cpu().numpy(),
                    tensors[f"{prefix}_indices"].cpu().numpy(),
                    tensors[f"{prefix}_indptr"].cpu().numpy(),
                ),
                shape=shape,
            )

        self._train = csr("train", (self.n_users, self.n_items))
        self._set_similarity(csr("sim", (self.n_items, self.n_items)))
