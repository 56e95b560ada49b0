"""The films file of each MovieLens layout: ids, titles split from their year, genres.

A missing movies file, or rated films it lacks, is repaired (placeholder titles) with a
``DatasetWarning`` and a note; anything else unreadable is a ``DatasetError``.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from engine.data.catalogue import NO_GENRE
from engine.data.errors import DatasetError, DatasetWarning
from engine.data.ratings import distinct_ids
from engine.data.text_files import (
    ID_MAX,
    check_not_empty,
    decode_text,
    guess_separator,
    header_fields,
    nonblank_lines,
)

# ml-100k's u.genre, in flag order
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
MOVIE_CSV_COLUMNS = ("movieId", "title", "genres")
# "Title (1995)", "Title (2007-2010)", "Title (2016– )", trailing spaces; the year is the last group
_TITLE_YEAR = re.compile(
    r"^\s*(?P<title>.*?)\s*\(\s*(?P<year>(?:18|19|20)\d{2})\s*(?:[-–]\s*(?:\d{4})?\s*)?\)\s*$"
)


def split_title(text: pd.Series) -> pd.DataFrame:
    """``title`` (without the year) and ``year`` (nullable Int64) from "Title (1995)" strings.

    A range "(2007-2010)" gives its first year; no year gives <NA> and the whole text as title,
    and so does a title that would be empty without its year ("(1995)").
    """
    text = text.fillna("").astype(str)
    parts = text.str.extract(_TITLE_YEAR)
    has_title = parts["title"].fillna("").str.len() > 0
    title = parts["title"].where(has_title, text.str.strip())
    year = pd.array(
        cast(pd.Series, pd.to_numeric(parts["year"].where(has_title), errors="coerce")),
        dtype="Int64",
    )
    return pd.DataFrame({"title": title.to_numpy(dtype=object), "year": year}, index=text.index)


def read_movies(path: Path, layout: str, notes: list[str]) -> pd.DataFrame:
    """The films of the ``layout`` ("ml-latest", "ml-1m" or "ml-100k") movies file at ``path``;
    an empty frame (and a note) where there is none."""
    folder = path.parent
    if not path.is_file():
        note = f"{path.name} not found in {folder.name}; films get placeholder titles"
        warnings.warn(DatasetWarning(f"{folder}: {note}"), stacklevel=3)
        notes.append(note)
        return pd.DataFrame(
            {"movieId": pd.Series([], dtype=np.int64), "title": [], "year": [], "genres": []}
        )
    check_not_empty(path)
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        "ml-latest": _movies_csv,
        "ml-1m": _movies_dat,
        "ml-100k": _movies_uitem,
    }
    movies = readers[layout](path)
    if movies.empty:
        raise DatasetError(path, "has no films; replace it with the original MovieLens file")
    ids = movies["movieId"]
    dupes = int(ids.duplicated().sum())
    if dupes:
        note = f"{path.name}: {dupes} repeated movieId(s); kept the first row of each"
        warnings.warn(DatasetWarning(f"{path}: {note.split(': ', 1)[1]}"), stacklevel=3)
        notes.append(note)
    return movies


def _movie_ids(raw: pd.Series, path: Path, first_line: int) -> np.ndarray:
    text = raw.astype(str).str.strip()
    ok = text.str.fullmatch(r"\d{1,10}")
    if ok.all():
        ids = text.astype(np.int64).to_numpy()
        ok = pd.Series(ids <= ID_MAX, index=text.index)
        if ok.all():
            return ids
    row = int(np.argmax(~ok.to_numpy()))
    raise DatasetError(
        path,
        f"movieId on line {row + first_line} is {text.iloc[row][:40]!r}; ids must be whole numbers "
        f"from 0 to {ID_MAX}",
    )


def _movies_frame(ids: np.ndarray, titles: pd.Series, genres: pd.Series) -> pd.DataFrame:
    parsed = split_title(titles.reset_index(drop=True))
    genres = genres.fillna("").astype(str).str.strip().reset_index(drop=True)
    return pd.DataFrame(
        {
            "movieId": ids,
            "title": parsed["title"],
            "year": parsed["year"],
            "genres": genres.where(genres != NO_GENRE, ""),
        }
    )


def _movies_csv(path: Path) -> pd.DataFrame:
    text = decode_text(path, fallback=None)
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = header_fields(first.strip(), path)
    names = [n.strip() for n in header]
    if len(names) == 1 and (sep := guess_separator(names[0])):
        raise DatasetError(
            path,
            f"looks {sep}-separated (header {names[0][:80]!r}); movies.csv must be comma-separated "
            f"with header {','.join(MOVIE_CSV_COLUMNS)}",
        )
    missing = [c for c in MOVIE_CSV_COLUMNS if c not in names]
    unknown = [n for n in names if n not in MOVIE_CSV_COLUMNS]
    if missing or unknown:
        what = "; ".join(
            p
            for p in (
                f"missing column(s) {', '.join(missing)}" if missing else "",
                f"unknown column(s) {', '.join(repr(u) for u in unknown)}" if unknown else "",
            )
            if p
        )
        raise DatasetError(path, f"{what}; expected header {','.join(MOVIE_CSV_COLUMNS)}")
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DatasetError(
            path, f"cannot be parsed as CSV ({str(exc)[:200]}); quote titles that contain commas"
        ) from None
    frame.columns = [c.strip() for c in frame.columns]
    column = lambda name: cast(pd.Series, frame[name])  # noqa: E731 - one column, typed
    ids = _movie_ids(column("movieId"), path, first_line=2)
    return _movies_frame(ids, column("title"), column("genres"))


def _movies_dat(path: Path) -> pd.DataFrame:
    lines = nonblank_lines(decode_text(path, fallback="latin-1"))
    # titles may contain ':' (and in principle '::'): id is the first field, genres the last
    heads = [line.split("::", 1) for line in lines]
    bad = next((i for i, h in enumerate(heads) if len(h) < 2 or "::" not in h[1]), None)
    if bad is not None:
        raise DatasetError(
            path,
            f"line {bad + 1} {lines[bad][:80]!r} is not MovieID::Title::Genres ('::'-separated)",
        )
    rest = [h[1].rsplit("::", 1) for h in heads]
    ids = _movie_ids(pd.Series([h[0] for h in heads]), path, first_line=1)
    return _movies_frame(ids, pd.Series([r[0] for r in rest]), pd.Series([r[1] for r in rest]))


def _movies_uitem(path: Path) -> pd.DataFrame:
    lines = nonblank_lines(decode_text(path, fallback="latin-1"))
    n_fields = 5 + len(ML100K_GENRES)
    rows = [line.split("|") for line in lines]
    bad = next((i for i, r in enumerate(rows) if len(r) != n_fields), None)
    if bad is not None:
        raise DatasetError(
            path,
            f"line {bad + 1} has {len(rows[bad])} '|'-separated fields, expected {n_fields} "
            "(id|title|release date|video release|url|19 genre flags)",
        )
    table = pd.DataFrame(rows, dtype=str)
    ids = _movie_ids(cast(pd.Series, table[0]), path, first_line=1)
    flags = table.iloc[:, 5:].to_numpy()
    if not np.isin(flags, ["0", "1"]).all():
        row = int(np.argmax(~np.isin(flags, ["0", "1"]).all(axis=1)))
        raise DatasetError(path, f"line {row + 1}: genre flags must be 0 or 1")
    names = np.array(ML100K_GENRES, dtype=object)
    genres = pd.Series(["|".join(names[r == "1"]) for r in flags])
    movies = _movies_frame(ids, cast(pd.Series, table[1]), genres)
    # fall back to the release date ("01-Jan-1995") where the title carries no year
    release = cast(pd.Series, table[2]).str.extract(r"(\d{4})\s*$")[0]
    release_year = cast(pd.Series, pd.to_numeric(release, errors="coerce"))
    movies["year"] = movies["year"].fillna(pd.Series(pd.array(release_year, dtype="Int64")))
    return movies


def check_catalogue(rated: np.ndarray, movies: pd.DataFrame, path: Path, notes: list[str]) -> None:
    """Warn (and note) when rated films are missing from an existing movies file."""
    if movies.empty:
        return
    unknown = np.setdiff1d(distinct_ids(rated), movies["movieId"].to_numpy(np.int64))
    if len(unknown):
        sample = ", ".join(str(i) for i in unknown[:5])
        note = (
            f"{path.name}: {len(unknown)} rated movieId(s) not in the file (e.g. {sample}); "
            "kept with placeholder titles"
        )
        warnings.warn(DatasetWarning(f"{path}: {note.split(': ', 1)[1]}"), stacklevel=3)
        notes.append(note)
