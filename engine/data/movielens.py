"""Read a MovieLens folder, in any of its standard layouts, into ``Ratings``.

Layouts, detected by the ratings file the folder holds (first match wins):

- ``ratings.csv`` + ``movies.csv`` (ml-latest-small, ml-20m, ml-25m, ml-32m): comma-separated with a
  header, UTF-8, titles may be quoted and contain commas.
- ``ratings.dat`` + ``movies.dat`` (ml-1m, ml-10m): ``::``-separated, no header, latin-1 (UTF-8 is
  accepted too).
- ``u.data`` + ``u.item`` (ml-100k): tab-separated ratings, ``|``-separated films with 19 genre flags,
  latin-1.

The ratings file is parsed by pyarrow straight into int32/float32 columns and checked with vectorised
numpy, so a 25M-row file costs seconds and no per-row Python. Bad input raises ``DatasetError``
naming the file, the problem and what to fix; no pandas/pyarrow exception escapes for bad input.

Documented repairs (each warns with ``DatasetWarning`` and is recorded in ``Ratings.notes``):

- duplicate (user, film) pairs: the rating with the latest timestamp is kept; on equal timestamps
  the one further down the file;
- a missing movies file, or rated films it lacks: the ratings are kept, with placeholder titles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.data import synthetic_movielens
from engine.data.embedded import load_embedded
from engine.data.errors import DatasetError
from engine.data.movies_files import ML100K_GENRES, check_catalogue, read_movies, split_title
from engine.data.ratings import Ratings
from engine.data.ratings_files import (
    ratings_csv,
    ratings_dat,
    ratings_udata,
    resolve_duplicates,
    validate_ratings,
)


@dataclass(frozen=True)
class Layout:
    """One standard MovieLens folder layout."""

    name: str
    ratings: str
    movies: str
    description: str


LAYOUTS = (
    Layout(
        "ml-latest",
        "ratings.csv",
        "movies.csv",
        "ml-latest-small / ml-20m / ml-25m / ml-32m: ratings.csv (userId,movieId,rating,timestamp) "
        "and movies.csv (movieId,title,genres)",
    ),
    Layout(
        "ml-1m",
        "ratings.dat",
        "movies.dat",
        "ml-1m / ml-10m: ratings.dat (UserID::MovieID::Rating::Timestamp) and movies.dat "
        "(MovieID::Title::Genres)",
    ),
    Layout(
        "ml-100k",
        "u.data",
        "u.item",
        "ml-100k: u.data (user, item, rating, timestamp, tab-separated) and u.item ('|'-separated)",
    ),
)


def load_dataset(path: str | Path | None = None) -> Ratings:
    """The embedded sample when ``path`` is None (or empty), else the MovieLens folder at ``path``."""
    if path is None or str(path).strip() == "":
        return load_embedded()
    return load_folder(path)


SYNTHETIC = "synthetic"
SYNTHETIC_SEED = 0


def load_named(name: str | None) -> Ratings:
    """What a measuring command's ``--data`` names: ``embedded`` (or nothing) for the embedded
    sample, ``synthetic`` for the MovieLens-like generator (``engine.data.synthetic_movielens``,
    seed 0), else the MovieLens folder at that path.

    One reading for every such command, so ``--data synthetic`` means the same dataset in each
    (the second dataset defaults are chosen on, ``engine.tuning.generalise``).
    """
    if name == SYNTHETIC:
        # through the module, so a test's stand-in for the generator is the one called
        return synthetic_movielens.synthetic_movielens(seed=SYNTHETIC_SEED)
    return load_dataset(None if name == "embedded" else name)


def load_folder(path: str | Path) -> Ratings:
    """Read the MovieLens folder at ``path`` (any layout of ``LAYOUTS``); its name names the dataset."""
    folder, layout = detect_layout(path)
    notes: list[str] = []
    readers = {"ml-latest": ratings_csv, "ml-1m": ratings_dat, "ml-100k": ratings_udata}
    ratings_path = folder / layout.ratings
    cols, first_line = readers[layout.name](ratings_path)
    validate_ratings(cols, ratings_path, first_line)
    cols = resolve_duplicates(cols, ratings_path, notes)
    movies = read_movies(folder / layout.movies, layout.name, notes)
    check_catalogue(cols["movieId"], movies, folder / layout.movies, notes)
    frame = pd.DataFrame(cols, copy=False)
    return Ratings.from_frames(frame, movies, name=folder.name, notes=tuple(notes))


def detect_layout(path: str | Path) -> tuple[Path, Layout]:
    """The folder and its layout; a folder whose only sub-folder holds a dataset (an unzipped
    archive) is accepted too."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise DatasetError(
            folder, "no such folder; check the path to the unzipped MovieLens folder"
        )
    if not folder.is_dir():
        hint = (
            "unzip it and point to the folder it contains"
            if folder.suffix == ".zip"
            else f"point to the folder that contains it ({folder.parent})"
        )
        raise DatasetError(folder, f"is a file, not a folder; {hint}")
    layout = _layout_of(folder)
    if layout is not None:
        return folder, layout
    children = [c for c in _safe_listdir(folder) if c.is_dir() and _layout_of(c) is not None]
    if len(children) == 1:
        return children[0], _layout_of(children[0])  # type: ignore[return-value]
    expected = "; ".join(layout.description for layout in LAYOUTS)
    raise DatasetError(folder, f"no MovieLens ratings file found. Expected one of: {expected}")


def _safe_listdir(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise DatasetError(
            folder, f"cannot list the folder ({exc.strerror}); check its permissions"
        ) from exc


def _layout_of(folder: Path) -> Layout | None:
    for layout in LAYOUTS:
        if (folder / layout.ratings).is_file():
            return layout
    return None


__all__ = [
    "LAYOUTS",
    "ML100K_GENRES",
    "Layout",
    "detect_layout",
    "load_dataset",
    "load_folder",
    "load_named",
    "split_title",
]
