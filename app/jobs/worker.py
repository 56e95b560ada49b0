"""``python -m app.jobs.worker JOB_ID OWNER``: run one claimed job in its own process.

Started by a replica's ``Supervisor`` once it holds the claim. A process of its own, so a fit
uses every core's threads (the serving process keeps torch at one thread per request) without
holding the server's GIL, runs at a lower priority than serving, and can be stopped between two
of its steps. SIGINT or SIGTERM (the server stopping) puts the job back in the queue with its
checkpoint kept; the next replica to claim it resumes from there.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import os
import signal
import sys
from types import FrameType

from app.jobs.runner import run_job
from app.store import Store

WORKER_NICE = 10  # serving requests come first on a shared machine


def _stop_on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.jobs.worker")
    parser.add_argument("job", type=int)
    parser.add_argument("owner")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_term)
    with contextlib.suppress(OSError, AttributeError):  # not allowed, or not on this platform
        os.nice(WORKER_NICE)

    store = Store()  # MOVIENIGHT_DB_URL and MOVIENIGHT_DATA_DIR come from the supervisor
    job = store.jobs.get(args.job)
    if job.owner != args.owner or job.state != "running":
        return 0  # no longer ours (taken over meanwhile): nothing to do

    def log(message: str) -> None:
        print(f"[training {job.model}, job {job.id}] {message}", file=sys.stderr, flush=True)

    try:
        done = run_job(store.jobs, job, args.owner, interrupt=_thread.interrupt_main, log=log)
    except KeyboardInterrupt:
        log("stopped; the job is queued again and resumes from its last checkpoint")
        return 130
    finally:
        store.dispose()
    log(f"{done.state}" + (f": {done.error}" if done.error else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
