"""The hybrid's scoring arithmetic and the search for its three numbers T, β and k.

``engine.models.hybrid`` keeps the model (fit, fold-in, scoring, save/load); this module holds
what both need, the tempered product in log space

    s(u, i) = log P(watch i | u) + β_n · log(E[rating | u, i] / 5),   β_n = β · n / (n + k),

and the search that fits T, β and k on a validation split (``validation_split(train, "R")``):
T by the held-out log-likelihood of the softmax, β by NDCG@10 of the validation users from all
their training films, k by NDCG@10 of the same users folded in from only n ∈ ``FEW_ANSWERS`` of
their training films, as a new member is. Each search's table goes into the model's ``info``
(what ``python -m engine train --model hybrid`` saves in the manifest). The two parts'
validation fits (``fit_and_calibrate``, checkpointed per part by ``fit_part``) are here too, so
the hybrid's own module keeps only the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.metrics import list_metrics, topn_metrics
from engine.models.base import FitCheckpoint, Recommender
from engine.progress import Progress, silent, span_progress

TEMPERATURES = tuple(float(t) for t in np.geomspace(0.01, 100.0, 25))
BETAS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
BETA_KS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
FEW_ANSWERS = (1, 2, 3, 5, 10, 20)  # the evidence sizes k is fitted on: a new member's first


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


@dataclass
class Calibration:
    """T, β and k as found (or given), and the validation tables behind β and k."""

    temperature: float
    beta: float
    beta_k: float
    tables: dict[str, dict[str, float]] = field(default_factory=dict)


def fit_part(
    model: Recommender,
    data: Ratings,
    progress: Progress | None,
    checkpoint: FitCheckpoint | None,
    name: str,
) -> None:
    """Fit one component, checkpointing into ``checkpoint``'s child ``name`` when there is a
    checkpoint and the component can resume (bpmf cannot: it then simply refits)."""
    if checkpoint is not None and model.resumable:
        model.fit(data, progress=progress, checkpoint=checkpoint.child(name))
    else:
        model.fit(data, progress=progress)


def fit_and_calibrate(
    implicit: Recommender,
    explicit: Recommender,
    names: tuple[str, str],
    fit_on: Ratings,
    val: Ratings,
    given: tuple[float | None, float | None, float | None],
    seed: int,
    progress: Progress = silent,
    checkpoint: FitCheckpoint | None = None,
) -> Calibration:
    """Fit both parts on ``fit_on`` (checkpointed as "calibration-implicit" and
    "calibration-explicit"), then ``calibrate`` against ``val``. ``names`` (implicit, explicit)
    label the progress. Every phase moves the bar (a first start showed one phase's message for
    minutes): the two fits, then the searches, in shares of the calibration's part of the bar."""
    fit_part(
        implicit,
        fit_on,
        span_progress(progress, 0.0, 0.15, f"fitting {names[0]}"),
        checkpoint,
        "calibration-implicit",
    )
    fit_part(
        explicit,
        fit_on,
        span_progress(progress, 0.15, 0.55, f"fitting {names[1]}"),
        checkpoint,
        "calibration-explicit",
    )
    return calibrate(
        implicit,
        explicit,
        fit_on.csr(),
        val.csr(),
        given,
        seed=seed,
        progress=span_progress(progress, 0.55, 1.0, "choosing T, β and k"),
    )


