"""Skip-gram with negative sampling over film walks, optionally with EGES side information.

word2vec's skip-gram (Mikolov et al. 2013) on random-walk "sentences" of films (DeepWalk,
node2vec): every film within ``window`` steps of a centre film on a walk is a context; the loss
for a (centre c, context o) pair with negatives n₁..n_k drawn from the walk frequencies ** 0.75 is

    −log σ(h_c · v_o) − Σ_j log σ(−h_c · v_nj)

with separate centre (h) and context (v) embeddings, as in the source (recsys-nlp-graph's
PyTorch skip-gram) and word2vec. Frequent films are subsampled as contexts with word2vec's keep
probability (√(f/t) + 1)·t/f, so the hubs every walk passes through do not dominate the pairs.

EGES (Wang et al., "Billion-scale Commodity Embedding for E-commerce Recommendation in Alibaba",
KDD 2018): a film's centre vector is a weighted mean of its own embedding and the embeddings of
its side information (its genres, averaged, and its release decade),

    h_v = Σ_j e^{a_vj} W_j[v] / Σ_j e^{a_vj},

with learned per-film weights a_v (started equal). Context vectors stay per film, as in the
paper. A film that no walk reaches keeps its initial own embedding (small) and equal weights, so
its vector is essentially the mean of its genre and decade embeddings: it sits among films of the
same kind instead of at a random point (the paper's cold-start argument).

Embedding tables are sparse (``nn.Embedding(sparse=True)`` with ``SparseAdam``, as in the
source): a step touches only the rows in its batch, which is what keeps a step cheap at
MovieLens-25M catalogue size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.catalogue import parse_genres
from engine.data.ratings import Ratings
from engine.models.torch_typed import descend
from engine.progress import Progress

YEAR_SPAN = 10  # side information: the release decade


@dataclass(frozen=True)
class SideInfo:
    """Each film's genres (CSR: ``genre_ids[genre_offsets[v]:genre_offsets[v + 1]]``, never
    empty: a film without genres gets the "no genre" id) and release-decade bucket."""

    genre_ids: np.ndarray
    genre_offsets: np.ndarray
    decade: np.ndarray
    n_genres: int
    n_decades: int


def side_info(catalogue: Ratings) -> SideInfo:
    """Genres and release decades of ``catalogue``'s films (unknown year: a bucket of its own)."""
    genre_lists = [parse_genres(g) for g in np.asarray(catalogue.movies["genres"], dtype=object)]
    names = sorted({g for gs in genre_lists for g in gs})
    index = {g: k for k, g in enumerate(names)}
    none = len(names)
    ids = [[index[g] for g in gs] or [none] for gs in genre_lists]
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in ids], out=offsets[1:])
    flat = np.fromiter((g for x in ids for g in x), dtype=np.int64, count=int(offsets[-1]))
    years = np.asarray(catalogue.movies["year"], dtype=np.float64)  # a missing year: NaN
    decades = np.where(np.isfinite(years), np.floor(np.nan_to_num(years) / YEAR_SPAN), -1)
    _, bucket = np.unique(decades, return_inverse=True)
    return SideInfo(flat, offsets, bucket.astype(np.int64), none + 1, int(bucket.max()) + 1)


def keep_probabilities(paths: np.ndarray, n_films: int, sample: float) -> np.ndarray:
    """word2vec's subsampling: keep a context film with probability min(1, (√(f/t) + 1)·t/f),
    f its share of all walk positions, t = ``sample``; 0 turns subsampling off."""
    counts = np.bincount(paths.ravel(), minlength=n_films).astype(np.float64)
    if sample <= 0 or counts.sum() == 0:
        return np.ones(n_films)
    f = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(f / sample) + 1.0) * sample / f
    return np.where(counts > 0, np.minimum(keep, 1.0), 1.0)


