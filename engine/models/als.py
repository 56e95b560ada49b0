"""Implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008).

Every observed (user, film) pair is a preference p = 1 with confidence c = 1 + alpha·r, where r is
the star rating (``confidence="rating"``) or 1 (``"binary"``); unobserved pairs are p = 0, c = 1.
The loss Σ c (p − xᵤ·yᵢ)² + λ(‖X‖² + ‖Y‖²) is minimised by alternating exact ridge problems

    (YᵀY + λI + Yᵀ(Cᵤ − I)Y) xᵤ = Yᵀ Cᵤ pᵤ      (and the same for films with X).

Why the solver looks the way it does: the obvious batched form (gather each user's film vectors
into a padded [B, n, k] block) spends most of its time in the gather and in small gemv calls and
was 3× slower than implicit's Cython loop on 2 cores. Instead, the conjugate-gradient matvec for
*all* users at once is two library sparse kernels over the rating pattern:
``sampled_addmm`` (SDDMM: tᵤᵢ = xᵤ·yᵢ on observed cells) and CSR×dense ``matmul`` (SpMM:
Σᵢ wᵤᵢ tᵤᵢ yᵢ), plus one dense [n, k]×[k, k] product for the shared YᵀY. No per-user Python loop,
no materialised gathers, float32 throughout, and the same code runs on CUDA (cuSPARSE). As in
implicit's ``use_cg``, each half-step runs a few CG iterations warm-started from the previous
factors (Takács, Pilászy & Tikk 2011), which is enough because the factors move little per sweep.
``solver="cholesky"`` solves each system exactly (padded batches, Cholesky); it is the reference
for tests and cheap on a GPU, but costs O(nnz·k²) so it is not the CPU default.

Fold-in is one exact solve of the same normal equations against the frozen film factors.
Defaults come from a reproducible validation search (``python -m engine tune als``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch

from engine.data.ratings import Ratings
from engine.models.als_matrix import Confidence, Side, confidence_weights, weight_matrix
from engine.models.als_solvers import cg_update, exact_update, gram, solve_one
from engine.models.answers_fold_in import (
    ANSWER_WEIGHT,
    DEFAULT_HISTORY,
    UNSEEN_WEIGHT,
    CardAnswers,
    PopulationPrior,
    posterior_vector,
)
from engine.models.base import Capability, Recommender, UserState, to_tensor
from engine.models.config import Config, param
from engine.progress import Progress

Solver = Literal["cg", "cholesky"]


@dataclass(frozen=True)
class ALSConfig(Config):
    """Defaults chosen by ``python -m engine tune als`` (96 settings, 15 epochs) on the protocol
    R validation split (seed 100) carved from the embedded data's protocol R train part, by
    validation NDCG@10: factors=128, λ=50, alpha=2, c = 1 + alpha·stars (star-weighted confidence
    beat binary throughout). The scores are recorded in docs/tuning/als.txt."""

    factors: int = param(128, low=1, high=1024, help="length of each person's and film's vector")
    epochs: int = param(
        15, low=1, high=1000, quick=4, help="alternating passes: all films, then all people"
    )
    regularization: float = param(
        50.0, low=0, high=1e6, low_open=True, help="λ, the L2 penalty on every vector"
    )
    alpha: float = param(
        2.0, low=0, high=1e4, help="confidence slope: a rating counts as c = 1 + alpha·r"
    )
    confidence: Confidence = param(
        "rating", help='"rating": c = 1 + alpha·stars; "binary": c = 1 + alpha for every rating'
    )
    solver: Solver = param(
        "cg", help='"cg": a few warm-started conjugate-gradient steps (fast); "cholesky": exact'
    )
    cg_steps: int = param(3, low=1, high=100, help="conjugate-gradient steps per half-epoch")
    cg_chunk_rows: int = param(
        32768,
        low=0,
        high=2**31 - 1,
        help="rows per CG chunk (and ≤ 4M cells), bounding work memory; 0 = no chunks",
    )
    init_std: float = param(0.01, low=0, high=1, help="spread of the random initial vectors")
    batch_slots: int = param(
        1 << 20, low=1, high=2**40, help="padded cells per batch of the exact (Cholesky) solver"
    )


def objective(
    train: Ratings, x: torch.Tensor, y: torch.Tensor, cfg: ALSConfig, chunk: int = 1 << 20
) -> float:
    """The HKV loss Σ_all c (p − x·y)² + λ(‖X‖² + ‖Y‖²), without forming the dense matrix:
    Σ_all (x·y)² = ‖XᵀX ∘ YᵀY‖ sum; observed cells add c(1 − s)² − s²."""
    x64, y64 = x.double().cpu(), y.double().cpu()
    total = float(((x64.T @ x64) * (y64.T @ y64)).sum())
    w = torch.as_tensor(confidence_weights(train.values, cfg.alpha, cfg.confidence)).double()
    u = torch.as_tensor(train.users.astype(np.int64))
    i = torch.as_tensor(train.items.astype(np.int64))
    for s in range(0, len(train), chunk):
        sl = slice(s, s + chunk)
        score = (x64[u[sl]] * y64[i[sl]]).sum(1)
        total += float(((1.0 + w[sl]) * (1.0 - score) ** 2 - score**2).sum())
    return total + cfg.regularization * float((x64**2).sum() + (y64**2).sum())


# ---------------------------------------------------------------------- the model
class ImplicitALS(Recommender):
    name = "als"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"item_vectors", "similar_items"})
    config_class = ALSConfig
    config: ALSConfig
    resumable = True  # fit(..., checkpoint=...): its epochs depend only on the factors
    _shared: torch.Tensor | None = None  # YᵀY + λI, built on the first fold-in after a fit
    _population: PopulationPrior | None = None  # the trained members, on the first card fold-in

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        weights = weight_matrix(train, cfg.alpha, cfg.confidence)
        self._init_factors(train)
        checkpoint = self._checkpoint
        start = checkpoint.resume(self, train) if checkpoint is not None else 0
        films_then_people = self._sweep(weights)
        del weights  # the CG sides share its arrays; the exact sweep keeps its own reference
        seconds: list[float] = []
        self.info["seconds_per_iteration"] = seconds
        for it in range(start, cfg.epochs):
            tick = time.perf_counter()
            # films first, then people: the final user factors are then the solution against the
            # final film factors, which is exactly what fold-in computes for a new person.
            films_then_people()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            seconds.append(time.perf_counter() - tick)
            if checkpoint is not None:
                checkpoint.save(self, it + 1, train)
            progress(it + 1, cfg.epochs, f"ALS epoch {it + 1}/{cfg.epochs}")
        self._shared = self._population = None
        self.info["median_history"] = train.median_history  # m of the card fold-in

    def _init_factors(self, train: Ratings) -> None:
        """Seeded random factors, people's drawn first, then films' (one generator)."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        self._user_factors = (
            torch.randn(train.n_users, cfg.factors, generator=gen) * cfg.init_std
        ).to(self.device)
        self._item_factors = (
            torch.randn(train.n_items, cfg.factors, generator=gen) * cfg.init_std
        ).to(self.device)

    def _sweep(self, weights: sp.csr_matrix) -> Callable[[], None]:
        """One epoch of ``cfg.solver``: update every film's factors, then every person's."""
        cfg = self.config
        if cfg.solver == "cg":
            # one orientation at a time, sharing scipy's arrays and one scratch buffer: peak
            # memory ~12 B per rating beyond the Ratings themselves (matters at 25M ratings)
            by_user = Side.build(weights, self.device, scratch=False)
            by_item = Side.build(weights.T.tocsr(), self.device, scratch=False)

            def cg_sweep() -> None:
                self._item_factors = cg_update(
                    by_item,
                    self._item_factors,
                    self._user_factors,
                    cfg.regularization,
                    cfg.cg_steps,
                    cfg.cg_chunk_rows,
                )
                self._user_factors = cg_update(
                    by_user,
                    self._user_factors,
                    self._item_factors,
                    cfg.regularization,
                    cfg.cg_steps,
                    cfg.cg_chunk_rows,
                )

            return cg_sweep
        by_film = weights.T.tocsr()

        def exact_sweep() -> None:
            self._item_factors = exact_update(
                by_film, self._user_factors, cfg.regularization, cfg.batch_slots
            )
            self._user_factors = exact_update(
                weights, self._item_factors, cfg.regularization, cfg.batch_slots
            )

        return exact_sweep

    # ------------------------------------------------------------------ people
    def _gram(self) -> torch.Tensor:
        if self._shared is None:
            self._shared = gram(self._item_factors, self.config.regularization)
        return self._shared

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        """One exact solve against the frozen film factors (the same equations training solved)."""
        if len(items) == 0:
            return UserState(items=items, values=values, vector=None)
        cfg = self.config
        w = confidence_weights(values, cfg.alpha, cfg.confidence)  # c − 1 for these ratings
        vector = solve_one(
            self._item_factors,
            self._gram(),
            to_tensor(items, torch.long, self.device),
            to_tensor(w, torch.float32, self.device),
        )
        return UserState(items=items, values=values, vector=vector)

    def fold_in_answers(
        self,
        answers: CardAnswers,
        answer_weight: float = ANSWER_WEIGHT,
        unseen_weight: float = UNSEEN_WEIGHT,
    ) -> UserState:
        """A new member from their card answers, the trained members as the prior
        (``engine.models.answers_fold_in``; the two weights are its ``s`` and ``w``, given
        only by their tuning): with no answers, the mean member."""
        self._check_fitted()
        if self._population is None:
            self._population = PopulationPrior.of(
                self._user_factors.cpu().numpy(),
                self._item_vectors(),
                float(self.info.get("median_history", DEFAULT_HISTORY)),
            )
        watched, stars = answers.check(self.n_items).watched
        cfg = self.config
        vector = posterior_vector(
            self._population,
            watched,
            confidence_weights(stars, cfg.alpha, cfg.confidence) + 1.0,
            answers.unseen,
            answer_weight,
            unseen_weight,
        )
        return UserState(  # what ALS learned from: every film watched, with its value
            items=watched,
            values=stars,
            vector=torch.as_tensor(vector, dtype=torch.float32, device=self.device),
        )

    def _user_state(self, user: int) -> UserState:
        return UserState(
            items=np.empty(0, np.int64),
            values=np.empty(0, np.float32),
            vector=self._user_factors[user],
        )

    def _prior(self) -> torch.Tensor:
        """Score for someone with no ratings: how much the average person's vector likes a film,
        i.e. popularity as the model sees it."""
        return self._item_factors @ self._user_factors.mean(0)

    def _score_state(self, state: UserState) -> torch.Tensor:
        if state.vector is None:
            return self._prior()
        return self._item_factors @ state.vector

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        idx = to_tensor(users, torch.long, self.device)
        return (self._user_factors[idx] @ self._item_factors.T).cpu()

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        return self._item_factors.cpu().numpy()

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"user_factors": self._user_factors, "item_factors": self._item_factors}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        x, y = tensors["user_factors"], tensors["item_factors"]
        k = self.config.factors
        if x.shape[1] != k or y.shape[1] != k:
            raise ValueError(f"factor tensors have width {x.shape[1]}/{y.shape[1]}, expected {k}")
        self._user_factors, self._item_factors = x.to(self.device), y.to(self.device)
        self._shared = self._population = None
