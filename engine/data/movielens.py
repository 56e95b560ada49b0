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

import codecs
import csv
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from engine.data.errors import DatasetError, DatasetWarning
from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings, distinct_ids

# ml-100k's u.genre, in flag order
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
MOVIE_CSV_COLUMNS = ("movieId", "title", "genres")
NO_GENRES = "(no genres listed)"
_INT32_MAX = np.iinfo(np.int32).max
_ARROW_TYPES = {
    "userId": pa.int32(),
    "movieId": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}
# "Title (1995)", "Title (2007-2010)", "Title (2016– )", trailing spaces; the year is the last group
_TITLE_YEAR = re.compile(
    r"^\s*(?P<title>.*?)\s*\(\s*(?P<year>(?:18|19|20)\d{2})\s*(?:[-–]\s*(?:\d{4})?\s*)?\)\s*$"
)
# what a parsable (or null) cell looks like; used only to locate a bad cell for the message
_NULL_TEXT = r"|nan|-nan|na|n/a|null|#n/a|#na|#n/a n/a|1\.#ind|-1\.#ind|1\.#qnan|-1\.#qnan"
_VALID_TEXT = {
    "int": rf"(?i)^\s*([+-]?\d{{1,10}}{_NULL_TEXT})\s*$",
    "float": rf"(?i)^\s*([+-]?(\d+\.?\d*|\.\d+)([e][+-]?\d+)?|[+-]?inf(inity)?{_NULL_TEXT})\s*$",
}


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


# ---------------------------------------------------------------------------------------- public


def load_dataset(path: str | Path | None = None) -> Ratings:
    """The embedded sample when ``path`` is None (or empty), else the MovieLens folder at ``path``."""
    if path is None or str(path).strip() == "":
        from engine.data.embedded import load_embedded

        return load_embedded()
    return load_folder(path)


def load_folder(path: str | Path) -> Ratings:
    """Read the MovieLens folder at ``path`` (any layout of ``LAYOUTS``); its name names the dataset."""
    folder, layout = detect_layout(path)
    notes: list[str] = []
    readers = {"ml-latest": _ratings_csv, "ml-1m": _ratings_dat, "ml-100k": _ratings_udata}
    ratings_path = folder / layout.ratings
    cols, first_line = readers[layout.name](ratings_path)
    _validate(cols, ratings_path, first_line)
    cols = _resolve_duplicates(cols, ratings_path, notes)
    movies = _read_movies(folder, layout, notes)
    _check_catalogue(cols["movieId"], movies, folder / layout.movies, notes)
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


def split_title(text: pd.Series) -> pd.DataFrame:
    """``title`` (without the year) and ``year`` (nullable Int64) from "Title (1995)" strings.

    A range "(2007-2010)" gives its first year; no year gives <NA> and the whole text as title,
    and so does a title that would be empty without its year ("(1995)").
    """
    text = text.fillna("").astype(str)
    parts = text.str.extract(_TITLE_YEAR)
    has_title = parts["title"].fillna("").str.len() > 0
    title = parts["title"].where(has_title, text.str.strip())
    year = pd.to_numeric(parts["year"].where(has_title), errors="coerce")
    year = pd.array(year, dtype="Int64")
    return pd.DataFrame({"title": title.to_numpy(dtype=object), "year": year}, index=text.index)


# ---------------------------------------------------------------------------------- layout + io


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


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror}); check its permissions") from exc


def _non_utf8_problem(data: bytes, start: int) -> str:
    line = data.count(b"\n", 0, start) + 1
    return (
        f"is not valid UTF-8: byte {start} (line {line}) starts {data[start : start + 8]!r}; "
        "re-save the file as UTF-8"
    )


def _first_non_utf8(path: Path, chunk: int = 1 << 24) -> tuple[int, int] | None:
    """(byte offset, line) of the first non-UTF-8 byte, streaming so big files need no copy."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset, lines = 0, 0
    try:
        with path.open("rb") as handle:
            while block := handle.read(chunk):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    return offset + exc.start, lines + block.count(b"\n", 0, exc.start) + 1
                offset += len(block)
                lines += block.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset, lines + 1
    except OSError:
        return None
    return None


def _check_not_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise DatasetError(path, "is empty (0 bytes); replace it with the original MovieLens file")


def _first_line(path: Path) -> tuple[str, bytes, int]:
    """The first non-blank line as text (BOM removed), as raw bytes, and its 0-based line index."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror})") from exc
    for index, raw in enumerate(head.splitlines()):
        if raw.strip():
            text = raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
            return text, raw, index
    raise DatasetError(path, "holds only blank lines; replace it with the original MovieLens file")


