"""docs/ARCHITECTURE.md is the map of what is: every module under ``engine/``, ``app/`` and
``tools/`` is named there, or in its own package's docstring (``__init__.py``), so a newcomer
who starts at the map finds every file; and every module the map names exists, so the map
never sends anyone to a file that is gone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "ARCHITECTURE.md"
PACKAGES = ("engine", "app", "tools")
# `engine/models/als.py`, `models/als.py`, `protocol_e.py`, `{ratings,movies}_files.py`, …
_PATH = re.compile(r"`([\w/{},.*-]+?\.py)`")


def _expand(text: str) -> set[str]:
    """Paths written in the map, braces expanded: ``data/{a,b}_files.py`` is two files."""
    found: set[str] = set()
    for raw in _PATH.findall(text):
        braces = re.search(r"\{([^}]*)\}", raw)
        if braces:
            for part in braces.group(1).split(","):
                found.add(raw[: braces.start()] + part + raw[braces.end() :])
        else:
            found.add(raw)
    return found


def _docstring(init: Path) -> str:
    return ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""


def _modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py") and "__pycache__" not in path.parts
    ]


def named_in_map(path: Path, written: set[str]) -> bool:
    """Whether the map names ``path`` by any tail of its path (``engine/models/als.py``,
    ``models/als.py`` or ``als.py``), or a package docstring above it names its file."""
    parts = path.relative_to(ROOT).parts
    tails = {"/".join(parts[i:]) for i in range(len(parts))}
    if tails & written:
        return True
    for parent in path.relative_to(ROOT).parents:
        init = ROOT / parent / "__init__.py"
        if parent != Path(".") and init.exists():
            text = _docstring(init)
            if f"``{path.stem}``" in text or f"`{path.stem}`" in text or path.name in text:
                return True
    return False


def test_every_module_is_on_the_map_or_in_its_package_docstring():
    written = _expand(MAP.read_text(encoding="utf-8"))
    missing = [str(p.relative_to(ROOT)) for p in _modules() if not named_in_map(p, written)]
    assert not missing, (
        "modules named neither in docs/ARCHITECTURE.md nor in their package's docstring "
        f"(add a row to the map or a line to the package docstring): {missing}"
    )


def test_every_file_the_map_names_exists():
    written = _expand(MAP.read_text(encoding="utf-8"))
    files = {str(p.relative_to(ROOT)) for p in ROOT.glob("**/*.py") if ".venv" not in p.parts}
    gone = [
        name
        for name in sorted(written)
        if "*" not in name and not any(f == name or f.endswith("/" + name) for f in files)
    ]
    assert not gone, f"docs/ARCHITECTURE.md names files that do not exist: {gone}"
