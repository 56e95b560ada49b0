"""The films the app recommends from: the embedded MovieLens sample, or a MovieLens folder chosen
on the Lab page for this browser session, and the lookups pages need (films by movieId, the
search box, genres, years, popularity).

Catalogues are cached once per process (``st.cache_resource``: a ``Ratings`` is large, read-only
and shared by every session); the per-film statistics come from ``Ratings.stats``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import session_keys as keys
from engine.data import load_embedded
from engine.data.errors import DatasetError
from engine.data.movielens import load_dataset
from engine.data.paths import data_dir
from engine.data.ratings import Ratings

NO_YEARS = (1900, 2030)  # the decade slider's span for a catalogue without release years


@st.cache_resource(show_spinner=False)
def _embedded(folder: str) -> Ratings:
    return load_embedded(Path(folder) / "datasets")


def get_catalogue() -> Ratings:
    """The dataset the app recommends from: the MovieLens folder chosen on the Lab page for this
    session, else the embedded sample (cached per data dir).

    A chosen folder that can no longer be read (changed or gone since) is dropped for this
    session, and why is kept for the page to say (``take_dataset_note``).
    """
    path = dataset_path()
    if path:
        try:
            return load_folder_catalogue(path)
        except DatasetError as exc:
            st.session_state.pop(keys.DATASET_PATH, None)
            st.session_state[keys.DATASET_NOTE] = f"Back to the embedded films: {exc}"
    return _embedded(str(data_dir()))


def take_dataset_note() -> str | None:
    """Why this session went back to the embedded films, once (None when it did not)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.pop(keys.DATASET_NOTE, None)


@st.cache_resource(show_spinner=False)
def _movie_index(fingerprint: str, _catalogue: Ratings) -> pd.Index:
    return pd.Index(_catalogue.item_ids)


def movie_index() -> pd.Index:
    """movieId -> item index of the current catalogue (``get_indexer`` gives -1 for unknown ids)."""
    cat = get_catalogue()
    return _movie_index(cat.fingerprint, cat)


def items_of(movie_ids: Iterable[int]) -> np.ndarray:
    """Item indices for MovieLens movieIds (ids not in this catalogue are dropped)."""
    ids = np.fromiter((int(m) for m in movie_ids), dtype=np.int64)
    idx = movie_index().get_indexer(ids)
    return idx[idx >= 0]


def film(item: int) -> dict[str, Any]:
    """A catalogue row (movieId, title, year, genres, label) as a dict."""
    row = get_catalogue().movies.iloc[int(item)]
    return {**row.to_dict(), "item": int(item)}


def film_by_movie_id(movie_id: int) -> dict[str, Any] | None:
    found = items_of([movie_id])
    return film(int(found[0])) if len(found) else None


@st.cache_resource(show_spinner=False)
def _search_labels(fingerprint: str, _catalogue: Ratings) -> tuple[list[int], dict[int, str]]:
    """Films for the search box, most rated first so the common ones surface on top."""
    order = np.argsort(-_catalogue.stats.counts, kind="stable")
    ids = _catalogue.item_ids[order].tolist()
    labels = dict(zip(ids, _catalogue.movies["label"].to_numpy()[order].tolist(), strict=True))
    return ids, labels


def search_options() -> tuple[list[int], dict[int, str]]:
    """(movieIds, {movieId: "Title (Year)"}) for a searchable select box."""
    cat = get_catalogue()
    return _search_labels(cat.fingerprint, cat)


def genres() -> list[str]:
    """All genres in the catalogue, sorted."""
    return get_catalogue().stats.genres


def year_range() -> tuple[int, int]:
    """(earliest, latest) release year, or a wide default when no film has one."""
    return get_catalogue().stats.year_range() or NO_YEARS


def popular_items(min_ratings: int = 0) -> list[int]:
    """Item indices, most rated first (for film pickers), with at least ``min_ratings`` ratings."""
    counts = get_catalogue().stats.counts
    order = np.argsort(-counts, kind="stable")
    return [int(i) for i in order if counts[i] >= max(int(min_ratings), 1)]


# --------------------------------------------------------------------------- dataset folder (Lab)


def dataset_path() -> str | None:
    """The MovieLens folder this session uses (set on the Lab page), or None for the embedded one."""
    if get_script_run_ctx(suppress_warning=True) is None:  # no session (e.g. tools.bench)
        return None
    path = st.session_state.get(keys.DATASET_PATH)
    return str(path) if path else None


def _folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of a folder's files: a changed file means a new cache entry."""
    try:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
    except OSError:
        return ()
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files[:200])


@st.cache_resource(show_spinner=False, max_entries=4)
def _folder_catalogue(path: str, signature: tuple) -> Ratings:
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
        st.session_state.pop(keys.DATASET_PATH, None)
        return get_catalogue()
    folder = str(Path(str(path).strip()).expanduser())
    catalogue = load_folder_catalogue(folder)
    st.session_state[keys.DATASET_PATH] = folder
    return catalogue