def _header_fields(line: str, path: Path) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:  # NUL bytes, a field over the csv module's size limit
        raise DatasetError(
            path, f"has an unreadable header line ({exc}); expected a csv header"
        ) from None


def _guess_separator(line: str) -> str | None:
    for sep, name in (("\t", "tab"), (";", "';'"), ("|", "'|'"), ("::", "'::'")):
        if sep in line:
            return name
    if len(line.split()) > 1:
        return "space"
    return None


# ---------------------------------------------------------------------------------- ratings files


def _ratings_csv(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """ml-latest style ``ratings.csv`` with a header; returns the columns and the first data line."""
    _check_not_empty(path)
    header_text, raw, header_index = _first_line(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(path, _non_utf8_problem(raw, exc.start)) from None
    names = [n.strip().strip('"').strip() for n in _header_fields(header_text, path)]
    if len(names) == 1 and (sep := _guess_separator(header_text)):
        raise DatasetError(
            path,
            f"looks {sep}-separated (header {header_text[:80]!r}); MovieLens .csv files are "
            f"comma-separated: re-save it with commas, header {','.join(RATING_COLUMNS)}",
        )
    if all(re.fullmatch(r"[+-]?[\d.]+", n) for n in names if n):
        raise DatasetError(
            path,
            f"has no header line (first line {header_text[:80]!r}); add the header "
            f"{','.join(RATING_COLUMNS)}",
        )
    required = RATING_COLUMNS[:3]
    missing = [c for c in required if c not in names]
    unknown = [n for n in names if n not in RATING_COLUMNS]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if missing or unknown or dupes:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(repr(u) for u in unknown)}")
        if dupes:
            parts.append(f"repeated column(s) {', '.join(dupes)}")
        raise DatasetError(
            path,
            f"{'; '.join(parts)} in header {header_text[:120]!r}; expected "
            f"{','.join(RATING_COLUMNS)} (timestamp optional)",
        )
    first = header_index + 2  # 1-based line of the first rating (blank lines before the header)
    table = _arrow_read(path, names, delimiter=",", skip_rows=first - 1, first_line=first)
    return _columns(table, path, first), first


def _ratings_dat(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """ml-1m / ml-10m ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, no header."""
    _check_not_empty(path)
    text, _, _ = _first_line(path)
    if "::" not in text:
        sep = _guess_separator(text) or ("','" if "," in text else None)
        found = f"; it looks {sep}-separated" if sep else ""
        raise DatasetError(
            path,
            f"first line {text[:80]!r} is not '::'-separated{found}; expected "
            "UserID::MovieID::Rating::Timestamp per line",
        )
    # pyarrow needs a one-character delimiter; '::' never occurs inside a number
    data = _read_bytes(path).replace(b"::", b"\t")
    table = _arrow_read(io.BytesIO(data), list(RATING_COLUMNS), "\t", 0, first_line=1, path=path)
    return _columns(table, path, 1), 1


def _ratings_udata(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """ml-100k ``u.data``: ``user item rating timestamp``, tab-separated, no header."""
    _check_not_empty(path)
    text, _, _ = _first_line(path)
    if "\t" not in text:
        sep = _guess_separator(text) or ("','" if "," in text else "no")
        raise DatasetError(
            path,
            f"first line {text[:80]!r} is not tab-separated (found {sep} separator); expected "
            "user<TAB>item<TAB>rating<TAB>timestamp per line",
        )
    if not re.match(r"^\s*[+-]?\d", text):
        raise DatasetError(
            path, f"first line {text[:80]!r} is not a rating; u.data has no header line"
        )
    table = _arrow_read(path, list(RATING_COLUMNS), delimiter="\t", skip_rows=0, first_line=1)
    return _columns(table, path, 1), 1


def _arrow_read(
    source: Path | io.BytesIO,
    names: list[str],
    delimiter: str,
    skip_rows: int,
    first_line: int,
    path: Path | None = None,
) -> pa.Table:
    """Parse with pyarrow into typed columns; parse errors become ``DatasetError`` with the cell."""
    path = path or Path(source)  # type: ignore[arg-type]
    read = pacsv.ReadOptions(column_names=names, skip_rows=skip_rows, block_size=1 << 24)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    convert = pacsv.ConvertOptions(column_types={n: _ARROW_TYPES[n] for n in names})
    try:
        table = pacsv.read_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        raise _explain_arrow_error(exc, source, names, read, parse, path, first_line) from None
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(path, f"cannot be parsed ({exc})") from None
    if table.num_rows == 0:
        what = "has a header but no ratings" if skip_rows else "has no ratings"
        raise DatasetError(path, f"{what}; replace it with a complete MovieLens file")
    return table


def _explain_arrow_error(
    exc: pa.ArrowInvalid,
    source: Path | io.BytesIO,
    names: list[str],
    read: pacsv.ReadOptions,
    parse: pacsv.ParseOptions,
    path: Path,
    first_line: int,
) -> DatasetError:
    message = str(exc)
    fields = re.search(r"Expected (\d+) columns, got (\d+): ?(.*)", message)
    if fields:
        expected, got, row = fields.groups()
        sep = "tab" if parse.delimiter == "\t" else repr(parse.delimiter)
        if path.suffix == ".dat":
            sep = "'::'"
        other = _guess_separator(row) if got == "1" else None
        if other and other != sep:
            return DatasetError(
                path,
                f"a row looks {other}-separated ({row[:80]!r}) but this file must be "
                f"{sep}-separated ({', '.join(names)}); re-save it with {sep} separators",
            )
        return DatasetError(
            path,
            f"a row has {got} field(s) where {expected} are expected ({', '.join(names)}), "
            f"{sep}-separated: {row[:80]!r}; fix or remove that row",
        )
    conversion = re.search(
        r"column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'", message
    )
    if conversion:
        column = names[int(conversion.group(1))]
        if isinstance(source, Path) and (bad := _first_non_utf8(source)) is not None:
            return DatasetError(
                path,
                f"is not valid UTF-8 (byte {bad[0]}, line {bad[1]}); ratings must be plain numbers, "
                "re-save the file as UTF-8 text",
            )
        kind = "float" if column == "rating" else "int"
        line = _locate_bad_cell(source, column, read, parse, kind)
        where = f" on line {line + first_line}" if line is not None else ""
        value = conversion.group(3)
        if kind == "int":
            need = (
                "timestamps must be whole seconds"
                if column == "timestamp"
                else f"ids must be whole numbers from 0 to {_INT32_MAX}"
            )
        else:
            need = "ratings must be numbers from 0.5 to 5 in half steps"
        return DatasetError(path, f"{column}{where} is {value[:40]!r}; {need}")
    return DatasetError(path, f"cannot be parsed as a MovieLens ratings file ({message[:200]})")


def _locate_bad_cell(
    source: Path | io.BytesIO,
    column: str,
    read: pacsv.ReadOptions,
    parse: pacsv.ParseOptions,
    kind: str,
) -> int | None:
    """Row number (0-based, data rows) of the first cell of ``column`` that does not parse.

    Only runs on the error path: re-reads that one column as raw bytes and matches a pattern.
    """
    try:
        if isinstance(source, io.BytesIO):
            source.seek(0)
        convert = pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.binary()})
        cells = pacsv.read_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )
        cells = cells.column(column)
        looks_ok = pc.fill_null(pc.match_substring_regex(cells, _VALID_TEXT[kind]), True)
        bad = np.flatnonzero(~looks_ok.to_numpy(zero_copy_only=False))
        if len(bad):
            return int(bad[0])
        if kind == "int":  # in-pattern but out of int32 range: only long cells can be
            long = pc.fill_null(pc.greater_equal(pc.binary_length(cells), 10), False)
            for row in np.flatnonzero(long.to_numpy(zero_copy_only=False)):
                if abs(int(cells[int(row)].as_py())) > _INT32_MAX:
                    return int(row)
    except (pa.ArrowException, ValueError, OSError):
        return None
    return None


