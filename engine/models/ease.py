"""EASE: a shallow linear item-to-item autoencoder with a closed-form fit (Steck, WWW 2019).

B = argmin ‖X − XB‖² + λ‖B‖² subject to diag(B) = 0, which is B = I − P·diag(1/diag(P)) with
P = (XᵀX + λI)⁻¹. A person's scores are x·B, so fold-in is exact (the same formula a training
user gets) and costs one sparse row times B. Only films rated by at least ``min_count`` people
enter B (the inverse is cubic in the number of films); the rest score by popularity far below.

Defaults from ``python -m engine tune ease`` (protocol R validation split of the embedded data,
seed 100): grid regularization ∈ {100, 200, 400, 800}, min_count ∈ {2, 3}; best 400,
min_count=3 by validation NDCG@10. Binary X beat star-weighted X on the protocol R split at 400,
so "binary" is the default. The scores of both: docs/tuning/ease.txt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch

from engine.data.ratings import Ratings
from engine.models.base import Capability, Recommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.models.torch_typed import inv
from engine.progress import Progress


@dataclass(frozen=True)
class EASEConfig(Config):
    regularization: float = param(
        400.0, low=0, high=1e9, low_open=True, help="λ, the L2 penalty on the film-film weights"
    )
    min_count: int = param(3, low=1, high=1_000_000, help="films with fewer raters stay out of B")
    weighting: Literal["binary", "rating"] = param(
        "binary", help='entries of X: 1 per rating ("binary") or the stars ("rating")'
    )


class EASE(Recommender):
    """Closed-form item-item linear model; the strongest cheap top-N baseline we know."""

    name = "ease"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"similar_items"})
    config_class = EASEConfig
    config: EASEConfig

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        counts = train.item_counts()
        kept = np.flatnonzero(counts >= cfg.min_count)
        if len(kept) == 0:
            raise ValueError(f"no film has {cfg.min_count} ratings; lower min_count")
        x = train.csr()[:, kept]
        if cfg.weighting == "binary":
            x.data[:] = 1.0
        progress(0, 2, "item Gram matrix")
        # float64 for the inverse: the Gram matrix of popular films is badly conditioned
        gram = torch.as_tensor((x.T @ x).toarray().astype(np.float64)).to(self.device)
        gram.diagonal().add_(cfg.regularization)
        p = inv(gram)
        b = -p / p.diagonal()[None, :]
        b.diagonal().zero_()
        progress(1, 2, "inverted")
        self._kept = to_tensor(kept, torch.long, self.device)
        self._b = b.float()
        self._pop = to_tensor(np.log1p(counts), torch.float32, self.device)
        self._train = train.csr()
        progress(2, 2, "done")

    # ------------------------------------------------------------------ people
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        return UserState(items=items, values=values)

    def _user_state(self, user: int) -> UserState:
        lo, hi = self._train.indptr[user], self._train.indptr[user + 1]
        return UserState(
            items=self._train.indices[lo:hi].astype(np.int64), values=self._train.data[lo:hi]
        )

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """Scores for dense rows ``x`` [b, n_items]: x_kept·B on kept films, a popularity
        tie-break far below for the rest (and for everyone with no ratings)."""
        kept_scores = x[:, self._kept] @ self._b
        out = (self._pop / (self._pop.max() + 1.0) - 1e3).expand(x.shape[0], -1).clone()
        out[:, self._kept] = kept_scores + self._pop[self._kept] * 1e-6
        if x.shape[0]:
            empty = x[:, self._kept].abs().sum(dim=1) == 0
            out[empty] = self._pop
        return out

    def _dense(self, rows: list[tuple[np.ndarray, np.ndarray]]) -> torch.Tensor:
        x = torch.zeros(len(rows), self.n_items, device=self.device)
        for r, (items, values) in enumerate(rows):
            w = np.ones_like(values) if self.config.weighting == "binary" else values
            x[r, to_tensor(items, torch.long, self.device)] = to_tensor(
                w, torch.float32, self.device
            )
        return x

    def _score_state(self, state: UserState) -> torch.Tensor:
        """One person: a weighted sum of the B rows of their films (a new member rated ~10, so
        this is ~10 rows instead of a dense row times B)."""
        kept = self._kept.cpu().numpy()
        pos = np.searchsorted(kept, state.items)
        pos = np.minimum(pos, len(kept) - 1)
        inside = kept[pos] == state.items
        if not inside.any():
            return self._rows(torch.zeros(1, self.n_items, device=self.device))[0]
        w = state.values[inside] if self.config.weighting == "rating" else np.ones(inside.sum())
        rows = self._b[to_tensor(pos[inside], torch.long, self.device)]
        kept_scores = to_tensor(w, torch.float32, self.device) @ rows
        out = self._pop / (self._pop.max() + 1.0) - 1e3
        out[self._kept] = kept_scores + self._pop[self._kept] * 1e-6
        return out

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        rows: list[tuple[np.ndarray, np.ndarray]] = []
        for u in users:
            lo, hi = self._train.indptr[u], self._train.indptr[u + 1]
            rows.append((self._train.indices[lo:hi], self._train.data[lo:hi]))
        return self._rows(self._dense(rows)).cpu()

    def _similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Films whose weight from ``item`` is largest (B's row): 'people who saw this also saw'."""
        kept = self._kept.cpu().numpy()
        pos = np.searchsorted(kept, item)
        if pos >= len(kept) or kept[pos] != item:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        w = self._b[pos].cpu().numpy().copy()
        w[pos] = -np.inf
        order = np.lexsort((kept, -w))[: min(k, len(kept) - 1)]
        return kept[order], w[order]

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        t = self._train
        return {
            "kept": self._kept,
            "weights": self._b,
            "log_popularity": self._pop,
            "train_indptr": torch.as_tensor(t.indptr.astype(np.int64)),
            "train_indices": torch.as_tensor(t.indices.astype(np.int64)),
            "train_data": torch.as_tensor(t.data.astype(np.float32)),
        }

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._kept, self._b, self._pop = (
            tensors["kept"],
            tensors["weights"],
            tensors["log_popularity"],
        )
        self._train = sp.csr_matrix(
            (
                tensors["train_data"].cpu().numpy(),
                tensors["train_indices"].cpu().numpy(),
                tensors["train_indptr"].cpu().numpy(),
            ),
            shape=(self.n_users, self.n_items),
        )


@dataclass(frozen=True)
class EASEFoldInConfig(EASEConfig):
    regularization: float = param(
        6400.0, low=0, high=1e9, low_open=True, help="λ, the L2 penalty on the film-film weights"
    )


class EASEFoldIn(EASE):
    """EASE tuned for new members who have rated ~10 films (the app's case), not for top-N of
    training users: a heavier λ smooths B towards popular co-occurrences, which is what a short
    profile can support. Default from ``python -m engine tune ease:foldin`` (fold-in validation:
    ``split_f(train of protocol F, seed 100)``, 10 random reveals): grid regularization ∈ {400,
    800, 1600, 3200, 6400, 12800}; best 6400 by NDCG@10 (the scores: docs/tuning/ease.txt)."""

    name = "ease-foldin"
    config_class = EASEFoldInConfig
