"""The one place the app calls the engine: catalogue, models, store, group picks, elicitation.

Pages never touch model math or SQL; they call these functions, which cache what is expensive
(the catalogue, fitted models, the store) once per process and share it across sessions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from engine.data.paths import data_dir

if TYPE_CHECKING:
    from app.store import Store
    from engine.data.ratings import Ratings
    from engine.models.base import Recommender

DEFAULT_MODEL_ENV = "MOVIENIGHT_DEFAULT_MODEL"
# The hybrid (P(watch) × E[rating], als × pmf) picks films members go on to watch and like about
# twice as often as mf's star ranking in protocol G (docs/BENCHMARKS.md), and it still shows each
# member's expected stars; its first-run training takes ~15 s on 2 cores, with a progress bar.
PREFERRED_MODEL = "hybrid"
FALLBACK_MODEL = "baseline"
INSIGHT_FALLBACK = "mf"


class ModelUnavailable(RuntimeError):
    """A model could not be loaded or trained; the message says why and what to do."""


# --------------------------------------------------------------------------- catalogue


@st.cache_resource(show_spinner="Loading the film catalogue…")
def _catalogue(folder: str) -> Ratings:
    from engine.data import load_embedded

    return load_embedded(Path(folder) / "datasets")


def get_catalogue() -> Ratings:
    """The dataset the app recommends from: the MovieLens folder chosen on the Lab page for this
    session, else the embedded sample (cached per data dir)."""
    path = dataset_path()
    if path:
        from engine.data.errors import DatasetError

        try:
            return load_folder_catalogue(path)
        except DatasetError as exc:  # the folder changed or vanished since it was chosen
            st.session_state.pop(DATASET_PATH_KEY, None)
            st.warning(f"Back to the embedded films: {exc}")
    return _catalogue(str(data_dir()))


@st.cache_resource
def _movie_index(fingerprint: str, _catalogue: Ratings) -> pd.Index:
    return pd.Index(_catalogue.item_ids)


def items_of(movie_ids: Iterable[int]) -> np.ndarray:
    """Item indices for MovieLens movieIds (ids not in this catalogue are dropped)."""
    cat = get_catalogue()
    ids = np.fromiter((int(m) for m in movie_ids), dtype=np.int64)
    idx = _movie_index(cat.fingerprint, cat).get_indexer(ids)
    return idx[idx >= 0]


def film(item: int) -> dict[str, Any]:
    """A catalogue row (movieId, title, year, genres, label) as a dict."""
    row = get_catalogue().movies.iloc[int(item)]
    return {**row.to_dict(), "item": int(item)}


def film_by_movie_id(movie_id: int) -> dict[str, Any] | None:
    found = items_of([movie_id])
    return film(int(found[0])) if len(found) else None


@st.cache_resource
def _search_labels(fingerprint: str, _catalogue: Ratings) -> tuple[list[int], dict[int, str]]:
    """Films for the search box, most rated first so the common ones surface on top."""
    order = np.argsort(-_catalogue.item_counts(), kind="stable")
    ids = _catalogue.item_ids[order].tolist()
    labels = dict(zip(ids, _catalogue.movies["label"].to_numpy()[order].tolist(), strict=True))
    return ids, labels


def search_options() -> tuple[list[int], dict[int, str]]:
    """(movieIds, {movieId: "Title (Year)"}) for a searchable select box."""
    cat = get_catalogue()
    return _search_labels(cat.fingerprint, cat)


def genres() -> list[str]:
    """All genres in the catalogue, sorted."""
    cat = get_catalogue()
    return _genres(cat.fingerprint, cat)


@st.cache_resource
def _genres(fingerprint: str, _catalogue: Ratings) -> list[str]:
    found = set()
    for text in _catalogue.movies["genres"].dropna().unique():
        found.update(g for g in str(text).split("|") if g and not g.startswith("("))
    return sorted(found)


def year_range() -> tuple[int, int]:
    years = get_catalogue().movies["year"].dropna()
    return (int(years.min()), int(years.max())) if len(years) else (1900, 2030)


# --------------------------------------------------------------------------- models


def model_names() -> list[str]:
    """Registered model families, the default first."""
    from engine.models import REGISTRY

    default = default_model_name()
    return [default, *sorted(n for n in REGISTRY if n != default)]


def default_model_name() -> str:
    """``MOVIENIGHT_DEFAULT_MODEL`` (tests use a fast one), else the hybrid, else the bias
    baseline."""
    from engine.models import REGISTRY

    chosen = os.environ.get(DEFAULT_MODEL_ENV, "").strip()
    if chosen in REGISTRY:
        return chosen
    return PREFERRED_MODEL if PREFERRED_MODEL in REGISTRY else FALLBACK_MODEL


def model_kind(name: str) -> str:
    from engine.models import model_class

    try:
        return model_class(name).kind
    except Exception:  # a family whose module is missing or broken
        return "unavailable"


def _load_or_train(
    name: str, dataset: Ratings, progress: Callable[[int, int, str], None]
) -> tuple[Recommender, str]:
    """``engine.train.load_or_train`` when the engine has it; until then the same thing inline."""
    try:
        from engine.train import load_or_train
    except ImportError:
        load_or_train = None
    if load_or_train is not None:
        return load_or_train(name, dataset, progress=progress)
    from engine.artifacts import ArtifactError, load_model, save_model
    from engine.models import create

    path = data_dir() / "models" / dataset.fingerprint / name
    try:
        return load_model(path, dataset=dataset), "loaded"
    except ArtifactError as exc:
        why = str(exc)
    model = create(name).fit(dataset, progress=progress)
    save_model(model, path, dataset=dataset)
    return model, f"trained ({why})"


_MODELS: dict[tuple[str, str, str], tuple[Recommender, str]] = {}
_MODEL_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def get_model(name: str | None = None) -> tuple[Recommender, str]:
    """A fitted model, loaded from data/models/ or trained now with a visible progress bar.

    Not ``st.cache_resource``: the progress bar must be drawn by this run, and cache_resource
    would replay a finished bar on every later call. A per-model lock makes concurrent sessions
    wait for one training instead of each starting their own.
    """
    name = name or default_model_name()
    cat = get_catalogue()
    key = (str(data_dir()), cat.fingerprint, name)
    if key in _MODELS:
        return _MODELS[key]
    with _LOCKS_GUARD:
        lock = _MODEL_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key in _MODELS:
            return _MODELS[key]
        holder = st.empty()
        bar: list[Any] = []

        def progress(done: int, total: int, message: str = "") -> None:
            frac = min(max(done / max(total, 1), 0.0), 1.0)
            text = f"Preparing the {name} model (first run only): {message or 'training'}"
            if bar:
                bar[0].progress(frac, text=text)
            else:
                bar.append(holder.progress(frac, text=text))

        try:
            result = _load_or_train(name, cat, progress)
        except Exception as exc:
            raise ModelUnavailable(
                f"The {name!r} model could not be loaded or trained ({type(exc).__name__}: "
                f"{exc}). Pick another model."
            ) from exc
        finally:
            holder.empty()
        if not result[1].startswith("loaded"):  # retrained: say why (missing, corrupt, other data)
            st.toast(result[1])
        _MODELS[key] = result
        return result


# --------------------------------------------------------------------------- store


@st.cache_resource
def _store(url: str) -> Store:
    from app.store import Store

    return Store(url)


def get_store() -> Store:
    """The shared store (SQLite under data/ unless MOVIENIGHT_DB_URL says otherwise)."""
    from app.store import default_url

    return _store(default_url())


# --------------------------------------------------------------------------- rooms → engine


@dataclass(frozen=True)
class RoomPeople:
    """A room's members as the engine sees them, plus their names in join order."""

    names: list[str]
    members: list[Any]  # engine.group.Member


