"""``./scripts/deploy`` (``python -m tools.deploy``): the whole deployment in one command.

    ./scripts/deploy                    # PostgreSQL, 2 replicas, a worker, HAProxy on :8500
    ./scripts/deploy --replicas 4 --port 8080
    ./scripts/deploy --db-url postgresql+psycopg://me@dbhost/movienight   # your own server

Runs in the foreground until Ctrl-C or SIGTERM, which stop every process it started (each in its
own process group, so a replica's training child goes too). A replica or the worker that exits
on its own is started again after ``--restart-after`` seconds (0: never); HAProxy sends its
members to the other replicas meanwhile. See docs/DEPLOY.md.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from tools.deploy.stack import Config, Stack


def parse(argv: list[str] | None) -> tuple[Config, float]:
    d = Config()
    p = argparse.ArgumentParser(
        prog="./scripts/deploy", description=(__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--replicas", type=int, default=d.replicas, help="Streamlit processes")
    p.add_argument("--port", type=int, default=d.port, help="where members connect (HAProxy)")
    p.add_argument("--first-replica-port", type=int, default=d.first_replica_port)
    p.add_argument("--stats-port", type=int, default=d.stats_port, help="HAProxy's stats page")
    p.add_argument("--pg-port", type=int, default=d.pg_port, help="the throwaway cluster's port")
    p.add_argument("--run-dir", type=Path, default=d.run_dir, help="cluster, logs, config")
    p.add_argument("--data-dir", type=Path, help="MOVIENIGHT_DATA_DIR (default RUN_DIR/data)")
    p.add_argument("--db-url", help="an existing PostgreSQL (no cluster is started)")
    p.add_argument("--no-worker", action="store_true", help="no separate training worker")
    p.add_argument(
        "--pin", default="", help="CPU lists for replicas, e.g. '0' or '0;1' (taskset -c)"
    )
    p.add_argument("--model", help="MOVIENIGHT_DEFAULT_MODEL (default: the app's, the hybrid)")
    p.add_argument("--restart-after", type=float, default=3.0, help="0: never restart")
    a = p.parse_args(argv)
    if a.replicas < 1:
        p.error("--replicas must be at least 1")
    cfg = Config(
        replicas=a.replicas,
        port=a.port,
        first_replica_port=a.first_replica_port,
        stats_port=a.stats_port,
        pg_port=a.pg_port,
        run_dir=a.run_dir,
        data_dir=a.data_dir,
        db_url=a.db_url,
        worker=not a.no_worker,
        pin=[c for c in a.pin.split(";") if c],
        model=a.model,
    )
    return cfg, a.restart_after


class Stop(Exception):
    """SIGTERM or SIGHUP, turned into an exception so the same cleanup runs as for Ctrl-C."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def watch(stack: Stack, restart_after: float) -> None:
    """Until stopped: restart a replica or the worker that exited (after ``restart_after``)."""
    down: dict[str, float] = {}
    watched = [*stack.replicas, *([stack.worker] if stack.cfg.worker else [])]
    while True:
        time.sleep(1.0)
        for child in watched:
            if child.alive():
                down.pop(child.name, None)
                continue
            if child.name not in down:
                code = child.proc.returncode if child.proc else None
                print(f"{child.name} exited (code {code}); see logs/{child.name}.log", flush=True)
                down[child.name] = time.monotonic()
            if restart_after > 0 and time.monotonic() - down[child.name] >= restart_after:
                print(f"starting {child.name} again", flush=True)
                child.start()
                down.pop(child.name, None)
        if stack.cluster is not None and not stack.cluster.child.alive():
            print("PostgreSQL exited; see logs/postgres.log", flush=True)


def main(argv: list[str] | None = None) -> int:
    cfg, restart_after = parse(argv)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    stack = Stack(cfg, echo=lambda line: print(line, flush=True))
    try:
        stack.start()
        print(f"\nMovie Night is up: {stack.url}   (Ctrl-C stops everything)", flush=True)
        watch(stack, restart_after)
    except (KeyboardInterrupt, Stop):
        print("\nstopping…", flush=True)
        return 0
    finally:
        # Signals again during cleanup must not cut it short and leave orphans.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("stopped: every process of the deployment has exited", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
