"""Baselines every other model must beat: popularity, and global mean plus damped biases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.models.base import Capability, ExplicitRecommender, Recommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.progress import Progress


class Popularity(Recommender):
    """Ranks films by how many people rated them: the same list for everyone."""

    name = "popularity"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def _fit(self, train: Ratings, progress: Progress) -> None:
        self._counts = torch.as_tensor(train.item_counts(), dtype=torch.float32, device=self.device)
        progress(1, 1, "counted")

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        return UserState(items=items, values=values)

    def _user_state(self, user: int) -> UserState:
        return UserState(items=np.empty(0, np.int64), values=np.empty(0, np.float32))

    def _score_state(self, state: UserState) -> torch.Tensor:
        return torch.log1p(self._counts)

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        return torch.log1p(self._counts).cpu().expand(len(users), -1).clone()

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"counts": self._counts}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._counts = tensors["counts"]


@dataclass(frozen=True)
class BiasConfig(Config):
    user_damping: float = param(
        5.0, low=0, high=1e6, help="pseudo-ratings at the global mean pulling a user's bias to 0"
    )
    item_damping: float = param(
        5.0, low=0, high=1e6, help="pseudo-ratings at the global mean pulling a film's bias to 0"
    )
    epochs: int = param(5, low=1, high=1000, help="alternating sweeps over film and user biases")


class BiasBaseline(ExplicitRecommender):
    """r̂ = μ + b_u + b_i with damped means (Koren 2010, eq. 2), fitted by a few alternating sweeps.

    Small and closed form: it is the yardstick for the explicit models and their prior for
    people with no ratings.
    """

    name = "baseline"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"item_bias", "expected_stars"})
    config_class = BiasConfig
    config: BiasConfig

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        mu = float(train.values.mean())
        bu = np.zeros(train.n_users)
        bi = np.zeros(train.n_items)
        n_u, n_i = train.user_counts(), train.item_counts()
        for sweep in range(cfg.epochs):
            resid = train.values - mu - bu[train.users]
            bi = np.bincount(train.items, resid, train.n_items) / (n_i + cfg.item_damping)
            resid = train.values - mu - bi[train.items]
            bu = np.bincount(train.users, resid, train.n_users) / (n_u + cfg.user_damping)
            progress(sweep + 1, cfg.epochs, "bias sweeps")
        self._mu = torch.tensor(mu, dtype=torch.float32, device=self.device)
        self._bu = torch.as_tensor(bu, dtype=torch.float32, device=self.device)
        self._bi = torch.as_tensor(bi, dtype=torch.float32, device=self.device)

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        bi = self._bi.cpu().numpy()[items]
        bias = float(
            (values - float(self._mu) - bi).sum() / (len(items) + self.config.user_damping)
        )
        return UserState(items=items, values=values, bias=bias)

    def _user_state(self, user: int) -> UserState:
        return UserState(
            items=np.empty(0, np.int64), values=np.empty(0, np.float32), bias=float(self._bu[user])
        )

    def _score_state(self, state: UserState) -> torch.Tensor:
        return (self._mu + state.bias + self._bi).clamp(MIN_RATING, MAX_RATING)

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        idx = to_tensor(users, torch.long, self.device)
        out = self._mu + self._bu[idx, None] + self._bi[None, :]
        return out.clamp(MIN_RATING, MAX_RATING).cpu()

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        u = to_tensor(users, torch.long, self.device)
        i = to_tensor(items, torch.long, self.device)
        return (self._mu + self._bu[u] + self._bi[i]).clamp(MIN_RATING, MAX_RATING).cpu().numpy()

    def _item_bias(self) -> np.ndarray:
        return self._bi.cpu().numpy()

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"mu": self._mu, "user_bias": self._bu, "item_bias": self._bi}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._mu, self._bu, self._bi = tensors["mu"], tensors["user_bias"], tensors["item_bias"]
