"""Reading MovieLens text files safely: every way a file can be unreadable becomes a
``DatasetError`` that names the file, the line or byte, and what to do about it."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import numpy as np

from engine.data.errors import DatasetError

ID_MAX = int(np.iinfo(np.int32).max)  # ids are stored as int32


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror}); check its permissions") from exc


def non_utf8_problem(data: bytes, start: int) -> str:
    line = data.count(b"\n", 0, start) + 1
    return (
        f"is not valid UTF-8: byte {start} (line {line}) starts {data[start : start + 8]!r}; "
        "re-save the file as UTF-8"
    )


def first_non_utf8(path: Path, chunk: int = 1 << 24) -> tuple[int, int] | None:
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


def check_not_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise DatasetError(path, "is empty (0 bytes); replace it with the original MovieLens file")


def first_line(path: Path) -> tuple[str, bytes, int]:
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


def header_fields(line: str, path: Path) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:  # NUL bytes, a field over the csv module's size limit
        raise DatasetError(
            path, f"has an unreadable header line ({exc}); expected a csv header"
        ) from None


def guess_separator(line: str) -> str | None:
    for sep, name in (("\t", "tab"), (";", "';'"), ("|", "'|'"), ("::", "'::'")):
        if sep in line:
            return name
    if len(line.split()) > 1:
        return "space"
    return None


def decode_text(path: Path, fallback: str | None) -> str:
    """UTF-8 text; ``fallback`` (latin-1 for the older layouts) when the bytes are not UTF-8."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if fallback is None:
            raise DatasetError(path, non_utf8_problem(data, exc.start)) from None
        return data.decode(fallback)


def nonblank_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