def room_people(room_code: str) -> RoomPeople:
    """Every member of the room with their star ratings mapped to item indices (unseen answers
    are not ratings and are left out; members who rated nothing are kept)."""
    from engine.group import Member

    store = get_store()
    names = [m.name for m in store.members(room_code)]
    answers = store.room_answers(room_code)
    rated = answers[answers["rating"].notna()] if len(answers) else answers
    cat = get_catalogue()
    index = _movie_index(cat.fingerprint, cat)
    people = []
    for name in names:
        mine = rated[rated["member"] == name] if len(rated) else rated
        items = index.get_indexer(mine["movie_id"].to_numpy(np.int64)) if len(mine) else []
        values = mine["rating"].to_numpy(np.float32) if len(mine) else []
        items = np.asarray(items, dtype=np.int64)
        keep = items >= 0
        people.append(Member(name, items[keep], np.asarray(values, np.float32)[keep]))
    return RoomPeople(names, people)


def strategies() -> dict[str, str]:
    """Group strategy name -> human label, the default first."""
    from engine.group import DEFAULT_STRATEGY, STRATEGIES

    names = [DEFAULT_STRATEGY, *(n for n in STRATEGIES if n != DEFAULT_STRATEGY)]
    return {n: STRATEGIES[n].label for n in names}


