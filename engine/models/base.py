"""The one interface every model implements.

A model is fitted on ``Ratings``, can *fold in* a person it never saw from a few ratings (no
retraining), and scores every film for a user. Explicit models score on the star scale
(``score`` is a predicted rating); implicit models score a preference whose scale means nothing
across users. Save/load goes through ``engine.artifacts`` as tensors plus a JSON manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np
import torch

from engine.data.ratings import Ratings
from engine.device import resolve
from engine.progress import Progress, silent

if TYPE_CHECKING:
    from engine.checkpoint import Checkpoint

Kind = Literal["explicit", "implicit"]
# What a model can show beyond scores, declared on its class so callers never probe methods:
# film embeddings (factor maps), film biases (loved/hated), film neighbours, expected stars.
Capability = Literal["item_vectors", "item_bias", "similar_items", "expected_stars"]


@dataclass
class UserState:
    """A person as a model sees them.

    ``items``/``values`` are what they told us (item indices and star ratings); ``vector`` and
    ``bias`` are what the model made of it (None where the model has no user factors, e.g. kNN).
    ``extra`` holds model-specific state.
    """

    items: np.ndarray
    values: np.ndarray
    vector: torch.Tensor | None = None
    bias: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    """Hyperparameters; each model subclasses this with its own fields and defaults."""

    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown hyperparameters for {cls.__name__}: {sorted(unknown)}")
        return cls(**values)


def as_index_arrays(items: Any, values: Any, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a person's ratings: int64 item indices within range, finite float32 values."""
    items = np.asarray(items, dtype=np.int64).reshape(-1)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if len(items) != len(values):
        raise ValueError(f"{len(items)} films but {len(values)} ratings")
    if len(items) and (items.min() < 0 or items.max() >= n_items):
        bad = items[(items < 0) | (items >= n_items)][:5].tolist()
        raise ValueError(f"film indices {bad} are not in this model's catalogue of {n_items}")
    if not np.isfinite(values).all():
        raise ValueError("ratings must be finite numbers")
    if len(np.unique(items)) != len(items):
        raise ValueError("a film appears twice in one person's ratings")
    return items, values


