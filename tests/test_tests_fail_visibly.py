"""The test suite itself: a check that does not run says so.

A ``return`` inside a test ends it as a pass, so every check after it silently never ran (for
some parameters, on some machines). A check that cannot run is ``pytest.skip("why")``; a case
that does not apply is parametrised away; an either-or outcome is asserted as one expression.
Returns inside functions nested in a test (threads, callbacks) are theirs, not the test's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# (file, test) -> why it may still return (none now). Strict: a fixed one must leave this list.
KNOWN: dict[tuple[str, str], str] = {}


def _own_returns(node: ast.AST) -> Iterator[ast.Return]:
    """The ``return`` statements of a function's own body (not of functions nested in it)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(child, ast.Return):
            yield child
        yield from _own_returns(child)


def returns_in_tests(source: str) -> list[tuple[str, int]]:
    """(test name, line) of every ``return`` in a ``test_*`` function's own body."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            found += [(node.name, r.lineno) for r in _own_returns(node)]
    return found


def test_the_check_finds_a_return_that_ends_a_test_early_and_only_that():
    source = """
def test_early(x):
    if x:
        return
    assert x
def test_nested():
    def worker():
        return 1
    assert worker()
def helper():
    return 2
class TestSteps:
    def test_method(self):
        for i in range(3):
            if i:
                return None
"""
    assert returns_in_tests(source) == [("test_early", 4), ("test_method", 16)]


def test_no_test_returns_before_its_checks_ran():
    found = {}
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name, line in returns_in_tests(path.read_text()):
            found.setdefault((rel, name), []).append(line)
    unexpected = {k: v for k, v in found.items() if k not in KNOWN}
    assert not unexpected, (
        "a test returns early, so it passes without its later checks: use pytest.skip('why'), "
        f"parametrise the case away, or assert the either-or outcome: {unexpected}"
    )
    fixed = sorted(set(KNOWN) - set(found))
    assert not fixed, f"no longer returns early; take it out of KNOWN: {fixed}"
