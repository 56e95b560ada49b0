"""Film embeddings learned from the similar-movie graph: random walks + skip-gram ("graph").

The approach of recsys-nlp-graph (Eugene Yan) and Alibaba's EGES (Wang et al., KDD 2018), from
their definitions:

1. a film–film graph from co-likes (``engine.data.film_graph``: cosine-weighted, at least two
   co-likers, top-k neighbours per film);
2. random walks on it (``engine.data.random_walks``: weighted DeepWalk, or node2vec with p/q);
3. skip-gram with negative sampling on the walks, optionally with genre and decade side
   information (``engine.models.skipgram``).

A film's vector says *who watched it together with what*: films close in this space are liked by
the same people in the same breath, which is a different notion of "similar" from a taste
factor model's (films that the same kind of person rates highly).

As a recommender (implicit: scores are a preference, not stars) a person is the weighted mean of
the unit vectors of the films they liked (rated at least ``like_threshold``; weight = stars −
threshold + 1, so 5★ counts twice what 4★ does), and a film scores its cosine-like product with
that mean. Fold-in is that formula, instant and exact: a training user folded in from their own
ratings gets exactly their trained scores. Someone who liked nothing gets the prior, the films
most people liked.

Films off the graph (no co-like edge: no walk ever visits them) rank after every film on it.
Their vectors were never trained by a walk: they are their initial noise and, with side
information, the mean of their genre and decade embeddings, which says what kind of film they
are, not that anyone watches them with what this person liked. Ranked by that alone they filled
the top of the list with obscure films of the right genre (protocol R, far below popularity's
NDCG@10: docs/tuning/graph.txt). This is word2vec's vocabulary rule (the
source recommends only items in its vocabulary), kept as an order so every film still has a
score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from engine.data.film_graph import FilmGraph, Weighting, co_like_graph
from engine.data.random_walks import random_walks
from engine.data.ratings import Ratings
from engine.models.base import (
    Capability,
    Recommender,
    UserState,
    cosine_neighbours,
    to_tensor,
)
from engine.models.config import Config, param
from engine.models.skipgram import SkipGramNet, SkipGramSchedule, side_info, train_skipgram
from engine.progress import Progress, silent, stage_progress

WalkWeights = Literal["edge", "uniform"]
OFF_GRAPH_SHIFT = 2.0  # scores of unit-vector products lie in [−1, 1]: −2 puts them after all


@dataclass(frozen=True)
class GraphConfig(Config):
    """Walk and skip-gram settings follow the source (recsys-nlp-graph: 10 walks of length 10 per
    node, window 5, 5 negatives, subsampling 1e-3, 5 epochs); the graph's pruning is ours (see
    ``engine.data.film_graph``). The step size and batch are ours: a catalogue of a few thousand
    films gives a few million pairs an epoch, and at 4096 pairs a step 0.05 learns in 5 epochs
    where 0.01 (with 8192) left the planted tests' loss where it started."""

    factors: int = param(64, low=1, high=1024, help="length of each film's vector")
    like_threshold: float = param(
        4.0, low=0.5, high=5.0, help="stars from which a rating counts as a like (graph and people)"
    )
    min_count: int = param(
        2, low=1, high=10_000, help="co-likers a pair of films needs for an edge"
    )
    top_k: int = param(30, low=1, high=10_000, help="strongest neighbours each film keeps")
    weighting: Weighting = param(
        "cosine", help='edge weight: "cosine", "jaccard", "pmi" (positive) or raw "count"'
    )
    walks_per_film: int = param(10, low=1, high=1000, quick=4, help="walks started at each film")
    walk_length: int = param(10, low=2, high=1000, help="films per walk")
    p: float = param(
        1.0, low=0, high=100, low_open=True, help="node2vec return parameter (1 with q=1: DeepWalk)"
    )
    q: float = param(
        1.0, low=0, high=100, low_open=True, help="node2vec in-out parameter (<1 explores outward)"
    )
    window: int = param(5, low=1, high=100, help="films either side of a centre that are context")
    negatives: int = param(5, low=1, high=100, help="noise films per (centre, context) pair")
    subsample: float = param(
        1e-3, low=0, high=1, help="word2vec's subsampling threshold t for frequent films (0: off)"
    )
    epochs: int = param(5, low=1, high=1000, quick=2, help="passes over the walk pairs")
    lr: float = param(0.05, low=0, high=1, low_open=True, help="SparseAdam's initial step size")
    batch_size: int = param(4096, low=1, high=2**31 - 1, help="pairs per step")
    side_info: bool = param(
        True, help="EGES: mix each film's genre and decade embeddings into its vector"
    )
    walk_weights: WalkWeights = param(
        "edge", help='walk steps by edge weight ("edge") or to any neighbour alike ("uniform")'
    )


