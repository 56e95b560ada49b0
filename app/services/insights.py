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
import torch

from app.services.catalogue import get_catalogue, movie_index
from app.services.families import default_model_name, model_family, model_names
from app.services.model_choice import INSIGHT_FALLBACK
from app.services.models import get_model
from app.services.rooms import fold_in_people, member_states, room_people
from app.services.served import model_key
from app.services.store import get_store
from engine import insights as engine_insights
from engine.data.ratings import Ratings
from engine.genres import natural_labels
from engine.group import versus_crowd
from engine.insights import SimilarItems
from engine.models.base import Recommender
from engine.similarity import CoWatch, VectorSimilarity
from engine.similarity import link_reason as reason

# What "similar films" can mean on Explore (``engine.similarity``): films the same people watched,
# with popularity damped (the default: the best sequel hit rate and genre overlap in protocol
# Similar, docs/BENCHMARKS.md, and built from the ratings in milliseconds, so nobody waits), or
# the film model's taste factors, damped the same way. Not the film-graph model, though it leads
# link prediction (protocol Graph): it finds fewer sequels (docs/DECISIONS.md, "Explore's similar
# films are co-watching").
COWATCH_MODEL = "co-watched"
DEFAULT_BASIS = "together"
SIMILARITY_BASES: dict[str, str] = {
    "together": "Watched by the same people",
    "taste": "Liked by the same kind of viewer",
}
SIMILARITY_EXPLAINED: dict[str, str] = {
    "together": "Films the same people watched, most telling first: a film everybody has seen "
    "counts for less, and films of the same kind come first.",
    "taste": "Films the film model expects the same kind of viewer to enjoy, from the tastes it "
    "learned; a film everybody has seen counts for less.",
}
#: The one rating threshold for neighbour lists and graphs (protocol Similar measures with it):
#: a film needs this many ratings to be shown as a neighbour (10 let one fan's Elektra sit next
#: to The Fellowship of the Ring).
MIN_RATINGS = 20


def similarity_model(model_name: str, basis: str) -> str:
    """Which source ``basis`` (a key of ``SIMILARITY_BASES``) reads: the co-watching counts, or
    ``model_name``'s taste factors."""
    if basis == "taste":
        return model_name
    if basis == "together":
        return COWATCH_MODEL
    raise ValueError(f"basis must be one of {', '.join(SIMILARITY_BASES)}, not {basis!r}")


@st.cache_resource(show_spinner=False, max_entries=2)
def _cowatch(fingerprint: str, _cat: Ratings) -> CoWatch:
    return CoWatch.build(_cat)


def cowatch() -> CoWatch:
    """The catalogue's co-watching counts (built once per catalogue, in milliseconds)."""
    cat = get_catalogue()
    return _cowatch(cat.fingerprint, cat)


@st.cache_resource(show_spinner=False, max_entries=8)
def _taste(token: tuple, _model: Recommender, _cat: Ratings) -> SimilarItems:
    vectors = _model.taste_vectors()
    if vectors is None:
        return _model  # a model without vectors lists its own neighbours (EASE, kNN)
    if isinstance(vectors, torch.Tensor):
        vectors = vectors.detach().float().cpu().numpy()
    return VectorSimilarity.build(np.asarray(vectors), _cat.stats.counts)


def similarity_source(model_name: str, basis: str) -> SimilarItems:
    """What lists ``basis``'s neighbours: the co-watching counts or the model's damped vectors."""
    if similarity_model(model_name, basis) == COWATCH_MODEL:
        return cowatch()
    model, _ = get_model(model_name)
    return _taste(model_key(model_name), model, get_catalogue())


def link_reason(a: int, b: int) -> str:
    """Why films ``a`` and ``b`` are linked, in plain words ("61 people loved both · both
    animation and family")."""
    genres = get_catalogue().stats.genre_lists
    return reason(cowatch(), genres[a], genres[b], a, b)


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
    films, _, explained = engine_insights.factor_map(_model, _cat, {}, components, min_ratings)
    return films, explained


def factor_map(
    model_name: str,
    components: tuple[int, int] = (0, 1),
    min_ratings: int = 20,
    room_code: str | None = None,
) -> FactorMap:
    """Films (cached per model) and the room's members (folded in now) on two PCA axes; see
    ``engine.insights.factor_map``. Treat the returned frames as read-only."""
    model, _ = get_model(model_name)
    cat = get_catalogue()
    a, b = (int(c) for c in components)
    films, explained = _film_map(model_key(model_name), (a, b), int(min_ratings), model, cat)
    states = member_states(room_code, model)
    members = pd.DataFrame(columns=["member", "n_ratings", "x", "y"])
    if states:
        _, members, _ = engine_insights.factor_map(model, cat, states, (a, b), min_ratings)
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
    return engine_insights.bias_ranking(_model, _cat, min_ratings=min_ratings, n=n)


