"""The one interface every model implements, and the narrow protocols its callers rely on.

A model is fitted on ``Ratings``, can *fold in* a person it never saw from a few ratings (no
retraining), and scores every film for a user. Explicit models (``ExplicitRecommender``) score on
the star scale (``score`` is a predicted rating, ``predict`` rates (user, film) pairs); implicit
models score a preference whose scale means nothing across users. Save/load lives in
``engine.storage.artifacts`` (tensors plus a JSON manifest), not here.

Callers ask for the narrowest thing they use, so that peers from other libraries and test doubles
can stand in for a model without subclassing it:

- ``RatingPredictor``: ``predict(users, items)`` stars for training users (protocol E);
- ``Scorer``: ``score_users(users)`` for training users in batches (protocol R);
- ``FoldIn``: ``fold_in(items, values)`` a new person and ``score`` them, plus ``kind`` saying
  whether the scores are stars (protocol F, group rooms);
- ``StarEstimator``: ``expected_stars(state)``, the person's expected rating of every film, or
  None for a model with no notion of stars.

And the other way round, what a resumable fit needs of a checkpoint: ``FitCheckpoint`` (which
``engine.storage.checkpoint.Checkpoint`` satisfies), so that the models never import storage.

What a model can show beyond scores is declared on its class (``capabilities``), never probed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, Self

import numpy as np
import torch
from numpy.typing import ArrayLike

from engine.data.ratings import Ratings
from engine.device import resolve
from engine.models.config import Config, Param
from engine.models.torch_typed import manual_seed
from engine.progress import Progress, silent

Kind = Literal["explicit", "implicit"]
# What a model can show beyond scores, declared on its class so callers never probe methods:
# film embeddings (factor maps), film biases (loved/hated), film neighbours, expected stars.
Capability = Literal["item_vectors", "item_bias", "similar_items", "expected_stars"]


@dataclass
class UserState:
    """A person as a model sees them.

    ``items``/``values`` are what they told us (item indices and star ratings); ``vector`` and
    ``bias`` are what the model made of it (None where the model has no user factors, e.g. kNN).
    For a model that declares ``item_vectors``, ``vector`` lives in the same space as those film
    vectors (a factor map can place the person among the films). ``extra`` holds model-specific
    state.
    """

    items: np.ndarray
    values: np.ndarray
    vector: torch.Tensor | None = None
    bias: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


# ---------------------------------------------------------------------------- protocols
class RatingPredictor(Protocol):
    """Predicted stars for (user, film) pairs of the training data: what protocol E scores.
    ``kind`` is "explicit" for a model whose predictions are its own stars."""

    @property
    def kind(self) -> str: ...

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray: ...


class Scorer(Protocol):
    """Scores for every film, for training users in batches ([len(users), n_items], higher is
    better): what protocol R ranks."""

    def score_users(self, users: np.ndarray) -> torch.Tensor: ...


class FoldIn(Protocol):
    """A person from a few ratings, without retraining, and their scores for every film: what
    protocol F and a room need. ``kind`` says what the scores mean: "explicit" = stars."""

    @property
    def kind(self) -> str: ...

    def fold_in(self, items: ArrayLike, values: ArrayLike) -> UserState: ...

    def score(self, user: UserState | int) -> torch.Tensor: ...


class StarEstimator(Protocol):
    """The stars a person would give every film: a model's ``score`` when it is explicit, the
    explicit half of a hybrid, None for a model that knows no stars."""

    def expected_stars(self, state: UserState) -> torch.Tensor | None: ...


class FitCheckpoint(Protocol):
    """What a resumable model's fit uses of a checkpoint (``engine.storage.checkpoint.Checkpoint``
    satisfies it, and its module docstring is the contract): resume at fit start, save after an
    epoch, and a child checkpoint for a part of the fit that checkpoints on its own."""

    def resume(self, model: Recommender, train: Ratings | None = None) -> int: ...

    def save(
        self, model: Recommender, epoch: int, train: Ratings | None = None, final: bool = False
    ) -> bool: ...

    def child(self, name: str) -> FitCheckpoint: ...


def as_index_arrays(
    items: ArrayLike, values: ArrayLike, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
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
    """Base class: subclasses set ``name``, ``kind``, ``config_class`` and ``capabilities`` and
    implement the underscored abstract methods; the public methods around them check the input
    (fitted, indices in range, finite ratings, no film twice) once for every model. State that is
    saved lives in ``state_tensors()``; everything else is derived."""

    name: ClassVar[str]
    kind: Kind  # a class attribute in practice; declared so that instances satisfy the protocols
    config_class: ClassVar[type[Config]] = Config
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # True where ``_fit`` honours ``self._checkpoint`` (resumes from it, saves to it each epoch)
    resumable: ClassVar[bool] = False
    _checkpoint: FitCheckpoint | None = None  # set by ``fit`` for the duration of one fit

    def __init__(
        self, config: Config | None = None, device: str | torch.device | None = None, **params: Any
    ):
        if config is not None and params:
            raise TypeError("pass either a config or keyword hyperparameters, not both")
        if config is not None and not isinstance(config, self.config_class):
            raise TypeError(f"{self.name} needs a {self.config_class.__name__}, not {config!r}")
        self.config = config if config is not None else self.config_class.from_dict(params)
        self.device = resolve(device)
        self.n_users = 0
        self.n_items = 0
        self.fitted = False
        self.info: dict[str, Any] = {}  # learned values worth showing (e.g. PMF precisions)

    @classmethod
    def hyperparameters(cls) -> tuple[Param, ...]:
        """This model's hyperparameters: name, type, range or choices, default, meaning."""
        return cls.config_class.declarations()

    # ------------------------------------------------------------------ training
    @abstractmethod
    def _fit(self, train: Ratings, progress: Progress) -> None: ...

    def fit(
        self,
        train: Ratings,
        progress: Progress | None = None,
        checkpoint: FitCheckpoint | None = None,
    ) -> Self:
        """Fit on ``train`` (replacing any previous fit); returns self.

        With ``checkpoint`` (``resumable`` models only), resume from its last saved epoch and save
        as epochs complete (``Checkpoint``'s ``every`` says how often), so an interrupted fit
        loses little; the contract is in ``engine.storage.checkpoint``.
        """
        if checkpoint is not None and not self.resumable:
            raise TypeError(f"{self.name} cannot resume from a checkpoint")
        if len(train) == 0:
            raise ValueError("cannot fit a model on zero ratings")
        self.n_users, self.n_items = train.n_users, train.n_items
        manual_seed(self.config.seed)
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

    def _check_users(self, users: ArrayLike) -> np.ndarray:
        """Fitted, and ``users`` are training-user indices: int64 array, else a clear error."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if len(users) and (users.min() < 0 or users.max() >= self.n_users):
            bad = users[(users < 0) | (users >= self.n_users)][:5].tolist()
            raise ValueError(f"user indices {bad} are not among this model's {self.n_users} users")
        return users

    # ------------------------------------------------------------------ people
    def fold_in(self, items: ArrayLike, values: ArrayLike) -> UserState:
        """A new person from their ratings (film indices, stars), without retraining. Zero
        ratings is allowed and gives the model's prior (popular, well-rated films first)."""
        self._check_fitted()
        return self._fold_in(*as_index_arrays(items, values, self.n_items))

    @abstractmethod
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """``fold_in`` on checked input: int64 indices in range, finite float32 values."""

    def user_state(self, user: int) -> UserState:
        """A training user's state as fitted."""
        return self._user_state(int(self._check_users([user])[0]))

    @abstractmethod
    def _user_state(self, user: int) -> UserState: ...

    # ------------------------------------------------------------------ scoring
    @abstractmethod
    def _score_state(self, state: UserState) -> torch.Tensor: ...

    def score(self, user: UserState | int) -> torch.Tensor:
        """Scores for every film (float32, on CPU): stars for explicit models, a preference for
        implicit ones. Higher is better either way."""
        self._check_fitted()
        state = self.user_state(int(user)) if not isinstance(user, UserState) else user
        return self._score_state(state).float().cpu()

    def score_users(self, users: ArrayLike) -> torch.Tensor:
        """Scores for many training users at once, [len(users), n_items] float32 on CPU."""
        checked = self._check_users(users)
        if len(checked) == 0:
            return torch.zeros(0, self.n_items)
        return self._score_users(checked).float().cpu()

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        """``score_users`` on checked, non-empty indices; override to batch."""
        return torch.stack([self.score(int(u)) for u in users])

    def expected_stars(self, state: UserState) -> torch.Tensor | None:
        """The stars this person would give every film (float32, CPU), or None where the model
        has no notion of stars: an implicit model's scores are a preference, not a rating.
        Explicit models return their scores; the hybrid its explicit half."""
        return None

    # ------------------------------------------------------------------ insight
    def item_vectors(self) -> np.ndarray | None:
        """Film embeddings [n_items, d] (None where the model has none: no "item_vectors" in
        ``capabilities``). A folded-in person's ``UserState.vector`` lives in the same space."""
        self._check_fitted()
        return self._item_vectors()

    def _item_vectors(self) -> np.ndarray | None:
        return None

    def taste_vectors(self) -> np.ndarray | None:
        """Film embeddings to compare films by who likes them (Explore's "Liked by the same kind
        of viewer"): ``item_vectors()`` unless the model has vectors that find such neighbours
        better by protocol Similar (the hybrid: its implicit part's)."""
        self._check_fitted()
        return self._taste_vectors()

    def _taste_vectors(self) -> np.ndarray | None:
        return self._item_vectors()

    def item_bias(self) -> np.ndarray | None:
        """Per-film bias on the model's score scale (None where the model has none)."""
        self._check_fitted()
        return self._item_bias()

    def _item_bias(self) -> np.ndarray | None:
        return None

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The (up to) k films most similar to ``item``, best first: (indices, similarities).
        By default the cosine of item vectors; models without vectors override
        ``_similar_items`` (and declare "similar_items")."""
        self._check_fitted()
        if isinstance(item, bool) or not isinstance(item, int | np.integer):  # pyright: ignore[reportUnnecessaryIsInstance]  # callers are not all type-checked
            raise ValueError(f"item must be a film index, got {item!r}")
        if not 0 <= item < self.n_items:
            raise ValueError(
                f"film index {item} is not in this model's catalogue of {self.n_items}"
            )
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        return self._similar_items(int(item), int(k))

    def _similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        vectors = self.item_vectors()
        if vectors is None:
            raise NotImplementedError(f"{self.name} has no item vectors to compare films by")
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

    def __repr__(self) -> str:
        state = f"{self.n_users}×{self.n_items}" if self.fitted else "unfitted"
        return f"{type(self).__name__}({self.config}, {state}, device={self.device})"


class ExplicitRecommender(Recommender):
    """A model whose scores are stars: it also rates (user, film) pairs and its expected stars
    are its scores."""

    kind = "explicit"

    def predict(self, users: ArrayLike, items: ArrayLike) -> np.ndarray:
        """Predicted stars for (user, film) pairs of the training data (protocol E)."""
        users = self._check_users(users)
        items = np.asarray(items, dtype=np.int64).reshape(-1)
        if len(items) != len(users):
            raise ValueError(f"{len(users)} users but {len(items)} films")
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise ValueError(f"film indices must be in 0..{self.n_items - 1}")
        return self._predict(users, items)

    @abstractmethod
    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray: ...

    def expected_stars(self, state: UserState) -> torch.Tensor:
        return self.score(state)


def to_tensor(array: ArrayLike, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
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
