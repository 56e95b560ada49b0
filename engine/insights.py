"""What a model learned, in forms people can look at: factor maps, biases, neighbours, ego graphs.

Everything here reads a fitted model (``item_vectors``, ``item_bias``, ``similar_items``,
``fold_in`` states) and the catalogue it was trained on, and returns plain frames, arrays or a
networkx graph. Nothing here draws: colours, HTML and charts are the app's (``app/widgets``).

Choices worth knowing:

* **Factor map.** PCA of the film vectors, fitted on the films shown (at least ``min_ratings``
  ratings, and always at least one: a film nobody rated still has its initial vector, which would
  only add noise). Centred on those films' mean; components are signed so that each one's largest
  loading is positive, so the picture does not flip between runs.
* **Members on the map.** A member's vector ``p`` scores a film ``q`` by ``p·q`` (plus biases). Writing
  a film as ``q = mean + Σ c_k v_k``, the part of the score that varies across the map is
  ``Σ c_k (p·v_k)``; so we plot a member at ``(p·v_i, p·v_j)``: the *direction* in the map in which
  their predicted rating rises fastest. A member with no ratings (``p = 0``) sits at the centre, the
  average taste; films lying in a member's direction are the ones the model thinks they will like.
  (Centring ``p`` by the films' mean as well would move that empty member to an arbitrary point.)
* **Similar members.** Cosine of folded-in member vectors where the model has them, else the
  Pearson correlation of their predicted scores over the well-known films (not for empty ones).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import networkx as nx
import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.genres import NO_GENRE, main_genres, natural_labels
from engine.models.base import Recommender, UserState


class InsightUnavailable(ValueError):
    """The model cannot give this view (e.g. it has no film vectors or no biases); says which."""


class SimilarItems(Protocol):
    """What neighbour lists and graphs need: a model, or an ``engine.similarity`` measure."""

    @property
    def n_items(self) -> int: ...

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]: ...


def _film_frame(catalogue: Ratings, items: np.ndarray) -> pd.DataFrame:
    movies = catalogue.movies
    counts, means = catalogue.stats.counts, catalogue.stats.means
    return pd.DataFrame(
        {
            "item": items.astype(np.int64),
            "movieId": movies["movieId"].to_numpy()[items],
            "label": natural_labels(catalogue)[items],
            "title": movies["title"].to_numpy()[items],
            "year": movies["year"].array[items],
            "genres": movies["genres"].to_numpy()[items],
            "main_genre": main_genres(catalogue)[items],
            "n_ratings": counts[items].astype(np.int64),
            "mean_rating": means[items],
        }
    )


def _item_vectors(model: Recommender) -> np.ndarray:
    vectors = model.item_vectors()
    if vectors is None:
        raise InsightUnavailable(
            f"the {model.name!r} model has no film vectors; pick a factor model (e.g. mf, pmf, als)"
        )
    if isinstance(vectors, torch.Tensor):
        vectors = vectors.detach().float().cpu().numpy()
    return np.asarray(vectors, dtype=np.float64)


def _check_catalogue(model: Recommender | SimilarItems, catalogue: Ratings) -> None:
    if model.n_items != catalogue.n_items:
        raise ValueError(
            f"the {getattr(model, 'name', 'film')!r} model knows {model.n_items} films but "
            f"the catalogue has "
            f"{catalogue.n_items}; retrain it on this dataset"
        )


def _member_vector(state: UserState) -> np.ndarray | None:
    if state.vector is None:
        return None
    return state.vector.detach().float().cpu().numpy().astype(np.float64).reshape(-1)


# ---------------------------------------------------------------------------------- factor map
@dataclass(frozen=True)
class PCA:
    """A fitted PCA: ``mean`` [d], ``components`` [d, d] (rows = unit axes, strongest first) and
    ``explained`` (share of variance per axis, sums to 1)."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray) -> PCA:
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise InsightUnavailable("a factor map needs at least two films with vectors")
        mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        # sign convention (as sklearn's svd_flip): each axis' largest |loading| is positive
        signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
        vt = vt * np.where(signs == 0, 1.0, signs)[:, None]
        var = s**2
        total = var.sum()
        explained = var / total if total > 0 else np.zeros_like(var)
        return cls(mean=mean, components=vt, explained=explained)

    def transform(self, vectors: np.ndarray, axes: Sequence[int]) -> np.ndarray:
        """Film coordinates on ``axes`` (centred like the fit)."""
        return (np.asarray(vectors, np.float64) - self.mean) @ self.components[list(axes)].T

    def directions(self, vectors: np.ndarray, axes: Sequence[int]) -> np.ndarray:
        """Member coordinates on ``axes``: the uncentred projection (see the module docstring)."""
        return np.asarray(vectors, np.float64) @ self.components[list(axes)].T