def _columns(table: pa.Table, path: Path, first_line: int) -> dict[str, np.ndarray]:
    """Arrow table → numpy columns; a null (empty, NaN, NA) cell is an error naming its line."""
    cols: dict[str, np.ndarray] = {}
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            row = int(pc.index(pc.is_null(column), True).as_py())
            raise DatasetError(
                path,
                f"{name} on line {row + first_line} is missing (empty, NA or NaN); every rating "
                "needs a user, a film and a value",
            )
        cols[name] = column.to_numpy()
    return cols


def _validate(cols: dict[str, np.ndarray], path: Path, first_line: int) -> None:
    """Vectorised checks; the first offending line is named in the message."""

    def line_of(mask: np.ndarray) -> int:
        return int(np.argmax(mask)) + first_line

    for name in ("userId", "movieId"):
        negative = cols[name] < 0
        if negative.any():
            line = line_of(negative)
            raise DatasetError(
                path,
                f"{name} on line {line} is {cols[name][line - first_line]}; ids must not be "
                f"negative ({int(negative.sum())} negative in all)",
            )
    values = cols["rating"]
    doubled = values * 2  # half steps from 0.5 to 5 are exactly the whole numbers 1..10
    if bool(((doubled >= 1) & (doubled <= 10) & (doubled == np.rint(doubled))).all()):
        return
    nan = np.isnan(values)
    if nan.any():
        raise DatasetError(
            path, f"rating on line {line_of(nan)} is NaN; every rating needs a value"
        )
    outside = (values < MIN_RATING) | (values > MAX_RATING)
    if outside.any():
        line = line_of(outside)
        raise DatasetError(
            path,
            f"rating on line {line} is {values[line - first_line]:g}; ratings must be "
            f"{MIN_RATING:g} to {MAX_RATING:g} stars ({int(outside.sum())} ratings outside)",
        )
    off_step = doubled != np.rint(doubled)
    line = line_of(off_step)
    raise DatasetError(
        path,
        f"rating on line {line} is {values[line - first_line]:g}; ratings must be in half-star "
        f"steps (0.5, 1, 1.5, ... 5) ({int(off_step.sum())} ratings off-step)",
    )


