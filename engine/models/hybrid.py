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

The explicit part's stars for someone known from one answer are mostly the films' own biases.
Weighting them fully ranks obscure, well-rated films first. Protocol Elicit measured this with the
β = 8 that suits training users (hundreds of ratings): NDCG@10 0.21 after one answer, against 0.28
for plain popularity. The same model with β = 1 reached 0.30. k is how many films a person must
be known from before their stars count half; n = 0 ranks by P(watch) alone, and k = 0 gives every
person the full β.

T, β and k are fitted on ``validation_split(train, "R")`` during ``fit``, unless all three are
given:
- T by the held-out log-likelihood of the softmax;
- β by NDCG@10 of the validation users from all their training films;
- k by NDCG@10 of the same users folded in from only n ∈ {1, 2, 3, 5, 10, 20} of their training
  films (seeded draws), as a new member is.

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
seed 100, explicit part pmf): implicit ∈ {als, ease, knn}; best als (validation NDCG@10 0.200;
ease 0.189, knn 0.156).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.data.splits import validation_split
from engine.metrics import list_metrics, topn_metrics
from engine.models.base import (
    Capability,
    ExplicitRecommender,
    Recommender,
    UserState,
    as_index_arrays,
)
from engine.models.config import Config, param
from engine.models.torch_typed import floats
from engine.progress import Progress, silent, span_progress, stage_progress

if TYPE_CHECKING:
    from engine.checkpoint import Checkpoint

TEMPERATURES = tuple(float(t) for t in np.geomspace(0.01, 100.0, 25))
BETAS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
BETA_KS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
FEW_ANSWERS = (1, 2, 3, 5, 10, 20)  # the evidence sizes k is fitted on: a new member's first


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
        from engine.models import model_class

        for name, part, params in (
            ("implicit_params", self.implicit, self.implicit_params),
            ("explicit_params", self.explicit, self.explicit_params),
        ):
            try:
                model_class(part).config_class.from_dict(params)
            except ValueError as err:
                raise ValueError(f"{name} (for {part}): {err}") from None


def log_softmax_rows(scores: torch.Tensor, temperature: float) -> torch.Tensor:
    """log P(watch) per film: a softmax over each row of scores / T."""
    return torch.log_softmax(scores.double() / temperature, dim=1).float()


def star_weights(beta: float, answers: ArrayLike, beta_k: float) -> np.ndarray:
    """β_n = β · n / (n + k) for each person known from n films (β itself when k = 0)."""
    n = np.asarray(answers, dtype=np.float64)
    if beta_k <= 0:
        return np.full_like(n, beta)
    return beta * n / (n + beta_k)


