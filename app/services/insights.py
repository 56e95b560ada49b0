"""What a model learned, for the Explore page: ``engine.insights`` on the shared model and
catalogue, with the room's members folded in.

What depends only on the model (the films' map, bias rankings, film graphs) is cached per model
generation with ``st.cache_resource`` (shared across sessions; treat the frames as read-only);
members are folded in on every call, since their answers change while the page is open.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import streamlit as st

from app.services.catalogue import get_catalogue
from app.services.models import (
    INSIGHT_FALLBACK,
    default_model_name,
    get_model,
    model_family,
    model_names,
    model_token,
)
from app.services.rooms import member_states
from engine.data.ratings import Ratings
from engine.models.base import Recommender

# What "similar films" can mean on Explore: the chosen model's taste factors, or the film
# embeddings learned from the co-liked film graph (``engine.models.graph_embedding``).
COWATCH_MODEL = "graph"
SIMILARITY_BASES: dict[str, str] = {
    "taste": "Similar by taste factors",
    "together": "Similar by who watched them together",
}
SIMILARITY_EXPLAINED: dict[str, str] = {
    "taste": "Taste factors: films that the same kind of viewer rates highly, from the film "
    "model's learned factors.",
    "together": "Watched together: films that the same people liked, from embeddings learned on "
    "walks through the graph of films liked by the same people.",
}


def similarity_model(model_name: str, basis: str) -> str:
    """The model whose film vectors say which films are alike for ``basis`` (a key of
    ``SIMILARITY_BASES``): ``model_name`` itself for taste, the graph embeddings otherwise."""
    if basis == "taste":
        return model_name
    if basis == "together":
        return COWATCH_MODEL
    raise ValueError(f"basis must be one of {', '.join(SIMILARITY_BASES)}, not {basis!r}")


def insight_models() -> list[str]:
    """Model families with film vectors (what Explore shows): the default model first if it has
    them, else mf (quick to train, and its vectors and biases are the plainest to read)."""
    families = {n: model_family(n) for n in model_names()}
    names = [n for n, f in families.items() if f is not None and "item_vectors" in f.capabilities]
    if names and names[0] != default_model_name() and INSIGHT_FALLBACK in names:
        names.remove(INSIGHT_FALLBACK)
        names.insert(0, INSIGHT_FALLBACK)
    return names


@dataclass(frozen=True)
class FactorMap:
    """Films and the room's members on two principal axes of the film vectors.

    ``films`` and ``members`` as ``engine.insights.factor_map`` returns them, ``explained`` the
    share of variance of every axis, and ``unplaced`` the members the model could not put on
    the map (their folded-in state has no vector in the films' space), in join order.
    """

    films: pd.DataFrame
    members: pd.DataFrame
    explained: np.ndarray
    unplaced: list[str]


@st.cache_resource(show_spinner=False, max_entries=16)
def _film_map(
    token: tuple, components: tuple[int, int], min_ratings: int, _model: Recommender, _cat: Ratings
) -> tuple[pd.DataFrame, np.ndarray]:
    from engine.insights import factor_map as films_only

    films, _, explained = films_only(_model, _cat, {}, components, min_ratings)
    return films, explained


def factor_map(
    model_name: str,
    components: tuple[int, int] = (0, 1),
    min_ratings: int = 20,
    room_code: str | None = None,
) -> FactorMap:
    """Films (cached per model) and the room's members (folded in now) on two PCA axes; see
    ``engine.insights.factor_map``. Treat the returned frames as read-only."""
    from engine.insights import factor_map as project

    model, _ = get_model(model_name)
    cat = get_catalogue()
    a, b = (int(c) for c in components)
    films, explained = _film_map(model_token(model_name), (a, b), int(min_ratings), model, cat)
    states = member_states(room_code, model)
    members = pd.DataFrame(columns=["member", "n_ratings", "x", "y"])
    if states:
        _, members, _ = project(model, cat, states, (a, b), min_ratings)
    placed = set(members["member"])
    return FactorMap(films, members, explained, [n for n in states if n not in placed])


def n_components(model_name: str) -> int:
    """How many factor axes the model has (0 without film vectors)."""
    model, _ = get_model(model_name)
    vectors = model.item_vectors()
    return 0 if vectors is None else int(np.asarray(vectors).shape[1])


@st.cache_resource(show_spinner=False, max_entries=16)
def _bias_ranking(
    token: tuple, min_ratings: int, n: int, _model: Recommender, _cat: Ratings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from engine.insights import bias_ranking as rank

    return rank(_model, _cat, min_ratings=min_ratings, n=n)


def bias_ranking(
    model_name: str, min_ratings: int = 20, n: int = 15
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(loved, hated) films by the model's film bias; raises ``InsightUnavailable`` without biases."""
    model, _ = get_model(model_name)
    token = model_token(model_name)
    return _bias_ranking(token, int(min_ratings), int(n), model, get_catalogue())


def similar_films(model_name: str, item: int, k: int = 10, min_ratings: int = 0) -> pd.DataFrame:
    """The ``k`` films most like ``item`` by the model, with their similarity, best first."""
    from engine.insights import similar_films as neighbours

    model, _ = get_model(model_name)
    return neighbours(model, get_catalogue(), int(item), k=int(k), min_ratings=int(min_ratings))


def similar_members(model_name: str, room_code: str | None) -> pd.DataFrame:
    """Pairs of room members, most alike first (members who rated nothing are left out)."""
    from engine.insights import similar_members as pairs

    model, _ = get_model(model_name)
    return pairs(model, member_states(room_code, model), get_catalogue())


@st.cache_resource(show_spinner=False, max_entries=16)
def _ego_graph(
    token: tuple,
    center: int,
    radius: int,
    neighbours: int,
    min_ratings: int,
    _model: Recommender,
    _cat: Ratings,
) -> nx.Graph:
    from engine.insights import similarity_graph

    return similarity_graph(_model, _cat, center, radius, neighbours, min_ratings)


def ego_graph(
    model_name: str, center: int, radius: int = 2, neighbours: int = 5, min_ratings: int = 0
) -> nx.Graph:
    """The films within ``radius`` hops of ``center`` in the model's nearest-neighbour graph
    (``engine.insights.similarity_graph``); the page renders it."""
    model, _ = get_model(model_name)
    token = model_token(model_name)
    return _ego_graph(
        token, int(center), int(radius), int(neighbours), int(min_ratings), model, get_catalogue()
    )