def _resolve_duplicates(
    cols: dict[str, np.ndarray], path: Path, notes: list[str]
) -> dict[str, np.ndarray]:
    """Keep one rating per (user, film): the latest timestamp, ties to the later line; warn."""
    users, movies = cols["userId"], cols["movieId"]
    if len(users) < 2:
        return cols
    # fast path: files sorted by (user, film), as MovieLens ships them, have no duplicates
    step_user, step_movie = users[1:] - users[:-1], movies[1:] - movies[:-1]
    if bool(((step_user > 0) | ((step_user == 0) & (step_movie > 0))).all()):
        return cols
    key = (users.astype(np.int64) << 32) | movies.astype(np.int64)
    duplicated = pd.Index(key).duplicated(keep=False)
    if not duplicated.any():
        return cols
    rows = np.flatnonzero(duplicated)
    ts = cols["timestamp"][rows] if "timestamp" in cols else np.zeros(len(rows), np.int64)
    rows = rows[np.lexsort((rows, ts, key[rows]))]  # by pair, then time, then line
    ordered = key[rows]
    loser = np.r_[ordered[1:] == ordered[:-1], False]
    keep = np.ones(len(key), dtype=bool)
    keep[rows[loser]] = False
    n_dropped, n_pairs = int(loser.sum()), int(len(rows) - loser.sum())
    note = (
        f"{path.name}: {n_dropped} duplicate rating(s) dropped, {n_pairs} (user, film) pair(s) were "
        "rated more than once; kept the latest by timestamp (on equal timestamps, the later line)"
    )
    warnings.warn(DatasetWarning(f"{path}: {note.split(': ', 1)[1]}"), stacklevel=3)
    notes.append(note)
    return {name: column[keep] for name, column in cols.items()}


# ---------------------------------------------------------------------------------- movies files


