"""A tool's block in docs/BENCHMARKS.md: replaced alone, appended when absent, a partial one
refused; the start-up timing block has one column per start and survives the engine's report."""

from __future__ import annotations

import pytest

from engine.evaluate.report import write_report
from tools.docs_block import replace_named_block, write_named_block
from tools.startup_timing import render_block


def block(name: str, body: str) -> str:
    return f"<!-- BEGIN tools.{name} -->\n{body}\n<!-- END tools.{name} -->"


def test_only_the_named_block_changes() -> None:
    doc = f"# B\n\n{block('bench', 'app')}\n\nmiddle\n\n{block('startup_timing', 'old')}\n"
    new = replace_named_block(doc, "startup_timing", block("startup_timing", "new"))
    assert new == doc.replace("old", "new")


def test_an_absent_block_is_appended_and_a_partial_one_refused(tmp_path) -> None:
    assert replace_named_block("# B\n", "x", block("x", "1")) == f"# B\n\n{block('x', '1')}\n"
    target = tmp_path / "B.md"
    target.write_text("# B\n<!-- BEGIN tools.x -->\nhalf")
    with pytest.raises(ValueError, match="no"):
        write_named_block(target, "x", block("x", "1"))
    assert target.read_text().endswith("half")


def test_startup_block_has_a_column_per_start_and_outlives_the_engine_report(tmp_path) -> None:
    runs = {
        "first start": {"start → room page drawn (s)": 22.04, "training (s)": 16.0},
        "cached start": {"start → room page drawn (s)": 5.81},
    }
    text = render_block(runs, "python -m tools.startup_timing --fresh", "1.0, 1.0, 1.0")
    assert "| figure | first start | cached start |" in text
    assert "| start → room page drawn (s) | 22.0 | 5.8 |" in text
    assert "| training (s) | 16.0 |  |" in text
    target = tmp_path / "BENCHMARKS.md"
    write_named_block(target, "startup_timing", text)
    write_report(target, "# Benchmarks\n\nengine figures\n")
    assert target.read_text() == f"# Benchmarks\n\nengine figures\n\n{text}\n"