def strategy_description(name: str) -> str:
    from engine.group import STRATEGIES

    return STRATEGIES[name].description


@contextmanager
def _small_math():
    """Run a request's tiny tensor work (fold-ins of a few ratings) on one thread.

    Each Streamlit rerun runs on its own thread; with several intra-op threads, waking the
    thread pool for 10×32 matrices costs 50–1000 ms on a busy 2-core machine, against ~0.5 ms for
    the maths itself (measured: 6 fold-ins 2.5 ms on one thread, 127–1421 ms on two).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def group_picks(
    room_code: str,
    model_name: str | None = None,
    strategy: str | None = None,
    k: int = 10,
    genres: Iterable[str] = (),
    years: tuple[int, int] | None = None,
    min_ratings: int = 0,
) -> pd.DataFrame:
    """The room's top-k films (engine.group.recommend's frame), skipping films it watched."""
    from engine.group import DEFAULT_STRATEGY, Filters, recommend

    model, _ = get_model(model_name)
    people = room_people(room_code)
    watched = items_of(get_store().watched(room_code))
    filters = Filters(genres=tuple(genres), years=years, min_ratings=int(min_ratings))
    with _small_math():
        return recommend(
            model,
            get_catalogue(),
            people.members,
            strategy=strategy or DEFAULT_STRATEGY,
            k=k,
            exclude=watched.tolist(),
            filters=filters,
        )


def next_films(token: str, n: int = 5, model_name: str | None = None) -> list[int]:
    """MovieLens ids the member should rate next, chosen by the elicitation engine."""
    from engine.elicit import next_films as choose

    model, _ = get_model(model_name)
    cat = get_catalogue()
    answers = get_store().answers(token)
    index = _movie_index(cat.fingerprint, cat)
    rated: dict[int, float] = {}
    unseen: set[int] = set()
    for movie_id, rating in answers.items():
        pos = int(index.get_indexer([int(movie_id)])[0])
        if pos < 0:
            continue
        if rating is None or (isinstance(rating, float) and np.isnan(rating)):
            unseen.add(pos)
        else:
            rated[pos] = float(rating)
    with _small_math():
        items = choose(model, cat, rated, unseen, n=n)
    return [int(cat.item_ids[i]) for i in items]


# --------------------------------------------------------------------------- dataset folder (Lab)

DATASET_PATH_KEY = "mn_dataset_path"


def dataset_path() -> str | None:
    """The MovieLens folder this session uses (set on the Lab page), or None for the embedded one."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:  # no session (e.g. app/bench.py)
        return None
    path = st.session_state.get(DATASET_PATH_KEY)
    return str(path) if path else None


def _folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of a folder's files: a changed file means a new cache entry."""
    try:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
    except OSError:
        return ()
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files[:200])


@st.cache_resource(show_spinner="Reading the MovieLens folder…", max_entries=4)
def _folder_catalogue(path: str, signature: tuple) -> Ratings:
    from engine.data.movielens import load_dataset

    return load_dataset(path)


def load_folder_catalogue(path: str) -> Ratings:
    """The MovieLens folder at ``path`` (cached while its files are unchanged); raises
    ``engine.data.DatasetError`` with a message saying what to fix."""
    folder = Path(path).expanduser()
    return _folder_catalogue(str(folder), _folder_signature(folder))


