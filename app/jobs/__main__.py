"""``python -m app.jobs work``: a training worker without the web app.

Claims jobs from the database (``MOVIENIGHT_DB_URL``) like an app replica's supervisor does and
runs each in a worker process; Ctrl-C stops it, and a job it was running goes back to the queue
to be resumed from its checkpoint by whichever replica or worker claims it next.
"""

from __future__ import annotations

import argparse
import sys

from app.jobs.runner import STALE_AFTER_S
from app.jobs.supervisor import POLL_S, Supervisor
from app.store import default_url
from engine.data.paths import data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    work = sub.add_parser("work", help="claim and run training jobs until stopped")
    work.add_argument(
        "--stale-after",
        type=float,
        default=STALE_AFTER_S,
        help=f"seconds without a heartbeat before a running job is taken over "
        f"(default {STALE_AFTER_S:g})",
    )
    work.add_argument("--poll", type=float, default=POLL_S, help="seconds between looks")
    work.add_argument(
        "--idle-exit", type=float, default=None, help="stop after this long with nothing to do"
    )
    args = parser.parse_args(argv)

    supervisor = Supervisor(
        default_url(),
        str(data_dir()),
        stale_after=args.stale_after,
        poll=args.poll,
        idle_exit=args.idle_exit,
    )
    try:
        supervisor.loop()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