def _read_movies(folder: Path, layout: Layout, notes: list[str]) -> pd.DataFrame:
    path = folder / layout.movies
    if not path.is_file():
        note = f"{layout.movies} not found in {folder.name}; films get placeholder titles"
        warnings.warn(DatasetWarning(f"{folder}: {note}"), stacklevel=3)
        notes.append(note)
        return pd.DataFrame(
            {"movieId": pd.Series([], dtype=np.int64), "title": [], "year": [], "genres": []}
        )
    _check_not_empty(path)
    readers: dict[str, Callable[[Path], pd.DataFrame]] = {
        "ml-latest": _movies_csv,
        "ml-1m": _movies_dat,
        "ml-100k": _movies_uitem,
    }
    movies = readers[layout.name](path)
    if movies.empty:
        raise DatasetError(path, "has no films; replace it with the original MovieLens file")
    ids = movies["movieId"]
    dupes = int(ids.duplicated().sum())
    if dupes:
        note = f"{path.name}: {dupes} repeated movieId(s); kept the first row of each"
        warnings.warn(DatasetWarning(f"{path}: {note.split(': ', 1)[1]}"), stacklevel=3)
        notes.append(note)
    return movies


def _decode(path: Path, fallback: str | None) -> str:
    """UTF-8 text; ``fallback`` (latin-1 for the older layouts) when the bytes are not UTF-8."""
    data = _read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if fallback is None:
            raise DatasetError(path, _non_utf8_problem(data, exc.start)) from None
        return data.decode(fallback)


def _movie_ids(raw: pd.Series, path: Path, first_line: int) -> np.ndarray:
    text = raw.astype(str).str.strip()
    ok = text.str.fullmatch(r"\d{1,10}")
    if ok.all():
        ids = text.astype(np.int64).to_numpy()
        ok = pd.Series(ids <= _INT32_MAX, index=text.index)
        if ok.all():
            return ids
    row = int(np.argmax(~ok.to_numpy()))
    raise DatasetError(
        path,
        f"movieId on line {row + first_line} is {text.iloc[row][:40]!r}; ids must be whole numbers "
        f"from 0 to {_INT32_MAX}",
    )


def _movies_frame(ids: np.ndarray, titles: pd.Series, genres: pd.Series) -> pd.DataFrame:
    parsed = split_title(titles.reset_index(drop=True))
    genres = genres.fillna("").astype(str).str.strip().reset_index(drop=True)
    return pd.DataFrame(
        {
            "movieId": ids,
            "title": parsed["title"],
            "year": parsed["year"],
            "genres": genres.where(genres != NO_GENRES, ""),
        }
    )


def _movies_csv(path: Path) -> pd.DataFrame:
    text = _decode(path, fallback=None)
    first = next((line for line in text.splitlines() if line.strip()), "")
    header = _header_fields(first.strip(), path)
    names = [n.strip() for n in header]
    if len(names) == 1 and (sep := _guess_separator(names[0])):
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
    ids = _movie_ids(frame["movieId"], path, first_line=2)
    return _movies_frame(ids, frame["title"], frame["genres"])


def _split_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _movies_dat(path: Path) -> pd.DataFrame:
    lines = _split_lines(_decode(path, fallback="latin-1"))
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
    lines = _split_lines(_decode(path, fallback="latin-1"))
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
    ids = _movie_ids(table[0], path, first_line=1)
    flags = table.iloc[:, 5:].to_numpy()
    if not np.isin(flags, ["0", "1"]).all():
        row = int(np.argmax(~np.isin(flags, ["0", "1"]).all(axis=1)))
        raise DatasetError(path, f"line {row + 1}: genre flags must be 0 or 1")
    names = np.array(ML100K_GENRES, dtype=object)
    genres = pd.Series(["|".join(names[r == "1"]) for r in flags])
    movies = _movies_frame(ids, table[1], genres)
    # fall back to the release date ("01-Jan-1995") where the title carries no year
    release_year = pd.to_numeric(table[2].str.extract(r"(\d{4})\s*$")[0], errors="coerce")
    movies["year"] = movies["year"].fillna(pd.Series(pd.array(release_year, dtype="Int64")))
    return movies


def _check_catalogue(rated: np.ndarray, movies: pd.DataFrame, path: Path, notes: list[str]) -> None:
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
