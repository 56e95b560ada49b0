"""The house's import rules, read from the source: the engine never imports the app, Streamlit
or the tools; the app never imports the tools; the evaluation never imports the tuning searches
built on it, nor storage what trains, tunes or measures; pages reach the engine only through
services."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (absolute imports; relative ones stay
    inside their own package and cannot cross a layer)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = sorted(
            name
            for name in imported_modules(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_imported_modules_reads_both_import_forms(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import app.store\nfrom streamlit import x\nfrom . import sibling\n")
    assert imported_modules(source) == {"app.store", "streamlit"}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("engine", ("app", "streamlit", "tools", "streamlit_app")),
        ("app", ("tools",)),
        # the tuning searches score candidates with the protocols' code, never the reverse
        ("engine/evaluate", ("engine.tuning",)),
        # what is kept on disk knows the models, not how they are trained, tuned or measured
        ("engine/storage", ("engine.train", "engine.tuning", "engine.evaluate", "engine.cli")),
    ],
)
def test_lower_layers_never_import_upper_ones(package: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(package, forbidden) == {}


def engine_names_imported_by_pages() -> dict[str, object]:
    """Every ``from engine... import name`` in a page, resolved to the object it names."""
    found: dict[str, object] = {}
    for path in sorted((ROOT / "app" / "pages").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                engine = [a.name for a in node.names if a.name.split(".")[0] == "engine"]
                assert not engine, f"{path.name} imports a whole engine module: {engine}"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "engine":
                module = importlib.import_module(node.module or "")
                for alias in node.names:
                    found[f"{path.name}: {node.module}.{alias.name}"] = getattr(module, alias.name)
    return found


def test_pages_reach_the_engine_only_through_services() -> None:
    """A page may catch the engine's errors and read its hyperparameter declarations (to build a
    form); anything that computes goes through ``app.services``."""
    from engine.models.config import Param

    computing = {
        where: obj
        for where, obj in engine_names_imported_by_pages().items()
        if not (isinstance(obj, type) and (issubclass(obj, Exception) or obj is Param))
    }
    assert computing == {}