def set_dataset_path(path: str | None) -> Ratings:
    """Point this session at another MovieLens folder (None or "" = the embedded sample).

    The folder is read first; on a ``DatasetError`` nothing changes and the error propagates.
    Models are keyed by the dataset's fingerprint, so the other pages train (or load) models for
    the new data on first use.
    """
    if path is None or not str(path).strip():
        st.session_state.pop(DATASET_PATH_KEY, None)
        return get_catalogue()
    folder = str(Path(str(path).strip()).expanduser())
    catalogue = load_folder_catalogue(folder)
    st.session_state[DATASET_PATH_KEY] = folder
    return catalogue


# --------------------------------------------------------------------------- insights (Explore, Lab)

CAPABILITIES = ("vectors", "bias", "similar")


def model_capabilities(name: str) -> frozenset[str]:
    """What a model family can show, read from its class (no fitting): "vectors" (film
    embeddings: factor map), "bias" (film biases: loved/hated), "similar" (film neighbours)."""
    from engine.models import model_class
    from engine.models.base import Recommender

    try:
        cls = model_class(name)
    except Exception:  # a family whose module is missing or broken
        return frozenset()
    found = set()
    if cls.item_vectors is not Recommender.item_vectors:
        found |= {"vectors", "similar"}
    if cls.item_bias is not Recommender.item_bias:
        found.add("bias")
    if cls.similar_items is not Recommender.similar_items:
        found.add("similar")
    return frozenset(found)


def insight_models() -> list[str]:
    """Model families with film vectors (what Explore shows): the default model first if it has
    them, else mf (quick to train, and its vectors and biases are the plainest to read)."""
    names = [n for n in model_names() if "vectors" in model_capabilities(n)]
    if names and names[0] != default_model_name() and INSIGHT_FALLBACK in names:
        names.remove(INSIGHT_FALLBACK)
        names.insert(0, INSIGHT_FALLBACK)
    return names


_GENERATION: dict[tuple[str, str, str], int] = {}


def _model_token(name: str) -> tuple[str, str, str, int]:
    """A cache key for everything computed from the current ``name`` model: it changes when the
    dataset changes or the model is retrained on the Lab page."""
    cat = get_catalogue()
    key = (str(data_dir()), cat.fingerprint, name)
    return (*key, _GENERATION.get(key, 0))


def member_states(room_code: str | None, model: Recommender) -> dict[str, Any]:
    """Each member of the room folded into ``model`` (name -> UserState); {} without a room.
    Members who rated nothing get the model's prior (an empty state)."""
    if not room_code:
        return {}
    people = room_people(room_code)
    return {
        name: model.fold_in(m.items, m.values)
        for name, m in zip(people.names, people.members, strict=True)
    }


def _members_key(states: dict[str, Any]) -> tuple:
    return tuple(
        (name, tuple(np.asarray(s.items).tolist()), tuple(np.asarray(s.values).tolist()))
        for name, s in states.items()
    )


@st.cache_resource(max_entries=16)
def _film_map(token: tuple, components: tuple[int, int], min_ratings: int, _model, _cat):
    from engine.insights import factor_map as films_only

    films, _, explained = films_only(_model, _cat, {}, components, min_ratings)
    return films, explained


