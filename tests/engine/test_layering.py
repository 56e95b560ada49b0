"""The house's import rules, read from the source: the engine never imports the app, Streamlit
or the tools; the app never imports the tools; the evaluation never imports the tuning searches
built on it, nor storage what trains, tunes or measures; only the command line imports the
command line; no engine module imports itself through others (no import circle); pages reach
the engine only through services."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import networkx as nx
import pytest

from engine.models.config import Param

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
        # storage saves models; a model needs of a checkpoint only base.FitCheckpoint's protocol
        ("engine/models", ("engine.storage", "engine.train", "engine.evaluate", "engine.tuning")),
    ],
)
def test_lower_layers_never_import_upper_ones(package: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(package, forbidden) == {}


def test_only_the_command_line_imports_the_command_line() -> None:
    """``engine.cli`` is the top floor: a protocol or a search that needs a dataset or ``--set``
    values takes them from ``engine.data`` and ``engine.models.config``, as the CLI does."""
    found = offenders("engine", ("engine.cli",))
    assert {path: names for path, names in found.items() if not _is_cli(path)} == {}


def _is_cli(path: str) -> bool:
    return path.startswith("engine/cli/") or path == "engine/__main__.py"


def engine_import_graph() -> dict[str, set[str]]:
    """Every engine module → the engine modules it imports, at the top or inside a function (a
    deferred import still closes a circle). ``from engine.x import y`` names the submodule
    ``engine.x.y`` when there is one, else ``engine.x`` itself; a package's ``__init__`` that
    merely runs first is not counted, so only the imports the code writes make an edge."""
    modules: dict[str, Path] = {}
    for path in sorted((ROOT / "engine").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    edges.add(sub if sub in modules else node.module)
        graph[name] = edges - {name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: its strongly connected components of two or more
    modules, each sorted (networkx's, not a hand-written Tarjan)."""
    g = nx.DiGraph([(a, b) for a, targets in graph.items() for b in targets])
    g.add_nodes_from(graph)
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


def test_circles_finds_a_loop_through_a_deferred_import_and_nothing_else(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_engine_has_no_import_circle() -> None:
    """Each module stands above what it imports, so any one of them can be read (and tested)
    knowing only the ones below it; a shared piece lives below everything that shares it."""
    graph = engine_import_graph()
    assert "engine.evaluate.protocol_elicit_taps" in graph  # the graph reads the tree
    assert circles(graph) == []


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
    computing = {
        where: obj
        for where, obj in engine_names_imported_by_pages().items()
        if not (isinstance(obj, type) and (issubclass(obj, Exception) or obj is Param))
    }
    assert computing == {}