def bias_ranking(
    model_name: str, min_ratings: int = 20, n: int = 15
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(loved, hated) films by the model's film bias; raises ``InsightUnavailable`` without biases."""
    model, _ = get_model(model_name)
    token = model_key(model_name)
    return _bias_ranking(token, int(min_ratings), int(n), model, get_catalogue())


def similar_films(
    model_name: str, item: int, k: int = 10, basis: str = DEFAULT_BASIS
) -> pd.DataFrame:
    """The ``k`` films most like ``item`` by ``basis``, best first, each with ``why`` (plain
    words) and its ``similarity`` score."""
    source = similarity_source(model_name, basis)
    films = engine_insights.similar_films(
        source, get_catalogue(), int(item), k=int(k), min_ratings=MIN_RATINGS
    )
    films["why"] = [link_reason(int(item), int(j)) for j in films["item"]]
    return films


def similar_members(model_name: str, room_code: str | None) -> pd.DataFrame:
    """Pairs of room members, most alike first (members who rated nothing are left out)."""
    model, _ = get_model(model_name)
    return engine_insights.similar_members(model, member_states(room_code, model), get_catalogue())


@st.cache_resource(show_spinner=False, max_entries=32)
def _ego_graph(
    token: tuple, center: int, radius: int, neighbours: int, _source: SimilarItems, _cat: Ratings
) -> nx.Graph:
    graph = engine_insights.similarity_graph(_source, _cat, center, radius, neighbours, MIN_RATINGS)
    genres = _cat.stats.genre_lists
    for u, v, data in graph.edges(data=True):
        data["reason"] = reason(cowatch(), genres[u], genres[v], u, v)
    return graph


def ego_graph(
    model_name: str,
    center: int,
    radius: int = 1,
    neighbours: int = 6,
    basis: str = DEFAULT_BASIS,
) -> nx.Graph:
    """The films within ``radius`` hops of ``center`` in ``basis``'s nearest-neighbour graph
    (``engine.insights.similarity_graph``), each link with its plain-word ``reason``; the
    default (one hop, six neighbours) fits a phone screen. Cached; treat it as read-only."""
    source = similarity_source(model_name, basis)
    token = (basis, model_key(model_name) if basis == "taste" else get_catalogue().fingerprint)
    return _ego_graph(token, int(center), int(radius), int(neighbours), source, get_catalogue())


@dataclass(frozen=True)
class MemberMark:
    """One member's stars for one film: ``rated`` (their answer) or ``predicted`` (the model's
    expectation; None where the model knows no stars)."""

    member: str
    rated: float | None
    predicted: float | None


def member_marks(
    model_name: str, room_code: str | None, items: list[int]
) -> dict[int, list[MemberMark]]:
    """For each film of ``items``, every room member's stars: what they rated, else what the
    room's model expects them to give (members in join order; {} without a room)."""
    if not room_code:
        return {}

    model, _ = get_model(model_name)
    people = room_people(room_code)
    states = fold_in_people(people, model)
    marks: dict[int, list[MemberMark]] = {int(i): [] for i in items}
    for name, member in zip(people.names, people.members, strict=True):
        rated = dict(zip(member.items.tolist(), member.values.tolist(), strict=True))
        stars = model.expected_stars(states[name]) if len(member.items) else None
        for i in marks:
            guess = None if stars is None else float(stars[i])
            value = rated.get(i)
            marks[i].append(MemberMark(name, None if value is None else float(value), guess))
    return marks


def vote_items(room_code: str | None) -> set[int]:
    """The films on the room's open vote (item indices); empty without one."""
    if not room_code:
        return set()

    vote = get_store().tonight.latest_vote(room_code)
    if vote is None or vote.closed_at is not None:
        return set()
    found = movie_index().get_indexer(list(vote.films))
    return {int(i) for i in found if i >= 0}


def film_label(item: int) -> str:
    """A film's label as people say it, "The Matrix (1999)"."""
    cat = get_catalogue()
    return str(_labels(cat.fingerprint, cat)[int(item)])


@st.cache_resource(show_spinner=False, max_entries=2)
def _labels(fingerprint: str, _cat: Ratings) -> np.ndarray:
    return natural_labels(_cat)


def room_loves_more(model_name: str, room_code: str | None, n: int = 10) -> pd.DataFrame:
    """Films no member has seen that this room is expected to rate furthest above the crowd
    (``engine.group.versus_crowd``); an empty frame without a room or before anyone rated."""
    if not room_code:
        return pd.DataFrame()
    model, _ = get_model(model_name)
    people = room_people(room_code)
    raters = [(name, m) for name, m in zip(people.names, people.members, strict=True)
              if len(m.items)]  # fmt: skip
    if not raters:
        return pd.DataFrame()
    rows = []
    for _, member in raters:
        expected = model.expected_stars(model.fold_in(member.items, member.values))
        if expected is None:  # a model that knows no stars (the page offers those that do)
            return pd.DataFrame()
        rows.append(expected.detach().cpu().numpy())
    stars = np.stack(rows)
    seen = np.unique(np.concatenate([np.concatenate([m.items, m.seen]) for _, m in raters]))
    return versus_crowd.room_loves_more(
        stars, [name for name, _ in raters], get_catalogue(), seen.astype(np.int64), n=n
    )
