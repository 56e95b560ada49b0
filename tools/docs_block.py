"""One tool's block in docs/BENCHMARKS.md: ``<!-- BEGIN tools.<name> -->`` … ``<!-- END
tools.<name> -->``.

The engine's report writer rewrites the rest of that file on every full bench and keeps these
blocks verbatim (``engine.evaluate.report.kept_blocks``), so a tool replaces only its own block
and everything outside it stays byte for byte.
"""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    """The BEGIN and END lines of tool ``name``'s block."""
    return f"<!-- BEGIN tools.{name} -->", f"<!-- END tools.{name} -->"


def replace_named_block(document: str, name: str, block: str) -> str:
    """``document`` with tool ``name``'s block replaced by ``block`` (appended when absent)."""
    begin, end = markers(name)
    start = document.find(begin)
    if start < 0:
        head = document.rstrip("\n")
        return f"{head}\n\n{block}\n" if head else f"{block}\n"
    stop = document.find(end, start)
    if stop < 0:
        raise ValueError(
            f"the document has {begin!r} but no {end!r} after it; mend or remove the partial "
            "block by hand, so nothing after it is lost"
        )
    return document[:start] + block + document[stop + len(end) :]


def write_named_block(path: Path, name: str, block: str) -> None:
    """Put tool ``name``'s ``block`` into the file at ``path`` (created when missing)."""
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_named_block(document, name, block), encoding="utf-8")


__all__ = ["markers", "replace_named_block", "write_named_block"]