def skipgram_pairs(
    paths: np.ndarray, window: int, keep: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(centres, contexts): every pair of films at most ``window`` steps apart on a walk, both
    ways, minus a film paired with itself, each kept with its context's ``keep`` probability."""
    centres: list[np.ndarray] = []
    contexts: list[np.ndarray] = []
    for d in range(1, min(window, paths.shape[1] - 1) + 1):
        a, b = paths[:, :-d].ravel(), paths[:, d:].ravel()
        centres += [a, b]
        contexts += [b, a]
    if not centres:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    c, o = np.concatenate(centres).astype(np.int64), np.concatenate(contexts).astype(np.int64)
    mask = (c != o) & (rng.random(len(c)) < keep[o])
    return c[mask], o[mask]


def negative_weights(paths: np.ndarray, n_films: int, power: float = 0.75) -> np.ndarray:
    """word2vec's noise distribution: walk frequency ** 0.75 (films on no walk: never drawn)."""
    counts = np.bincount(paths.ravel(), minlength=n_films).astype(np.float64)
    return counts**power


class SkipGramNet(nn.Module):
    """Centre and context embeddings; with ``side``, EGES's weighted centre vectors."""

    # buffers (moved with the module by ``.to``), declared for the type checker
    genre_ids: torch.Tensor
    genre_offsets: torch.Tensor
    decade_of: torch.Tensor

    def __init__(self, n_films: int, dim: int, side: SideInfo | None, gen: torch.Generator):
        super().__init__()
        span = 0.5 / dim  # word2vec's initialisation: centres uniform in ±0.5/d, contexts 0

        def uniform(rows: int, width: int, spread: float) -> torch.Tensor:
            return (torch.rand(rows, width, generator=gen) * 2.0 - 1.0) * spread

        def table(rows: int, width: int, spread: float) -> nn.Embedding:
            embedding = nn.Embedding(rows, width, sparse=True)
            with torch.no_grad():
                embedding.weight.copy_(uniform(rows, width, spread))
            return embedding

        self.own = table(n_films, dim, span)
        self.context = table(n_films, dim, 0.0)
        self.side = side
        if side is not None:
            self.genre = nn.EmbeddingBag(side.n_genres, dim, mode="mean", sparse=True)
            with torch.no_grad():
                self.genre.weight.copy_(uniform(side.n_genres, dim, span))
            self.decade = table(side.n_decades, dim, span)
            self.attention = table(n_films, 3, 0.0)  # e^0: own, genres, decade weigh the same
            self.register_buffer("genre_ids", torch.as_tensor(side.genre_ids))
            self.register_buffer("genre_offsets", torch.as_tensor(side.genre_offsets))
            self.register_buffer("decade_of", torch.as_tensor(side.decade))

    def centre(self, films: torch.Tensor) -> torch.Tensor:
        """Centre vectors of ``films`` [b] -> [b, d]."""
        own = self.own(films)
        if self.side is None:
            return own
        ids, offsets = self.genre_ids, self.genre_offsets
        starts, stops = offsets[films], offsets[films + 1]
        lengths = stops - starts
        # gather each film's genre ids into one flat bag list with fresh offsets
        bag_offsets = torch.cumsum(lengths, 0) - lengths
        flat = torch.repeat_interleave(starts - bag_offsets, lengths) + torch.arange(
            int(lengths.sum()), device=films.device
        )
        genres = self.genre(ids[flat], bag_offsets)
        decades = self.decade(self.decade_of[films])
        weights = torch.softmax(self.attention(films), dim=1)  # [b, 3]
        stacked = torch.stack([own, genres, decades], dim=1)  # [b, 3, d]
        return (weights[:, :, None] * stacked).sum(1)

    def loss(
        self, centres: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        """Mean over the batch of −log σ(h·v⁺) − Σ log σ(−h·v⁻)."""
        h = self.centre(centres)
        positive = (h * self.context(contexts)).sum(1)
        negative = torch.einsum("bd,bkd->bk", h, self.context(negatives))
        return (F.softplus(-positive) + F.softplus(negative).sum(1)).mean()

    def film_vectors(self, n_films: int, chunk: int = 65536) -> torch.Tensor:
        """Every film's centre vector [n_films, d], without gradients."""
        device = self.own.weight.device
        with torch.no_grad():
            return torch.cat(
                [
                    self.centre(torch.arange(s, min(s + chunk, n_films), device=device))
                    for s in range(0, n_films, chunk)
                ]
            )


@dataclass(frozen=True)
class SkipGramSchedule:
    """How to train: passes over the pairs, pairs per step, negatives per pair, step size."""

    epochs: int
    batch_size: int
    negatives: int
    lr: float
    window: int
    subsample: float


def train_skipgram(
    net: SkipGramNet,
    paths: np.ndarray,
    n_films: int,
    schedule: SkipGramSchedule,
    seed: int,
    progress: Progress,
) -> dict[str, float]:
    """Train ``net`` on ``paths`` with SparseAdam, the step size decaying linearly to 0 (as
    word2vec's does); every epoch redraws the subsampled pairs and their order. Returns counts and
    the final epoch's mean loss."""
    device = net.own.weight.device
    rng = np.random.default_rng(seed)
    keep = keep_probabilities(paths, n_films, schedule.subsample)
    noise = torch.as_tensor(negative_weights(paths, n_films), dtype=torch.float32, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.SparseAdam(list(net.parameters()), lr=schedule.lr)
    sizes = [len(skipgram_pairs(paths, schedule.window, keep, rng)[0])]
    total_steps = max(1, schedule.epochs * math.ceil(sizes[0] / schedule.batch_size))
    step, last = 0, float("nan")
    for epoch in range(schedule.epochs):
        centres, contexts = skipgram_pairs(paths, schedule.window, keep, rng)
        order = rng.permutation(len(centres))
        c_all = torch.as_tensor(centres[order], device=device)
        o_all = torch.as_tensor(contexts[order], device=device)
        total, seen = 0.0, 0
        for start in range(0, len(c_all), schedule.batch_size):
            c = c_all[start : start + schedule.batch_size]
            o = o_all[start : start + schedule.batch_size]
            n = torch.multinomial(noise, len(c) * schedule.negatives, True, generator=gen)
            for group in opt.param_groups:
                group["lr"] = schedule.lr * max(1.0 - step / total_steps, 1e-4)
            opt.zero_grad()
            loss = net.loss(c, o, n.view(len(c), schedule.negatives))
            descend(loss, opt)
            total += float(loss.detach()) * len(c)
            seen += len(c)
            step += 1
        last = total / max(seen, 1)
        progress(epoch + 1, schedule.epochs, f"skip-gram epoch {epoch + 1}: loss {last:.4f}")
    return {"pairs_per_epoch": float(sizes[0]), "steps": float(step), "final_loss": last}


__all__ = [
    "SideInfo",
    "SkipGramNet",
    "SkipGramSchedule",
    "keep_probabilities",
    "negative_weights",
    "side_info",
    "skipgram_pairs",
    "train_skipgram",
]
