"""The one place the app calls the engine: catalogue, models, store, group picks, elicitation.

Pages never touch model math or SQL; they call these functions, which cache what is expensive
(the catalogue, fitted models, the store) once per process and share it across sessions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
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
PREFERRED_MODEL = "mf"
FALLBACK_MODEL = "baseline"


class ModelUnavailable(RuntimeError):
    """A model could not be loaded or trained; the message says why and what to do."""


# --------------------------------------------------------------------------- catalogue


@st.cache_resource(show_spinner="Loading the film catalogue…")
def _catalogue(folder: str) -> Ratings:
    from engine.data import load_embedded

    return load_embedded(Path(folder) / "datasets")


def get_catalogue() -> Ratings:
    """The dataset the app recommends from (the embedded MovieLens sample), cached per data dir."""
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
    """``MOVIENIGHT_DEFAULT_MODEL`` (tests use a fast one), else mf, else the bias baseline."""
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
    items = choose(model, cat, rated, unseen, n=n)
    return [int(cat.item_ids[i]) for i in items]
