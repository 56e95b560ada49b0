"""The whole deployment as one object: PostgreSQL, the default model made ready, N Streamlit
replicas, a training worker and HAProxy, started in that order and stopped in reverse.

Used by ``python -m tools.deploy`` (the one command) and by the drills in ``tests/deploy``,
which kill and restart its parts while members use it.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.app_server import free_port, http_ok
from tools.deploy.children import Child, wait_until
from tools.deploy.haproxy import proxy_child
from tools.deploy.postgres import Cluster

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300.0  # a replica's first start loads the catalogue and model on busy cores


@dataclass
class Config:
    """What to start. Ports of 0 are chosen free at start (the drills run beside other work).

    ``pin`` gives replica ``i`` the CPU list ``pin[i % len(pin)]`` through ``taskset`` (for
    capacity runs: one replica on one core); empty leaves the scheduler alone. ``db_url`` set
    means an existing server: no cluster is started. ``model`` sets MOVIENIGHT_DEFAULT_MODEL
    (None: the app's default, the hybrid).
    """

    replicas: int = 2
    port: int = 8500
    first_replica_port: int = 8601
    stats_port: int = 8404
    pg_port: int = 5544
    run_dir: Path = ROOT / "data" / "deploy"
    data_dir: Path | None = None  # None: run_dir / "data"
    db_url: str | None = None
    worker: bool = True
    pin: list[str] = field(default_factory=list)
    model: str | None = None
    stale_after: float | None = None  # the worker's take-over delay (None: app.jobs' default)

    def resolved(self) -> Config:
        """A copy with free ports chosen for every port of 0 and the data folder filled in."""
        pick = lambda p: p or free_port()  # noqa: E731
        return Config(
            replicas=self.replicas,
            port=pick(self.port),
            first_replica_port=self.first_replica_port,
            stats_port=pick(self.stats_port),
            pg_port=pick(self.pg_port),
            run_dir=self.run_dir.resolve(),
            data_dir=(self.data_dir or self.run_dir / "data").resolve(),
            db_url=self.db_url,
            worker=self.worker,
            pin=list(self.pin),
            model=self.model,
            stale_after=self.stale_after,
        )

    def replica_ports(self) -> list[int]:
        if self.first_replica_port:
            return [self.first_replica_port + i for i in range(self.replicas)]
        return [free_port() for _ in range(self.replicas)]


class Stack:
    """Start, inspect, break (for drills) and stop one deployment.

    Parameters
    ----------
    config
        What to start; see ``Config``.
    echo
        Where progress lines go (the launcher prints them; tests collect them).
    """

    def __init__(self, config: Config, echo=print) -> None:
        self.cfg = config.resolved()
        self.echo = echo
        self.logs = self.cfg.run_dir / "logs"
        self.ports = self.cfg.replica_ports()
        self.cluster: Cluster | None = None
        if self.cfg.db_url is None:
            self.cluster = Cluster(self.cfg.run_dir / "pg", self.cfg.pg_port, self.logs)
        self.db_url = self.cfg.db_url or (self.cluster.url if self.cluster else "")
        self.cookie_secret = secrets.token_hex(16)  # one for all replicas: any may serve a page
        self.replicas = [self._replica(i) for i in range(self.cfg.replicas)]
        work = ["-m", "app.jobs", "work", "--poll", "1"]
        if self.cfg.stale_after is not None:
            work += ["--stale-after", str(self.cfg.stale_after)]
        self.worker = self._python_child("worker", work)
        self.proxy: Child | None = None

    # ---------------------------------------------------------------- what runs

    def env(self) -> dict[str, str]:
        assert self.cfg.data_dir is not None
        env = {
            **os.environ,
            "MOVIENIGHT_DB_URL": self.db_url,
            "MOVIENIGHT_DATA_DIR": str(self.cfg.data_dir),
            "PYTHONUNBUFFERED": "1",
            # Streamlit takes the secret only from its config or the environment, not the CLI.
            "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret,
        }
        if self.cfg.model:
            env["MOVIENIGHT_DEFAULT_MODEL"] = self.cfg.model
        return env

    def _python_child(self, name: str, args: list[str], prefix: list[str] | None = None) -> Child:
        argv = [*(prefix or []), sys.executable, *args]
        return Child(name, argv, self.env(), ROOT, self.logs)

    def _replica(self, i: int) -> Child:
        prefix = ["taskset", "-c", self.cfg.pin[i % len(self.cfg.pin)]] if self.cfg.pin else []
        args = [
            "-m", "streamlit", "run", "streamlit_app.py",
            "--server.port", str(self.ports[i]), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        return self._python_child(f"replica-{i + 1}", args, prefix)

    @property
    def url(self) -> str:
        """Where members go: the proxy."""
        return f"http://127.0.0.1:{self.cfg.port}"

    def replica_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def children(self) -> list[Child]:
        found = [self.cluster.child] if self.cluster else []
        return [*found, *self.replicas, self.worker, *([self.proxy] if self.proxy else [])]

    # ---------------------------------------------------------------- start and stop

    def start(self) -> None:
        """Everything, in order; on any failure what started is stopped again."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        if self.cluster is not None:
            self.echo(f"PostgreSQL: cluster in {self.cluster.pgdata}, port {self.cfg.pg_port}")
            self.cluster.init()
            self.cluster.start()
        self.echo("Making the default model ready (trained once; logs/startup.log)")
        self.prepare()
        for i, replica in enumerate(self.replicas):
            replica.start()
            self.echo(f"replica {i + 1}: {self.replica_url(i)} (logs/{replica.name}.log)")
        for i in range(len(self.replicas)):
            self.wait_replica(i)
        if self.cfg.worker:
            self.worker.start()
            self.echo("training worker: python -m app.jobs work (logs/worker.log)")
        self.proxy = proxy_child(
            self.cfg.port, self.ports, self.cfg.stats_port, self.cfg.run_dir, self.logs
        )
        self.proxy.start()
        wait_until(
            lambda: http_ok(f"{self.url}/_stcore/health"), 30, "waiting for HAProxy", self.proxy
        )
        self.echo(f"HAProxy: {self.url} (stats http://127.0.0.1:{self.cfg.stats_port}/)")

    def prepare(self) -> None:
        """``python -m app.startup``: the operator token and the default model, trained once
        through a job in the shared database (a second launch finds it ready)."""
        log = self.logs / "startup.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "app.startup"],
                cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"python -m app.startup failed:\n{log.read_text()[-3000:]}")

    def wait_replica(self, i: int, timeout: float = START_TIMEOUT_S) -> None:
        url = f"{self.replica_url(i)}/_stcore/health"
        wait_until(lambda: http_ok(url), timeout, f"waiting for replica {i + 1}", self.replicas[i])

    def stop(self) -> None:
        """Everything, in reverse order (proxy first, so nobody reaches a stopping replica)."""
        for child in reversed(self.children()):
            child.stop()

    # ---------------------------------------------------------------- drills

    def kill_replica(self, i: int) -> None:
        """SIGKILL replica ``i`` and everything it started (a crash, not a stop)."""
        self.replicas[i].kill()

    def restart_replica(self, i: int) -> None:
        self.replicas[i].start()
        self.wait_replica(i)

    def proxy_states(self) -> dict[str, str]:
        """Each replica's state as HAProxy sees it (``r1`` -> ``UP``/``DOWN``...)."""
        url = f"http://127.0.0.1:{self.cfg.stats_port}/;csv"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode().lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row["pxname"] == "replicas" and row["svname"] not in ("FRONTEND", "BACKEND")
        }