def combine(log_watch: torch.Tensor, stars: torch.Tensor, beta: float | np.ndarray) -> torch.Tensor:
    """The tempered product in log space; ``beta`` is one weight, or one per row."""
    stars = stars.clamp(MIN_RATING, MAX_RATING)
    weight = torch.as_tensor(beta, dtype=log_watch.dtype, device=log_watch.device)
    if weight.ndim == 1:
        weight = weight[:, None]
    return log_watch + weight * torch.log(stars / MAX_RATING)


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
        from engine.models import create

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
        _fit_part(
            self.implicit,
            train,
            stage_progress(progress, first, stages, f"fitting {cfg.implicit}"),
            checkpoint,
            "implicit",
        )
        _fit_part(
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
        checkpoint: Checkpoint | None = None,
    ) -> tuple[float, float, float]:
        """(T, β, k): T by held-out log-likelihood of the softmax, then β by validation NDCG@10
        of the validation users from all their training films, then k by validation NDCG@10 of
        the same users known from only a few films (each only where the config leaves it
        None)."""
        temperature, beta = self.config.temperature, self.config.beta
        beta_k = self.config.beta_k
        report = progress or silent
        implicit, explicit = self._components()
        # Every phase moves the bar (a first start showed one phase's message for minutes):
        # the two fits, then the searches, in shares of the calibration's part of the bar.
        _fit_part(
            implicit,
            fit_part,
            span_progress(report, 0.0, 0.15, f"fitting {self.config.implicit}"),
            checkpoint,
            "calibration-implicit",
        )
        _fit_part(
            explicit,
            fit_part,
            span_progress(report, 0.15, 0.55, f"fitting {self.config.explicit}"),
            checkpoint,
            "calibration-explicit",
        )
        report(56, 100, "choosing the temperature and β")
        tr, va = fit_part.csr(), val.csr()
        users = np.flatnonzero(np.diff(va.indptr) > 0)
        imp = implicit.score_users(users).double()
        stars = explicit.score_users(users)
        exclude = [tr.indices[tr.indptr[u] : tr.indptr[u + 1]] for u in users]
        for row, ex in enumerate(exclude):
            imp[row, ex] = -torch.inf
        held = [va.indices[va.indptr[u] : va.indptr[u + 1]] for u in users]
        rows = torch.as_tensor(np.repeat(np.arange(len(users)), [len(h) for h in held]))
        cols = torch.as_tensor(np.concatenate(held).astype(np.int64))
        if temperature is None:
            finite = torch.where(torch.isfinite(imp), imp, torch.nan)
            scale = float(np.nanstd(finite.numpy())) or 1.0
            nll: list[float] = []
            for t in TEMPERATURES:
                logp = torch.log_softmax(imp / (t * scale), dim=1)
                nll.append(-float(logp[rows, cols].mean()))
            temperature = TEMPERATURES[int(np.argmin(nll))] * scale
        if beta is None:
            log_watch = log_softmax_rows(imp, temperature)
            liked = [
                va.indices[va.indptr[u] : va.indptr[u + 1]][
                    va.data[va.indptr[u] : va.indptr[u + 1]] >= 4
                ]
                for u in users
            ]
            keep = [k for k, lk in enumerate(liked) if len(lk)]
            table: list[float] = []
            for beta in BETAS:
                s = combine(log_watch, stars, beta)
                s = torch.where(torch.isfinite(s), s, torch.finfo(torch.float32).min)
                out = topn_metrics(
                    s[keep], [exclude[k] for k in keep], [liked[k] for k in keep], k=10
                )
                table.append(float(np.nanmean(out["ndcg"])))
            beta = BETAS[int(np.argmax(table))]
            self.info["validation_ndcg_by_beta"] = dict(zip(map(str, BETAS), table, strict=True))
        if beta_k is None:
            beta_k = self._fit_beta_k(
                implicit,
                explicit,
                tr,
                va,
                temperature,
                beta,
                span_progress(report, 0.6, 1.0, "choosing how much to trust few answers (k)"),
            )
        return temperature, beta, beta_k

    def _fit_beta_k(
        self,
        implicit: Recommender,
        explicit: Recommender,
        tr: sp.csr_matrix,
        va: sp.csr_matrix,
        temperature: float,
        beta: float,
        progress: Progress = silent,
    ) -> float:
        """k in ``BETA_KS`` with the best mean NDCG@10 over (validation user, n): the user
        folded into both parts from n ∈ ``FEW_ANSWERS`` of their training films (seeded draws,
        n below their count), ranked among the films they have no training rating for, against
        their validation films rated ≥ 4."""
        rng = np.random.default_rng(self.config.validation_seed)
        totals = np.zeros(len(BETA_KS))
        count = 0
        n_users = tr.shape[0]
        for u in range(n_users):
            if u % 25 == 0:
                progress(u, n_users, f"validation user {u}/{n_users}")
            held = va.indices[va.indptr[u] : va.indptr[u + 1]]
            liked = held[va.data[va.indptr[u] : va.indptr[u + 1]] >= 4]
            items = tr.indices[tr.indptr[u] : tr.indptr[u + 1]].astype(np.int64)
            values = tr.data[tr.indptr[u] : tr.indptr[u + 1]]
            sizes = [n for n in FEW_ANSWERS if n < len(items)]
            if len(liked) == 0 or not sizes:
                continue
            watch: list[torch.Tensor] = []
            stars: list[torch.Tensor] = []
            for n in sizes:
                pick = rng.choice(len(items), size=n, replace=False)
                watch.append(implicit.score(implicit.fold_in(items[pick], values[pick])))
                stars.append(explicit.score(explicit.fold_in(items[pick], values[pick])))
            log_watch = log_softmax_rows(torch.stack(watch).cpu(), temperature)
            star_rows = torch.stack(stars).cpu()
            # every k at once: [len(BETA_KS) · len(sizes), n_items], top 10 by topk (a
            # full sort per row, as topn_metrics does, was two thirds of this search's time)
            scores = torch.cat(
                [combine(log_watch, star_rows, star_weights(beta, sizes, k)) for k in BETA_KS]
            )
            scores[:, torch.as_tensor(items)] = -torch.inf
            top = torch.topk(scores, 10, dim=1).indices.numpy()
            rows = len(top)
            ndcg = list_metrics(list(top), [items] * rows, [liked] * rows, k=10)["ndcg"]
            totals += np.nansum(ndcg.reshape(len(BETA_KS), len(sizes)), axis=1)
            count += len(sizes)
        if count == 0:
            return 0.0
        table = (totals / count).tolist()
        self.info["validation_few_answer_ndcg_by_k"] = dict(
            zip(map(str, BETA_KS), table, strict=True)
        )
        return BETA_KS[int(np.argmax(table))]

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

    def fold_in_watched(
        self, items: ArrayLike, values: ArrayLike, watched: ArrayLike, watched_values: ArrayLike
    ) -> UserState:
        """A new person from their star ratings plus films they watched without rating them.

        Watched films are evidence for the implicit part only (what the person watches, folded
        in with ``watched_values`` where that part reads a value); the explicit part, and so
        ``expected_stars``, sees the star ratings alone. ``engine.group.predict.fold_member``
        uses this for a room member's "seen it" answers.
        """
        self._check_fitted()
        items, values = as_index_arrays(items, values, self.n_items)
        both_items = np.concatenate([items, np.asarray(watched, dtype=np.int64).reshape(-1)])
        both_values = np.concatenate(
            [values, np.asarray(watched_values, dtype=np.float32).reshape(-1)]
        )
        both_items, both_values = as_index_arrays(both_items, both_values, self.n_items)
        return self._state(
            items,
            values,
            self.implicit.fold_in(both_items, both_values),
            self.explicit.fold_in(items, values),
        )

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
        imp = self.implicit.score(state.extra["implicit"])[None]
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


def _fit_part(
    model: Recommender,
    data: Ratings,
    progress: Progress | None,
    checkpoint: Checkpoint | None,
    name: str,
) -> None:
    """Fit one component, checkpointing into ``checkpoint``'s child ``name`` when there is a
    checkpoint and the component can resume (bpmf cannot: it then simply refits)."""
    if checkpoint is not None and model.resumable:
        model.fit(data, progress=progress, checkpoint=checkpoint.child(name))
    else:
        model.fit(data, progress=progress)