@dataclass(frozen=True)
class GraphVectors:
    """``centre``: unit centre vectors [n_films, d], the film vectors the model ranks with;
    ``context``: the skip-gram's context vectors (raw), whose product with a centre vector is
    what the skip-gram was trained to predict (film j on a walk near film i); ``info``: counts
    and seconds."""

    centre: torch.Tensor
    context: torch.Tensor
    info: dict[str, float]


def walk_graph(graph: FilmGraph, how: WalkWeights) -> FilmGraph:
    """The graph the walks step on: ``graph`` itself ("edge": a step follows edge weight), or
    the same edges all weighing 1 ("uniform": DeepWalk's unweighted step)."""
    if how == "edge":
        return graph
    if how == "uniform":
        return replace(graph, weights=np.ones_like(graph.weights))
    raise ValueError(f'walk_weights must be "edge" or "uniform", not {how!r}')


def embed_graph(
    graph: FilmGraph,
    catalogue: Ratings,
    cfg: GraphConfig,
    device: torch.device | str = "cpu",
    progress: Progress = silent,
) -> GraphVectors:
    """Film vectors learned from walks on ``graph`` (steps 2 and 3 of the module docstring),
    and what it took. ``catalogue`` gives the films' side information.

    Separate from ``fit`` so that protocol Graph-A can embed a graph with held-out edges
    removed, as the source does, rather than a graph rebuilt from ratings."""
    graph = walk_graph(graph, cfg.walk_weights)
    walks = random_walks(graph, cfg.walks_per_film, cfg.walk_length, cfg.p, cfg.q, cfg.seed)
    progress(2, 3, f"{len(walks.paths):,} walks")
    gen = torch.Generator().manual_seed(cfg.seed)
    side = side_info(catalogue) if cfg.side_info else None
    net = SkipGramNet(graph.n_films, cfg.factors, side, gen).to(device)
    schedule = SkipGramSchedule(
        cfg.epochs, cfg.batch_size, cfg.negatives, cfg.lr, cfg.window, cfg.subsample
    )
    began = time.perf_counter()
    counts = train_skipgram(
        net,
        walks.paths,
        graph.n_films,
        schedule,
        cfg.seed,
        stage_progress(progress, 2, 3, "skip-gram"),
    )
    vectors = F.normalize(net.film_vectors(graph.n_films), dim=1)
    info = {
        "films_with_edges": int((graph.degree() > 0).sum()),
        "edges": graph.n_edges,
        "walks": len(walks.paths),
        "walks_per_second": round(walks.per_second),
        "walk_seconds": round(walks.seconds, 3),
        "skipgram_seconds": round(time.perf_counter() - began, 3),
        **{k: round(v, 4) for k, v in counts.items()},
    }
    return GraphVectors(vectors, net.context.weight.detach().clone(), info)