def factor_map(
    model_name: str,
    components: tuple[int, int] = (0, 1),
    min_ratings: int = 20,
    room_code: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Films (cached per model) and the room's members (folded in now) on two PCA axes; see
    ``engine.insights.factor_map``. Treat the returned frames as read-only."""
    from engine.insights import factor_map as project

    model, _ = get_model(model_name)
    cat = get_catalogue()
    films, explained = _film_map(
        _model_token(model_name), tuple(components), int(min_ratings), model, cat
    )
    states = member_states(room_code, model)
    members = pd.DataFrame(columns=["member", "n_ratings", "x", "y"])
    if states:
        _, members, _ = project(model, cat, states, components, min_ratings)
    return films, members, explained


def n_components(model_name: str) -> int:
    """How many factor axes the model has (0 without film vectors)."""
    model, _ = get_model(model_name)
    vectors = model.item_vectors()
    return 0 if vectors is None else int(np.asarray(vectors).shape[1])


@st.cache_resource(max_entries=16)
def _bias_ranking(token: tuple, min_ratings: int, n: int, _model, _cat):
    from engine.insights import bias_ranking as rank

    return rank(_model, _cat, min_ratings=min_ratings, n=n)


def bias_ranking(model_name: str, min_ratings: int = 20, n: int = 15):
    """(loved, hated) films by the model's film bias; raises ``InsightUnavailable`` without biases."""
    model, _ = get_model(model_name)
    return _bias_ranking(_model_token(model_name), int(min_ratings), int(n), model, get_catalogue())


def similar_films(model_name: str, item: int, k: int = 10, min_ratings: int = 0) -> pd.DataFrame:
    from engine.insights import similar_films as neighbours

    model, _ = get_model(model_name)
    return neighbours(model, get_catalogue(), int(item), k=int(k), min_ratings=int(min_ratings))


def similar_members(model_name: str, room_code: str | None) -> pd.DataFrame:
    """Pairs of room members, most alike first (members who rated nothing are left out)."""
    from engine.insights import similar_members as pairs

    model, _ = get_model(model_name)
    return pairs(model, member_states(room_code, model), get_catalogue())


@st.cache_resource(max_entries=16)
def _ego_graph(
    token: tuple, center: int, radius: int, neighbours: int, min_ratings: int, _model, _cat
):
    from engine.insights import similarity_graph

    return similarity_graph(_model, _cat, center, radius, neighbours, min_ratings)


def ego_graph(
    model_name: str, center: int, radius: int = 2, neighbours: int = 5, min_ratings: int = 0
):
    """The networkx graph of the films around ``center`` (``engine.insights.similarity_graph``)."""
    model, _ = get_model(model_name)
    return _ego_graph(
        _model_token(model_name),
        int(center),
        int(radius),
        int(neighbours),
        int(min_ratings),
        model,
        get_catalogue(),
    )


def popular_items(min_ratings: int = 0) -> list[int]:
    """Item indices, most rated first (for film pickers), with at least ``min_ratings`` ratings."""
    cat = get_catalogue()
    counts = cat.item_counts()
    order = np.argsort(-counts, kind="stable")
    return [int(i) for i in order if counts[i] >= max(int(min_ratings), 1)]


# --------------------------------------------------------------------------- trained models (Lab)


def model_manifests() -> dict[str, dict[str, Any] | str]:
    """For each registered model: its saved manifest for the current dataset, or why there is none."""
    from engine.artifacts import ArtifactError, read_manifest
    from engine.models import REGISTRY
    from engine.train import model_dir

    cat = get_catalogue()
    found: dict[str, dict[str, Any] | str] = {}
    for name in sorted(REGISTRY):
        try:
            found[name] = read_manifest(model_dir(cat, name))
        except ArtifactError as exc:
            found[name] = str(exc)
    return found


def model_hyperparameters(name: str) -> dict[str, Any]:
    """The default hyperparameters of a model family (for the Lab's retrain form)."""
    from engine.models import model_class

    return model_class(name).config_class().to_dict()


def retrain_model(
    name: str,
    progress: Callable[[int, int, str], None],
    params: dict[str, Any] | None = None,
    evaluate: bool = False,
) -> tuple[Recommender, dict[str, Any]]:
    """Train ``name`` on the current dataset now, save it, and make every page use it.

    With ``evaluate`` the model is first fitted on protocol E's train split to record a held-out
    RMSE in its manifest (explicit models; it trains twice).
    """
    from engine.train import train_model

    cat = get_catalogue()
    key = (str(data_dir()), cat.fingerprint, name)
    with _LOCKS_GUARD:
        lock = _MODEL_LOCKS.setdefault(key, threading.Lock())
    with lock:
        model, metrics = train_model(
            name, cat, progress=progress, params=params or None, evaluate=evaluate
        )
        _MODELS[key] = (model, f"retrained {name} on the Lab page")
        _GENERATION[key] = _GENERATION.get(key, 0) + 1
    return model, metrics