def factor_map(
    model: Recommender,
    catalogue: Ratings,
    members: Mapping[str, UserState] | None = None,
    components: tuple[int, int] = (0, 1),
    min_ratings: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Films and members on two principal axes of the film vectors.

    Returns ``(films, members, explained)``: ``films`` has the catalogue columns plus ``x``, ``y``
    (one row per film with at least ``max(min_ratings, 1)`` ratings); ``members`` has ``member``,
    ``n_ratings``, ``x``, ``y`` for each member the map can place: a state without a vector of
    the films' size has no direction on the map and is left out, so a caller compares the names
    to say who is missing;
    ``explained`` is the share of variance of *every* axis, strongest first, so
    ``explained[list(components)]`` is what the two shown axes carry.
    """
    _check_catalogue(model, catalogue)
    vectors = _item_vectors(model)
    d = vectors.shape[1]
    a, b = (int(c) for c in components)
    if a == b or not (0 <= a < d and 0 <= b < d):
        raise ValueError(f"choose two different components between 0 and {d - 1}, not {components}")
    shown = np.flatnonzero(catalogue.stats.counts >= max(int(min_ratings), 1))
    if len(shown) < 2:
        raise InsightUnavailable(
            f"fewer than two films have at least {max(int(min_ratings), 1)} ratings; lower the minimum"
        )
    pca = PCA.fit(vectors[shown])
    films = _film_frame(catalogue, shown)
    xy = pca.transform(vectors[shown], (a, b))
    films["x"], films["y"] = xy[:, 0], xy[:, 1]

    rows = []
    for name, state in (members or {}).items():
        p = _member_vector(state)
        if p is None or p.shape[0] != d:
            continue
        x, y = pca.directions(p[None, :], (a, b))[0]
        rows.append({"member": name, "n_ratings": len(state.items), "x": x, "y": y})
    member_frame = pd.DataFrame(rows, columns=["member", "n_ratings", "x", "y"])
    return films, member_frame, pca.explained


# ---------------------------------------------------------------------------------- biases
def bias_ranking(
    model: Recommender, catalogue: Ratings, min_ratings: int = 20, n: int = 20
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Films people rate far above (``loved``) and below (``hated``) what everything else predicts.

    That is the model's film bias: the part of a film's rating no taste factor explains. Only films
    with at least ``min_ratings`` ratings are ranked (a film rated once by a fan is not "loved").
    Both frames have the catalogue columns plus ``bias``, best (or worst) first.
    """
    _check_catalogue(model, catalogue)
    bias = model.item_bias()
    if bias is None:
        raise InsightUnavailable(
            f"the {model.name!r} model has no film biases (it learns no per-film offset); "
            "choose mf or pmf to see loved and hated films"
        )
    bias = np.asarray(
        bias.detach().cpu().numpy() if isinstance(bias, torch.Tensor) else bias, np.float64
    )
    eligible = np.flatnonzero(catalogue.stats.counts >= max(int(min_ratings), 1))
    frame = _film_frame(catalogue, eligible)
    frame["bias"] = bias[eligible]
    # ties broken by popularity, then item index, so the order is deterministic
    loved = frame.sort_values(["bias", "n_ratings", "item"], ascending=[False, False, True])
    hated = frame.sort_values(["bias", "n_ratings", "item"], ascending=[True, False, True])
    return loved.head(n).reset_index(drop=True), hated.head(n).reset_index(drop=True)


# ---------------------------------------------------------------------------------- neighbours
def _neighbours(
    model: SimilarItems, item: int, k: int, eligible: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``model.similar_items`` restricted to ``eligible`` films (a boolean mask), best first.

    Over-fetches and filters, doubling until ``k`` eligible neighbours are found or the
    catalogue is exhausted, so models that override ``similar_items`` (kNN) work unchanged.
    """
    n_items = model.n_items
    fetch = k if eligible is None else min(n_items - 1, 4 * k + 16)
    while True:
        idx, sims = model.similar_items(int(item), fetch)
        idx = np.asarray(idx, dtype=np.int64)
        sims = np.asarray(sims, dtype=np.float64)
        keep = idx != item
        if eligible is not None:
            keep &= eligible[idx]
        keep &= np.isfinite(sims)
        if keep.sum() >= k or fetch >= n_items - 1:
            return idx[keep][:k], sims[keep][:k]
        fetch = min(n_items - 1, fetch * 2)


def _eligible(catalogue: Ratings, min_ratings: int) -> np.ndarray | None:
    return None if min_ratings <= 0 else catalogue.stats.counts >= int(min_ratings)


def similar_films(
    model: SimilarItems, catalogue: Ratings, item: int, k: int = 10, min_ratings: int = 0
) -> pd.DataFrame:
    """The ``k`` films most similar to ``item`` by the model, with ``similarity``, best first."""
    _check_catalogue(model, catalogue)
    _check_item(catalogue, item)
    idx, sims = _neighbours(model, item, k, _eligible(catalogue, min_ratings))
    frame = _film_frame(catalogue, idx)
    frame["similarity"] = sims
    return frame


def member_similarity(
    model: Recommender,
    members: Mapping[str, UserState],
    catalogue: Ratings | None = None,
    min_ratings: int = 20,
) -> pd.DataFrame:
    """Members × members similarity (NaN where a member has no taste yet, i.e. rated nothing).

    Cosine of the members' vectors for factor models; otherwise Pearson correlation of their
    predicted scores over films with at least ``min_ratings`` ratings (all films without a
    catalogue), which ignores the part of the score everyone shares.
    """
    names = list(members)
    n = len(names)
    out = np.full((n, n), np.nan)
    if n == 0:
        return pd.DataFrame(out, index=names, columns=names)
    states = [members[m] for m in names]
    vectors = [v for v in map(_member_vector, states) if v is not None]
    if len(vectors) == n:
        matrix = np.stack(vectors)
    else:
        scores = torch.stack([model.score(s) for s in states]).double().numpy()
        if catalogue is not None:
            mask = catalogue.stats.counts >= max(int(min_ratings), 1)
            if mask.sum() >= 2:
                scores = scores[:, mask]
        matrix = scores - scores.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(matrix, axis=1)
    has_taste = np.array([len(s.items) > 0 for s in states]) & (norms > 1e-12)
    unit = matrix / np.where(norms > 1e-12, norms, 1.0)[:, None]
    sims = np.clip(unit @ unit.T, -1.0, 1.0)
    ok = np.outer(has_taste, has_taste)
    out[ok] = sims[ok]
    return pd.DataFrame(out, index=names, columns=names)


def similar_members(
    model: Recommender,
    members: Mapping[str, UserState],
    catalogue: Ratings | None = None,
) -> pd.DataFrame:
    """Pairs of members, most alike first: columns ``member``, ``other``, ``similarity``.

    Each unordered pair appears once; members who rated nothing appear in no pair.
    """
    sim = member_similarity(model, members, catalogue)
    names = list(sim.index)
    rows = [
        {"member": names[i], "other": names[j], "similarity": float(sim.iat[i, j])}
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if not math.isnan(sim.iat[i, j])
    ]
    frame = pd.DataFrame(rows, columns=["member", "other", "similarity"])
    return frame.sort_values("similarity", ascending=False, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------- ego graph
def _check_item(catalogue: Ratings, item: int) -> None:
    if not 0 <= int(item) < catalogue.n_items:
        raise ValueError(f"film index {item} is not in the catalogue of {catalogue.n_items} films")


def _knn_around(
    model: SimilarItems, center: int, radius: int, neighbours: int, eligible: np.ndarray | None
) -> nx.DiGraph:
    """The part of the directed kNN graph reachable from ``center`` in ``radius`` hops,
    breadth-first, plus the outermost ring's links among the films found."""
    knn = nx.DiGraph()
    knn.add_node(center)
    frontier, seen = [center], {center}
    for _ in range(radius):
        nxt = []
        for node in frontier:
            idx, sims = _neighbours(model, node, neighbours, eligible)
            for j, s in zip(idx.tolist(), sims.tolist(), strict=True):
                knn.add_edge(node, j, weight=float(s))
                if j not in seen:
                    seen.add(j)
                    nxt.append(j)
        frontier = nxt
    # the outermost ring's links among themselves belong to the (induced) ego graph too
    for node in frontier:
        idx, sims = _neighbours(model, node, neighbours, eligible)
        for j, s in zip(idx.tolist(), sims.tolist(), strict=True):
            if j in seen:
                knn.add_edge(node, j, weight=float(s))
    return knn


def _film_graph(ego: nx.DiGraph, catalogue: Ratings, center: int) -> nx.Graph:
    """``ego`` undirected, each node with its film's details and its hops from ``center``."""
    hops = nx.single_source_shortest_path_length(ego, center)
    graph = nx.Graph(center=center)
    films = _film_frame(catalogue, np.array(sorted(ego.nodes), dtype=np.int64)).set_index("item")
    for node in ego.nodes:
        row = films.loc[node]
        year = row["year"]
        graph.add_node(
            int(node),
            label=str(row["label"]),
            title=str(row["title"]),
            year=None if pd.isna(year) else int(year),
            genres=str(row["genres"]),
            genre=str(row["main_genre"]),
            popularity=int(row["n_ratings"]),
            hops=int(hops[node]),
        )
    for u, v, w in ego.edges(data="weight"):
        # a mutual pair keeps the larger of its two similarities (they agree for cosine)
        if not graph.has_edge(u, v) or graph[u][v]["weight"] < w:
            graph.add_edge(int(u), int(v), weight=float(w))
    return graph


def similarity_graph(
    model: SimilarItems,
    catalogue: Ratings,
    center: int,
    radius: int = 2,
    neighbours: int = 5,
    min_ratings: int = 0,
) -> nx.Graph:
    """The films within ``radius`` hops of ``center`` in the model's k-nearest-neighbour graph.

    The kNN graph links each film to its ``neighbours`` most similar films (``similar_items``,
    among films with at least ``min_ratings`` ratings). Only the part reachable from ``center``
    is built — breadth-first, ``radius`` levels deep, plus the outer ring's links among the films
    found — and ``networkx.ego_graph`` cuts it, so the result equals the ego graph of the full
    directed kNN graph (all links among films within ``radius``) without computing all of it.
    Returned undirected: nodes carry ``label``, ``title``, ``year``, ``genres``, ``genre`` (main
    genre), ``popularity`` (#ratings), ``hops`` (distance from the centre); edges ``weight`` (the
    similarity). ``graph.graph["center"]`` is the centre film.
    """
    _check_catalogue(model, catalogue)
    _check_item(catalogue, center)
    radius, neighbours = int(radius), int(neighbours)
    if radius < 0 or neighbours < 1:
        raise ValueError("radius must be >= 0 and neighbours >= 1")
    eligible = _eligible(catalogue, min_ratings)
    knn = _knn_around(model, int(center), radius, neighbours, eligible)
    ego = nx.ego_graph(knn, int(center), radius=radius)
    return _film_graph(ego, catalogue, int(center))


__all__ = [
    "NO_GENRE", "PCA", "InsightUnavailable", "SimilarItems", "bias_ranking", "factor_map",
    "main_genres", "member_similarity", "similar_films", "similar_members", "similarity_graph",
]  # fmt: skip
