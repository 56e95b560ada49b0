"""A live ``streamlit run`` of the app on a free port, for what measures or tests it in a browser:
started, waited on until Streamlit's health check answers, stopped.

One copy for the benches (``tools.browser_waits``, ``tools.deck_load``), the start-up timing,
the deployment (``tools.deploy``) and the browser tests (``tests/app/browser_helpers.py``), so a
change in how the app is started or found healthy is made once.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 120  # a first start on 2 shared cores, the default model loaded


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers 200 (False for anything else, refused connections included)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(
    url: str, alive: Callable[[], bool], limit_s: float = math.inf, poll_s: float = 0.5
) -> bool:
    """Poll Streamlit's health check at ``url`` until it answers; False when the server's
    process died (``alive()`` is False) or ``limit_s`` passed first."""
    deadline = time.monotonic() + limit_s
    while not http_ok(f"{url}/_stcore/health"):
        if not alive() or time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


@contextmanager
def app_server(
    model: str | None, db_url: str, log: Path, data_dir: Path | None = None
) -> Iterator[tuple[str, int]]:
    """``streamlit run streamlit_app.py`` on ``db_url``; yields its URL and the server's process
    id (for its CPU time), and stops it on exit.

    ``model``: the default model it serves; None for the app's own default (what a fresh clone
    serves). ``data_dir``: its ``MOVIENIGHT_DATA_DIR`` (where trained models are), else the
    environment's. The server's output goes to ``log``.
    """
    port = free_port()
    env = {**os.environ, "MOVIENIGHT_DB_URL": db_url}
    if model is None:
        env.pop("MOVIENIGHT_DEFAULT_MODEL", None)
    else:
        env["MOVIENIGHT_DEFAULT_MODEL"] = model
    if data_dir is not None:
        env["MOVIENIGHT_DATA_DIR"] = str(data_dir)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                "--server.port", str(port), "--server.address", "127.0.0.1",
                "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            if not wait_healthy(url, lambda: proc.poll() is None, STARTUP_S):
                raise RuntimeError("streamlit did not start:\n" + log.read_text()[-2000:])
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
