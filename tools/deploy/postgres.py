"""A throwaway PostgreSQL cluster for the deployment, run by the system's own server binaries.

``initdb`` once under the run folder, then ``postgres`` in the foreground as one of the
launcher's children (so its log is ours and a stop reaches it). PostgreSQL refuses to run as
root: there it runs as the ``postgres`` system user (``runuser``), which owns the cluster folder.
Connections are local (127.0.0.1, trust authentication): the cluster is for one machine.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tools.deploy.children import Child, wait_until

USER = "movienight"
DATABASE = "movienight"
MAX_CONNECTIONS = 400  # each replica's pool may open up to 50 (app.store: 10 + 40 overflow)


def pg_bin() -> Path:
    """The newest Debian-style ``/usr/lib/postgresql/<v>/bin``, else wherever initdb is."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise FileNotFoundError(
            "no PostgreSQL server binaries (initdb): install the system's postgresql package, "
            "or pass --db-url to use a server you already run"
        )
    return Path(initdb).resolve().parent


def as_server_user(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class Cluster:
    """One PostgreSQL cluster in ``folder`` listening on 127.0.0.1:``port``.

    Parameters
    ----------
    folder
        Holds the cluster (``pgdata``) and the server's socket; created when missing. A cluster
        already there is reused, so a second launch finds the rooms of the first.
    port
        TCP port on 127.0.0.1.
    log_dir
        Where ``postgres.log`` goes.
    """

    def __init__(self, folder: Path, port: int, log_dir: Path) -> None:
        self.folder, self.port = folder.resolve(), port
        self.pgdata = self.folder / "pgdata"
        self.bin = pg_bin()
        argv = [
            str(self.bin / "postgres"),
            "-D", str(self.pgdata),
            "-p", str(port),
            "-k", str(self.folder),
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"max_connections={MAX_CONNECTIONS}",
        ]  # fmt: skip
        self.child = Child(
            "postgres",
            as_server_user(argv),
            env=dict(os.environ),
            cwd=self.folder,
            log_dir=log_dir,
            stop_signal=signal.SIGINT,  # fast shutdown: SIGTERM would wait for every client
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(as_server_user(cmd), check=True, capture_output=True, timeout=180)

    def init(self) -> None:
        """``initdb`` (only when the folder holds no cluster yet)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        if (self.pgdata / "PG_VERSION").exists():
            return
        self._run(
            [
                str(self.bin / "initdb"),
                "-D", str(self.pgdata),
                "-U", USER,
                "--auth=trust",
                "-E", "UTF8",
                "--locale=C",
            ]
        )  # fmt: skip

    def ready(self) -> bool:
        done = subprocess.run(
            [
                str(self.bin / "pg_isready"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                "-q",
            ],
            capture_output=True,
        )
        return done.returncode == 0

    def start(self, timeout: float = 60.0) -> None:
        """Start the server, wait until it accepts connections, create the database once."""
        self.child.start()
        wait_until(self.ready, timeout, "waiting for PostgreSQL to accept connections", self.child)
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", "postgres")
        if exists.strip() != "1":
            self.psql(f"CREATE DATABASE {DATABASE}", "postgres")

    def stop(self) -> int | None:
        return self.child.stop()

    def restart(self, down_for: float = 0.0) -> None:
        """Fast shutdown, ``down_for`` seconds with no server, start again (a drill)."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def psql(self, sql: str, database: str = DATABASE) -> str:
        """Run one statement with psql; returns its unaligned output."""
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", database,
                "-At", "-v", "ON_ERROR_STOP=1", "-c", sql,
            ],
            check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return done.stdout

    def connections(self) -> int:
        """Client connections to the app's database now (pg_stat_activity), this query's own
        connection not counted."""
        sql = (
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{DATABASE}' AND pid <> pg_backend_pid()"
        )
        return int(self.psql(sql).strip())
