"""The ratings file of each MovieLens layout, parsed by pyarrow into checked numpy columns.

pyarrow parses straight into int32/float32 columns and the checks are vectorised numpy, so a
25M-row file costs seconds and no per-row Python. Bad input raises ``DatasetError`` naming the
file, the line and what to fix (the bad cell is located only on that error path); duplicate
(user, film) pairs keep the latest rating, with a ``DatasetWarning`` and a note.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from engine.data.errors import DatasetError, DatasetWarning
from engine.data.ratings import MAX_RATING, MIN_RATING
from engine.data.text_files import (
    ID_MAX,
    check_not_empty,
    first_line,
    first_non_utf8,
    guess_separator,
    header_fields,
    non_utf8_problem,
    read_bytes,
)

RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
_ARROW_TYPES = {
    "userId": pa.int32(),
    "movieId": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}
# what a parsable (or null) cell looks like; used only to locate a bad cell for the message
_NULL_TEXT = r"|nan|-nan|na|n/a|null|#n/a|#na|#n/a n/a|1\.#ind|-1\.#ind|1\.#qnan|-1\.#qnan"
_VALID_TEXT = {
    "int": rf"(?i)^\s*([+-]?\d{{1,10}}{_NULL_TEXT})\s*$",
    "float": rf"(?i)^\s*([+-]?(\d+\.?\d*|\.\d+)([e][+-]?\d+)?|[+-]?inf(inity)?{_NULL_TEXT})\s*$",
}


def ratings_csv(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """ml-latest style ``ratings.csv`` with a header; returns the columns and the first data line."""
    check_not_empty(path)
    header_text, raw, header_index = first_line(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(path, non_utf8_problem(raw, exc.start)) from None
    names = [n.strip().strip('"').strip() for n in header_fields(header_text, path)]
    if len(names) == 1 and (sep := guess_separator(header_text)):
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


def ratings_dat(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """ml-1m / ml-10m ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, no header."""
    check_not_empty(path)
    text, _, _ = first_line(path)
    if "::" not in text:
        sep = guess_separator(text) or ("','" if "," in text else None)
        found = f"; it looks {sep}-separated" if sep else ""
        raise DatasetError(
            path,
            f"first line {text[:80]!r} is not '::'-separated{found}; expected "
            "UserID::MovieID::Rating::Timestamp per line",
        )
    # pyarrow needs a one-character delimiter; '::' never occurs inside a number
    data = read_bytes(path).replace(b"::", b"\t")
    table = _arrow_read(io.BytesIO(data), list(RATING_COLUMNS), "\t", 0, first_line=1, path=path)
    return _columns(table, path, 1), 1


def ratings_udata(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """ml-100k ``u.data``: ``user item rating timestamp``, tab-separated, no header."""
    check_not_empty(path)
    text, _, _ = first_line(path)
    if "\t" not in text:
        sep = guess_separator(text) or ("','" if "," in text else "no")
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
        other = guess_separator(row) if got == "1" else None
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
        if isinstance(source, Path) and (bad := first_non_utf8(source)) is not None:
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
                else f"ids must be whole numbers from 0 to {ID_MAX}"
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
        # pyarrow generates these kernels' functions at import: call them by name (typed)
        matches = pc.call_function(
            "match_substring_regex", [cells], pc.MatchSubstringOptions(_VALID_TEXT[kind])
        )
        looks_ok = pc.fill_null(matches, True)
        bad = np.flatnonzero(~looks_ok.to_numpy(zero_copy_only=False))
        if len(bad):
            return int(bad[0])
        if kind == "int":  # in-pattern but out of int32 range: only long cells can be
            lengths = pc.call_function("binary_length", [cells])
            long = pc.fill_null(pc.call_function("greater_equal", [lengths, 10]), False)
            for row in np.flatnonzero(long.to_numpy(zero_copy_only=False)):
                if abs(int(cells[int(row)].as_py())) > ID_MAX:
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
            row = int(pc.index(column.is_null(), True).as_py())
            raise DatasetError(
                path,
                f"{name} on line {row + first_line} is missing (empty, NA or NaN); every rating "
                "needs a user, a film and a value",
            )
        cols[name] = column.to_numpy()
    return cols


def validate_ratings(cols: dict[str, np.ndarray], path: Path, first_line: int) -> None:
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


def resolve_duplicates(
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
