"""Each app replica's job supervisor: claims training jobs from the store and runs each in a
worker process.

One background thread per (database, data folder) in each server process. It claims the oldest
claimable job (queued, or running with a stale heartbeat: its replica died) and runs it in a
child process (``app.jobs.worker``), one job at a time per replica. Replicas compete through the
store's atomic claim, so a job runs in exactly one place. The thread exits after a while with
nothing to do and is woken again by whoever asks for a model (``wake``), so an idle server (or a
test) keeps no thread polling; the server wakes it once at start, which resumes jobs a restart
interrupted.

``python -m app.jobs work`` runs the same loop in the foreground, as a worker of its own.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.jobs.runner import STALE_AFTER_S
from app.store import Store

POLL_S = 1.0
IDLE_EXIT_S = 120.0
ROOT = Path(__file__).resolve().parents[2]


def new_owner() -> str:
    """A claim's owner: this host and process, plus a random part (a claim is one run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Supervisor:
    """Claims jobs of the database at ``url`` and runs them in worker processes."""

    def __init__(
        self,
        url: str,
        data_dir: str,
        stale_after: float = STALE_AFTER_S,
        poll: float = POLL_S,
        idle_exit: float | None = IDLE_EXIT_S,
    ) -> None:
        self.url, self.data_dir = url, data_dir
        self.stale_after, self.poll, self.idle_exit = stale_after, poll, idle_exit
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._woken = threading.Event()
        self.running: subprocess.Popen[bytes] | None = None
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.url)
        return self._store

    def wake(self) -> None:
        """Make sure the loop runs (start it if it stopped), and have it look for work now."""
        with self._lock:
            self._woken.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self.loop, daemon=True, name="movienight-job-supervisor"
                )
                self._thread.start()

    def loop(self) -> None:
        """Claim and run jobs until there has been nothing to do for ``idle_exit`` seconds."""
        idle_since = time.monotonic()
        while True:
            self._woken.clear()
            owner = new_owner()
            try:
                job = self.store.jobs.claim(owner, self.stale_after)
            except Exception as exc:  # the database is down: say so, try again later
                print(f"[training jobs] cannot reach the database: {exc}", file=sys.stderr)
                job = None
            if job is not None:
                self.run_child(job.id, owner)
                idle_since = time.monotonic()
                continue
            if self.idle_exit is not None and time.monotonic() - idle_since > self.idle_exit:
                with self._lock:
                    if not self._woken.is_set():
                        self._thread = None
                        return
                idle_since = time.monotonic()
            self._woken.wait(self.poll)

    def run_child(self, job_id: int, owner: str) -> int:
        """Run the claimed job in a worker process and wait for it; a worker that died without
        ending its job (killed, out of memory) fails the job with its exit code."""
        env = {**os.environ, "MOVIENIGHT_DB_URL": self.url, "MOVIENIGHT_DATA_DIR": self.data_dir}
        command = [sys.executable, "-m", "app.jobs.worker", str(job_id), owner]
        with self._lock:
            self.running = subprocess.Popen(command, cwd=ROOT, env=env)
        code = self.running.wait()
        with self._lock:
            self.running = None
        if code not in (0, 130):
            self.store.jobs.finish(
                job_id,
                owner,
                "failed",
                error=f"the training process stopped unexpectedly (exit code {code})",
            )
        return code


_SUPERVISORS: dict[tuple[str, str], Supervisor] = {}
_GUARD = threading.Lock()


def supervisor_for(url: str, data_dir: str) -> Supervisor:
    """This process's supervisor for one database and data folder."""
    with _GUARD:
        found = _SUPERVISORS.get((url, data_dir))
        if found is None:
            found = _SUPERVISORS[(url, data_dir)] = Supervisor(url, data_dir)
        return found