def calibrate(
    implicit: Recommender,
    explicit: Recommender,
    tr: sp.csr_matrix,
    va: sp.csr_matrix,
    given: tuple[float | None, float | None, float | None],
    seed: int,
    progress: Progress = silent,
) -> Calibration:
    """(T, β, k) for the two parts fitted on ``tr``, scored against ``va``; a number in
    ``given`` (T, β, k) is kept, a None is fitted (see the module docstring)."""
    temperature, beta, beta_k = given
    tables: dict[str, dict[str, float]] = {}
    users = np.flatnonzero(np.diff(va.indptr) > 0)
    imp = implicit.score_users(users).double()
    stars = explicit.score_users(users)
    exclude = [tr.indices[tr.indptr[u] : tr.indptr[u + 1]] for u in users]
    for row, ex in enumerate(exclude):
        imp[row, ex] = -torch.inf
    progress(0, 100, "the temperature and β")
    if temperature is None:
        temperature = fit_temperature(imp, va, users)
    if beta is None:
        beta, table = fit_beta(log_softmax_rows(imp, temperature), stars, va, users, exclude)
        tables["validation_ndcg_by_beta"] = dict(zip(map(str, BETAS), table, strict=True))
    if beta_k is None:
        beta_k, table = fit_beta_k(
            implicit,
            explicit,
            tr,
            va,
            temperature,
            beta,
            seed,
            span_progress(progress, 0.1, 1.0, "how much to trust few answers (k)"),
        )
        if table:
            tables["validation_few_answer_ndcg_by_k"] = dict(
                zip(map(str, BETA_KS), table, strict=True)
            )
    return Calibration(temperature, beta, beta_k, tables)


def fit_temperature(imp: torch.Tensor, va: sp.csr_matrix, users: np.ndarray) -> float:
    """T in ``TEMPERATURES`` (times the scores' spread) with the best held-out log-likelihood
    of the softmax over each user's unrated films (``imp``: -inf on rated ones)."""
    held = [va.indices[va.indptr[u] : va.indptr[u + 1]] for u in users]
    rows = torch.as_tensor(np.repeat(np.arange(len(users)), [len(h) for h in held]))
    cols = torch.as_tensor(np.concatenate(held).astype(np.int64))
    finite = torch.where(torch.isfinite(imp), imp, torch.nan)
    scale = float(np.nanstd(finite.numpy())) or 1.0
    nll: list[float] = []
    for t in TEMPERATURES:
        logp = torch.log_softmax(imp / (t * scale), dim=1)
        nll.append(-float(logp[rows, cols].mean()))
    return TEMPERATURES[int(np.argmin(nll))] * scale


def fit_beta(
    log_watch: torch.Tensor,
    stars: torch.Tensor,
    va: sp.csr_matrix,
    users: np.ndarray,
    exclude: list[np.ndarray],
) -> tuple[float, list[float]]:
    """β in ``BETAS`` with the best validation NDCG@10 against each user's films rated ≥ 4,
    and the table of NDCG@10 by β."""
    liked = [
        va.indices[va.indptr[u] : va.indptr[u + 1]][va.data[va.indptr[u] : va.indptr[u + 1]] >= 4]
        for u in users
    ]
    keep = [k for k, lk in enumerate(liked) if len(lk)]
    table: list[float] = []
    for beta in BETAS:
        s = combine(log_watch, stars, beta)
        s = torch.where(torch.isfinite(s), s, torch.finfo(torch.float32).min)
        out = topn_metrics(s[keep], [exclude[k] for k in keep], [liked[k] for k in keep], k=10)
        table.append(float(np.nanmean(out["ndcg"])))
    return BETAS[int(np.argmax(table))], table


def fit_beta_k(
    implicit: Recommender,
    explicit: Recommender,
    tr: sp.csr_matrix,
    va: sp.csr_matrix,
    temperature: float,
    beta: float,
    seed: int,
    progress: Progress = silent,
) -> tuple[float, list[float]]:
    """k in ``BETA_KS`` with the best mean NDCG@10 over (validation user, n): the user
    folded into both parts from n ∈ ``FEW_ANSWERS`` of their training films (seeded draws,
    n below their count), ranked among the films they have no training rating for, against
    their validation films rated ≥ 4. Returns (k, table of NDCG@10 by k); (0, []) when no
    validation user qualifies."""
    rng = np.random.default_rng(seed)
    totals = np.zeros(len(BETA_KS))
    count = 0
    n_users = tr.shape[0]
    for u in range(n_users):
        if u % 25 == 0:  # the longest phase of a first start: say where it is
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
        # every k at once: [len(BETA_KS) · len(sizes), n_items], top 10 by topk (a full sort
        # per row, as topn_metrics does, was two thirds of this search's time)
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
        return 0.0, []
    table = (totals / count).tolist()
    return BETA_KS[int(np.argmax(table))], table