class Recommender(ABC):
    """Base class: subclasses set ``name``, ``kind``, ``config_class`` and implement the abstract
    methods. State that is saved lives in ``state_tensors()``; everything else is derived."""

    name: ClassVar[str]
    kind: ClassVar[Kind]
    config_class: ClassVar[type[Config]] = Config
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # True where ``_fit`` honours ``self._checkpoint`` (resumes from it, saves to it each epoch)
    resumable: ClassVar[bool] = False
    _checkpoint: Checkpoint | None = None  # set by ``fit`` for the duration of one fit

    def __init__(
        self, config: Config | None = None, device: str | torch.device | None = None, **params: Any
    ):
        if config is not None and params:
            raise TypeError("pass either a config or keyword hyperparameters, not both")
        self.config = config if config is not None else self.config_class.from_dict(params)
        self.device = resolve(device)
        self.n_users = 0
        self.n_items = 0
        self.fitted = False
        self.info: dict[str, Any] = {}  # learned values worth showing (e.g. PMF precisions)

    # ------------------------------------------------------------------ training
    @abstractmethod
    def _fit(self, train: Ratings, progress: Progress) -> None: ...

    def fit(
        self,
        train: Ratings,
        progress: Progress | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> Self:
        """Fit on ``train`` (replacing any previous fit); returns self.

        With ``checkpoint`` (``resumable`` models only), resume from its last saved epoch and save
        after every ``checkpoint.every`` epochs, so an interrupted fit loses little; the contract
        is in ``engine.checkpoint``.
        """
        if checkpoint is not None and not self.resumable:
            raise TypeError(f"{self.name} cannot resume from a checkpoint")
        if len(train) == 0:
            raise ValueError("cannot fit a model on zero ratings")
        self.n_users, self.n_items = train.n_users, train.n_items
        torch.manual_seed(self.config.seed)
        self._checkpoint = checkpoint
        try:
            self._fit(train, progress or silent)
        finally:
            self._checkpoint = None
        self.fitted = True
        return self

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{self.name} model is not fitted yet")

    # ------------------------------------------------------------------ people
    @abstractmethod
    def fold_in(self, items: Any, values: Any) -> UserState:
        """A new person from their ratings, without retraining. Zero ratings is allowed and gives
        the model's prior (popular, well-rated films first)."""

    @abstractmethod
    def user_state(self, user: int) -> UserState:
        """A training user's state as fitted."""

    # ------------------------------------------------------------------ scoring
    @abstractmethod
    def _score_state(self, state: UserState) -> torch.Tensor: ...

    def score(self, user: UserState | int) -> torch.Tensor:
        """Scores for every film (float32, on CPU): stars for explicit models, a preference for
        implicit ones. Higher is better either way."""
        self._check_fitted()
        state = self.user_state(int(user)) if not isinstance(user, UserState) else user
        return self._score_state(state).float().cpu()

    def score_users(self, users: np.ndarray) -> torch.Tensor:
        """Scores for many training users at once, [len(users), n_items]; override to batch."""
        return torch.stack([self.score(int(u)) for u in users])

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted star ratings for (user, item) pairs; explicit models only."""
        raise NotImplementedError(f"{self.name} is an implicit model and does not predict ratings")

    # ------------------------------------------------------------------ insight
    def item_vectors(self) -> np.ndarray | None:
        """Film embeddings [n_items, d] (None where the model has none)."""
        return None

    def item_bias(self) -> np.ndarray | None:
        """Per-film bias on the model's score scale (None where the model has none)."""
        return None

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The k films most similar to ``item`` by cosine of item vectors: (indices, similarities)."""
        vectors = self.item_vectors()
        if vectors is None:
            raise NotImplementedError(f"{self.name} has no item vectors; override similar_items")
        return cosine_neighbours(vectors, item, k)

    # ------------------------------------------------------------------ persistence
    @abstractmethod
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything learned, as named tensors (saved with safetensors)."""

    @abstractmethod
    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore from ``state_tensors()`` output (already on ``self.device``)."""

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """What a mid-fit checkpoint saves: ``state_tensors()`` plus whatever else the next epoch
        depends on (e.g. optimiser moments). Training-only state goes here, never into the saved
        model's ``state_tensors()``."""
        return self.state_tensors()

    def load_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore from ``checkpoint_tensors()`` output (already on ``self.device``)."""
        self.load_state_tensors(tensors)

    def save(
        self,
        path: str | Path,
        dataset: Ratings | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> Path:
        from engine.artifacts import save_model

        return save_model(self, path, dataset=dataset, metrics=metrics)

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str | torch.device | None = None,
        dataset: Ratings | None = None,
    ) -> Recommender:
        from engine.artifacts import load_model

        model = load_model(path, device=device, dataset=dataset)
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def __repr__(self) -> str:
        state = f"{self.n_users}×{self.n_items}" if self.fitted else "unfitted"
        return f"{type(self).__name__}({self.config}, {state}, device={self.device})"


def to_tensor(array: Any, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """A tensor copy of ``array`` (Ratings arrays are read-only, which torch warns about)."""
    return torch.tensor(np.asarray(array), dtype=dtype, device=device)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator that depends on (seed, epoch) only, for an epoch's shuffle: a fit resumed at
    ``epoch`` draws exactly what the uninterrupted fit drew. Mixed through numpy's SeedSequence,
    so (seed, epoch + 1) and (seed + 1, epoch) give unrelated streams."""
    state = np.random.SeedSequence([seed % 2**64, epoch]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def cosine_neighbours(vectors: np.ndarray, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine neighbours of row ``item`` (excluding itself), best first, ties by index."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    sims = (vectors @ vectors[item]) / (norms * norms[item])
    sims[item] = -np.inf
    k = min(k, len(sims) - 1)
    order = np.lexsort((np.arange(len(sims)), -sims))[:k]
    return order, sims[order]