class GraphEmbedding(Recommender):
    """Skip-gram film vectors from co-like random walks; a person is their liked films' mean."""

    name = "graph"
    kind = "implicit"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({"item_vectors", "similar_items"})
    config_class = GraphConfig
    config: GraphConfig
    _vectors: torch.Tensor  # unit film vectors [n_items, factors]
    _likes: torch.Tensor  # people who liked each film in training
    _on_graph: torch.Tensor  # films with at least one co-like edge (bool)
    _train: sp.csr_matrix
    _context: torch.Tensor | None = None  # skip-gram's context vectors; not saved (see below)

    def _fit(self, train: Ratings, progress: Progress) -> None:
        cfg = self.config
        began = time.perf_counter()
        graph = co_like_graph(train, cfg.like_threshold, cfg.min_count, cfg.top_k, cfg.weighting)
        graph_s = time.perf_counter() - began
        progress(1, 3, f"graph: {graph.n_edges:,} edges")
        embedded = embed_graph(graph, train, cfg, self.device, progress)
        self._vectors, info = embedded.centre, embedded.info
        self._context = embedded.context.to(self.device)
        self._likes = to_tensor(graph.likes, torch.float32, self.device)
        self._on_graph = to_tensor(graph.degree() > 0, torch.bool, self.device)
        self._train = train.csr()
        self.info.update({"graph_seconds": round(graph_s, 3), **info})

    # ------------------------------------------------------------------ people
    def _like_weights(self, values: np.ndarray) -> np.ndarray:
        """stars − threshold + 1 for liked films, 0 for the rest."""
        t = self.config.like_threshold
        return np.where(values >= t, values - t + 1.0, 0.0).astype(np.float32)

    def _member(self, items: np.ndarray, values: np.ndarray) -> torch.Tensor | None:
        weights = self._like_weights(values)
        if not (weights > 0).any():
            return None
        w = to_tensor(weights, torch.float32, self.device)
        rows = self._vectors[to_tensor(items, torch.long, self.device)]
        return (w @ rows) / w.sum()

    def _fold_in(self, items: np.ndarray, values: np.ndarray) -> UserState:
        return UserState(items=items, values=values, vector=self._member(items, values))

    def _user_state(self, user: int) -> UserState:
        lo, hi = self._train.indptr[user], self._train.indptr[user + 1]
        items = self._train.indices[lo:hi].astype(np.int64)
        values = self._train.data[lo:hi].astype(np.float32)
        return UserState(items=items, values=values, vector=self._member(items, values))

    # ------------------------------------------------------------------ scoring
    def _prior(self) -> torch.Tensor:
        """Someone who liked nothing yet: the films most people liked first."""
        return torch.log1p(self._likes)

    def _off_graph_last(self, scores: torch.Tensor) -> torch.Tensor:
        """Films off the graph after every film on it, in their own order (rows or one row)."""
        return torch.where(self._on_graph, scores, scores - OFF_GRAPH_SHIFT)

    def _score_state(self, state: UserState) -> torch.Tensor:
        if state.vector is None:
            return self._prior()
        return self._off_graph_last(self._vectors @ state.vector.to(self.device))

    def _score_users(self, users: np.ndarray) -> torch.Tensor:
        rows = self._train[users]
        weights = sp.csr_matrix(
            (self._like_weights(rows.data), rows.indices, rows.indptr), shape=rows.shape
        )
        totals = np.asarray(weights.sum(axis=1)).ravel()
        dense = to_tensor(weights.toarray(), torch.float32, self.device)
        members = (dense @ self._vectors) / to_tensor(
            np.maximum(totals, 1e-12), torch.float32, self.device
        )[:, None]
        scores = self._off_graph_last(members @ self._vectors.T)
        nobody = to_tensor(totals == 0, torch.bool, self.device)
        if bool(nobody.any()):
            scores[nobody] = self._prior()
        return scores

    # ------------------------------------------------------------------ insight
    def _item_vectors(self) -> np.ndarray:
        """Unit vectors of the films on the graph; a zero row for a film off it, which this
        model never ranks on (its vector was never trained by a walk): cosine 0 with any film."""
        on = self._on_graph[:, None].to(self._vectors.dtype)
        return (self._vectors * on).cpu().numpy()

    def context_vectors(self) -> np.ndarray | None:
        """Skip-gram's context vectors [n_items, factors], raw, a zero row for a film off the
        graph: a centre vector's product with them is what the skip-gram was trained to predict
        (film j near film i on a walk), the score by which this model beats Adamic–Adar in
        protocol Graph-A. Kept from the fit so protocol Similar can score neighbours by it too;
        None for a model loaded from a checkpoint, which does not save them (the app ranks
        people's films by centre vectors alone)."""
        self._check_fitted()
        if self._context is None:
            return None
        on = self._on_graph[:, None].to(self._context.dtype)
        return (self._context * on).cpu().numpy()

    def _similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine neighbours among the films on the graph; none for a film off it."""
        on = self._on_graph.cpu().numpy()
        if not on[item]:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        films = np.flatnonzero(on)
        vectors = self._vectors.cpu().numpy()[films]
        order, sims = cosine_neighbours(vectors, int(np.searchsorted(films, item)), k)
        return films[order], sims

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        t = self._train
        return {
            "film_vectors": self._vectors,
            "likes": self._likes,
            "on_graph": self._on_graph,
            "train_indptr": torch.as_tensor(t.indptr.astype(np.int64)),
            "train_indices": torch.as_tensor(t.indices.astype(np.int64)),
            "train_data": torch.as_tensor(t.data.astype(np.float32)),
        }

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        vectors = tensors["film_vectors"]
        if vectors.shape != (self.n_items, self.config.factors):
            raise ValueError(f"film vectors {tuple(vectors.shape)} do not match the manifest")
        self._vectors, self._likes = vectors.to(self.device), tensors["likes"].to(self.device)
        self._context = None
        # saved before off-graph films were ranked last: every film counts as on the graph
        on_graph = tensors.get("on_graph", torch.ones(self.n_items, dtype=torch.bool))
        self._on_graph = on_graph.to(device=self.device, dtype=torch.bool)
        self._train = sp.csr_matrix(
            (
                tensors["train_data"].cpu().numpy(),
                tensors["train_indices"].cpu().numpy(),
                tensors["train_indptr"].cpu().numpy(),
            ),
            shape=(self.n_users, self.n_items),
        )
