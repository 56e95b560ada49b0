"""Hybrid: rank by "likely to watch" × "likely to enjoy", a tempered product of two models.

    s(u, i) = log P(watch i | u) + β · log(E[rating | u, i] / 5)

P(watch | u) is a softmax over an implicit model's scores with a temperature T fitted on
validation data by maximum likelihood of the held-out films (so it is a calibrated probability,
not an arbitrary score); E[rating] comes from an explicit model. β trades the two: β = 0 is the
implicit model alone, large β ranks by predicted stars among films the person would plausibly
watch.

How much the stars count depends on how well the person is known. For someone known from n films
the weight is

    β_n = β · n / (n + k)

The explicit part's stars for someone known from one answer are mostly the films' own biases;
weighting them fully ranks obscure, well-rated films first, which is what protocol Elicit
showed with the β that suits training users (``python -m engine bench --protocols Elicit``,
docs/BENCHMARKS.md). k is how many films a person must be known from before their stars count
half; n = 0 ranks by P(watch) alone, and k = 0 gives every person the full β.

T, β and k are fitted on ``validation_split(train, "R")`` during ``fit``, unless all three are
given, by ``engine.models.hybrid_calibration`` (which also holds the scoring arithmetic).
Then both components are refitted on all of ``train``.

Components are created by registry name with their own hyperparameters (checked when the config is
built); save/load keeps both under the prefixes "implicit." and "explicit.". ``predict`` and
``expected_stars`` give the explicit part's stars, and a person's ``vector`` is the explicit
part's, in the space of ``item_vectors`` (also the explicit part's), so a factor map can place
them. The allowed components are those that keep every declared capability: an explicit part
with film vectors and biases, an implicit part with film neighbours.

Resumable stage by stage (``fit(train, checkpoint=...)``, what ``python -m engine train`` and
the app's training jobs do): the calibrated T and β are checkpointed once found, and each
resumable component fit (als, pmf, mf; the calibration's and the final ones) checkpoints every
epoch in a child folder, so an interrupted fit resumes within the component it stopped in.

Default components chosen by ``python -m engine tune hybrid`` (protocol R validation split,
seed 100, explicit part pmf, implicit ∈ {als, ease, knn}); the command prints the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike

from engine.data.ratings import Ratings
from engine.data.splits import validation_split
from engine.models import create, model_class
from engine.models.answers_fold_in import AnswersFoldIn, CardAnswers
from engine.models.base import (
    Capability,
    ExplicitRecommender,
    FitCheckpoint,
    Recommender,
    UserState,
)
from engine.models.config import Config, param
from engine.models.hybrid_calibration import (
    BETAS,
    combine,
    fit_and_calibrate,
    fit_part,
    log_softmax_rows,
    star_weights,
)
from engine.models.torch_typed import floats
from engine.progress import Progress, silent, stage_progress

ImplicitPart = Literal[
    "als", "ease", "ease-foldin", "knn", "lmf", "ranking", "ranking-mlp", "graph"
]
ExplicitPart = Literal["pmf", "mf", "bpmf"]


@dataclass(frozen=True)
class HybridConfig(Config):
    implicit: ImplicitPart = param("als", help="the model that says what a person would watch")
    explicit: ExplicitPart = param("pmf", help="the model that says how they would rate it")
    implicit_params: dict[str, Any] = param(
        factory=dict, help="hyperparameters of the implicit part (its defaults where left out)"
    )
    explicit_params: dict[str, Any] = param(
        factory=dict, help="hyperparameters of the explicit part (its defaults where left out)"
    )
    temperature: float | None = param(
        None,
        low=0,
        high=1e6,
        low_open=True,
        help="softmax temperature T of P(watch); None: fitted on validation (max likelihood)",
    )
    beta: float | None = param(
        None,
        low=0,
        high=1000,
        help="weight β of log E[rating]; None: chosen on validation (NDCG@10)",
    )
    beta_k: float | None = param(
        None,
        low=0,
        high=1e6,
        help="k in β·n/(n+k): films a person must be known from before their predicted stars "
        "count half; 0: always the full β; None: fitted on validation (few-answer NDCG@10)",
    )
    validation_seed: int = param(
        100, low=0, high=2**32 - 1, help="seed of the validation split T, β and k are fitted on"
    )

    RENAMED: ClassVar[dict[str, str]] = {"beta_answers": "beta_k"}  # as older manifests say

    def __post_init__(self) -> None:
        super().__post_init__()

        for name, part, params in (
            ("implicit_params", self.implicit, self.implicit_params),
            ("explicit_params", self.explicit, self.explicit_params),
        ):
            try:
                model_class(part).config_class.from_dict(params)
            except ValueError as err:
                raise ValueError(f"{name} (for {part}): {err}") from None


class Hybrid(Recommender):
    name = "hybrid"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {"item_vectors", "item_bias", "similar_items", "expected_stars"}
    )
    config_class = HybridConfig
    config: HybridConfig
    resumable = True  # by stage: calibration, then each component's own checkpoints

    temperature: float
    beta: float
    beta_k: float  # k in β_n = β·n/(n+k)
    implicit: Recommender
    explicit: Recommender

    def _components(self) -> tuple[Recommender, Recommender]:
        cfg = self.config
        implicit = create(cfg.implicit, device=self.device, **cfg.implicit_params)
        explicit = create(cfg.explicit, device=self.device, **cfg.explicit_params)
        return implicit, explicit

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        checkpoint = self._checkpoint
        given = (cfg.temperature, cfg.beta, cfg.beta_k)
        stages = 3 if None in given else 2
        if cfg.temperature is not None and cfg.beta is not None and cfg.beta_k is not None:
            self.temperature, self.beta, self.beta_k = (
                cfg.temperature,
                cfg.beta,
                cfg.beta_k,
            )
        elif checkpoint is None or checkpoint.resume(self, train) < 1:
            progress(0, stages, "calibrating on a validation split")
            self.temperature, self.beta, self.beta_k = self._calibrate(
                *validation_split(train, "R", seed=cfg.validation_seed),
                progress=stage_progress(progress, 0, stages, "calibrating on a validation split"),
                checkpoint=checkpoint,
            )
            if checkpoint is not None:
                checkpoint.save(self, 1, train, final=True)
        self.implicit, self.explicit = self._components()
        first = stages - 2
        fit_part(
            self.implicit,
            train,
            stage_progress(progress, first, stages, f"fitting {cfg.implicit}"),
            checkpoint,
            "implicit",
        )
        fit_part(
            self.explicit,
            train,
            stage_progress(progress, first + 1, stages, f"fitting {cfg.explicit}"),
            checkpoint,
            "explicit",
        )
        self._train = train.csr()
        self._set_info()
        progress(stages, stages, "done")

    def _calibrate(
        self,
        fit_part: Ratings,
        val: Ratings,
        progress: Progress | None = None,
        checkpoint: FitCheckpoint | None = None,
    ) -> tuple[float, float, float]:
        """(T, β, k) on a validation split (``hybrid_calibration.fit_and_calibrate``), each only
        where the config leaves it None; the tables behind β and k go into ``info``."""
        cfg = self.config
        found = fit_and_calibrate(
            *self._components(),
            (cfg.implicit, cfg.explicit),
            fit_part,
            val,
            (cfg.temperature, cfg.beta, cfg.beta_k),
            cfg.validation_seed,
            progress or silent,
            checkpoint,
        )
        self.info.update(found.tables)
        return found.temperature, found.beta, found.beta_k

    def _set_info(self) -> None:
        self.info.update(
            {
                "temperature": float(self.temperature),
                "beta": float(self.beta),
                "beta_k": float(self.beta_k),
                "implicit": self.config.implicit,
                "explicit": self.config.explicit,
                "explicit_info": dict(self.explicit.info),
                "implicit_info": dict(self.implicit.info),
            }
        )

    # ------------------------------------------------------------------ people
    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        return self._state(
            items,
            values,
            self.implicit.fold_in(items, values),
            self.explicit.fold_in(items, values),
        )

    def fold_in_answers(self, answers: CardAnswers) -> UserState:
        """A new member from their card answers: rated, seen and "haven't seen it" films go to
        the implicit part (which starts from the trained members where it can:
        ``AnswersFoldIn``), the star ratings alone to the explicit part."""
        return self._state(
            answers.items,
            answers.values,
            self._implicit_answers(answers),
            self.explicit.fold_in(answers.items, answers.values),
        )

    def watch_probability_after(self, answers: CardAnswers) -> torch.Tensor:
        """``watch_probability`` of a new member from their card answers, folding in only the
        implicit part it reads: elicitation asks this on every deck refill, and the explicit
        part's fold-in (the stars) would be thrown away."""
        return self._watch(self._implicit_answers(answers))

    def _implicit_answers(self, answers: CardAnswers) -> UserState:
        """The implicit part's state from card answers: every answer, from the trained members
        where it can (``AnswersFoldIn``), else its own fold-in of the films watched."""
        self._check_fitted()
        answers.check(self.n_items)
        if isinstance(self.implicit, AnswersFoldIn):
            return self.implicit.fold_in_answers(answers)
        return self.implicit.fold_in(*answers.watched)

    def _user_state(self, user: int) -> UserState:
        lo, hi = self._train.indptr[user], self._train.indptr[user + 1]
        return self._state(
            self._train.indices[lo:hi].astype(np.int64),
            self._train.data[lo:hi],
            self.implicit.user_state(user),
            self.explicit.user_state(user),
        )

    @staticmethod
    def _state(
        items: np.ndarray, values: np.ndarray, implicit: UserState, explicit: UserState
    ) -> UserState:
        """Both parts' states; the person's vector and bias are the explicit part's, the space
        of ``item_vectors``."""
        return UserState(
            items=items,
            values=values,
            vector=explicit.vector,
            bias=explicit.bias,
            extra={"implicit": implicit, "explicit": explicit},
        )

    def _star_weights(self, answers: ArrayLike) -> np.ndarray:
        """β_n for people known from ``answers`` star ratings each."""
        return star_weights(self.beta, answers, self.beta_k)

    def _score_state(self, state: UserState) -> torch.Tensor:
        imp = self.implicit.score(state.extra["implicit"])[None]
        stars = self.explicit.score(state.extra["explicit"])[None]
        weight = self._star_weights([len(state.items)])  # the films the stars were learnt from
        return combine(log_softmax_rows(imp, self.temperature), stars, weight)[0]

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        imp = self.implicit.score_users(users)
        stars = self.explicit.score_users(users)
        weight = self._star_weights(np.diff(self._train.indptr)[users])
        return combine(log_softmax_rows(imp, self.temperature), stars, weight)

    def expected_stars(self, state: UserState) -> torch.Tensor:
        """E[rating] over the catalogue from the explicit part: what the person would rate each
        film, shown beside the hybrid's ranking (``engine.group`` uses it for reasons)."""
        return self.explicit.score(state.extra["explicit"])

    def watch_probability(self, state: UserState | int) -> torch.Tensor:
        """Calibrated P(watch | person) over the catalogue (sums to 1)."""
        state = self.user_state(int(state)) if not isinstance(state, UserState) else state
        return self._watch(state.extra["implicit"])

    def _watch(self, implicit: UserState) -> torch.Tensor:
        imp = self.implicit.score(implicit)[None]
        return log_softmax_rows(imp, self.temperature)[0].exp()

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The explicit part's predicted stars for (user, film) pairs."""
        self._check_fitted()
        return self._explicit_part().predict(users, items)

    def _explicit_part(self) -> ExplicitRecommender:
        if not isinstance(self.explicit, ExplicitRecommender):  # HybridConfig allows none else
            raise TypeError(f"hybrid's explicit part {self.explicit.name} predicts no stars")
        return self.explicit

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray | None:
        return self.explicit.item_vectors()

    def _item_bias(self) -> np.ndarray | None:
        return self.explicit.item_bias()

    def _taste_vectors(self) -> np.ndarray | None:
        # the implicit part's: who watched a film finds its sequels and kin far better than the
        # explicit part's stars do (protocol Similar: sequel hit@10 of the damped cosine)
        return self.implicit.item_vectors()

    def _similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.implicit.similar_items(item, k)

    # ------------------------------------------------------------------ persistence
    def _calibration(self) -> torch.Tensor:
        return torch.tensor([self.temperature, self.beta, self.beta_k], dtype=torch.float64)

    def _load_calibration(self, calibration: torch.Tensor) -> None:
        """(T, β, k). A model saved before k existed holds (T, β); it gets k = 0, the ranking
        it was saved with."""
        values = floats(calibration)
        self.temperature, self.beta = values[0], values[1]
        self.beta_k = values[2] if len(values) > 2 else 0.0

    def checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        """The calibration (T, β and β's validation table): what the hybrid itself checkpoints
        once it is found; the components checkpoint their own fits in child folders."""
        out = {"calibration": self._calibration()}
        table: dict[str, float] | None = self.info.get("validation_ndcg_by_beta")
        if table is not None:
            out["ndcg_by_beta"] = torch.tensor(list(table.values()), dtype=torch.float64)
        return out

    def load_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self._load_calibration(tensors["calibration"])
        if "ndcg_by_beta" in tensors:
            values = floats(tensors["ndcg_by_beta"])
            self.info["validation_ndcg_by_beta"] = dict(zip(map(str, BETAS), values, strict=True))

    def state_tensors(self) -> dict[str, torch.Tensor]:
        t = self._train
        out = {f"implicit.{k}": v for k, v in self.implicit.state_tensors().items()}
        out.update({f"explicit.{k}": v for k, v in self.explicit.state_tensors().items()})
        out["calibration"] = self._calibration()
        out["train_indptr"] = torch.as_tensor(t.indptr.astype(np.int64))
        out["train_indices"] = torch.as_tensor(t.indices.astype(np.int64))
        out["train_data"] = torch.as_tensor(t.data.astype(np.float32))
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.implicit, self.explicit = self._components()
        for prefix, part in (("implicit.", self.implicit), ("explicit.", self.explicit)):
            part.n_users, part.n_items = self.n_users, self.n_items
            part.info = dict(self.info.get(f"{prefix[:-1]}_info", {}))
            part.load_state_tensors(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
            part.fitted = True
        self._load_calibration(tensors["calibration"])
        if not math.isfinite(self.temperature) or self.temperature <= 0:
            raise ValueError("saved temperature must be a positive number")
        if not math.isfinite(self.beta_k) or self.beta_k < 0:
            raise ValueError("saved beta_k must be a number ≥ 0")
        self._train = sp.csr_matrix(
            (
                tensors["train_data"].cpu().numpy(),
                tensors["train_indices"].cpu().numpy(),
                tensors["train_indptr"].cpu().numpy(),
            ),
            shape=(self.n_users, self.n_items),
        )
