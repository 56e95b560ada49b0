"""The deployment's processes: each in its own process group, with its own log file.

A process group per child lets a stop reach what the child started itself (a replica's training
worker, the server processes PostgreSQL forks), so Ctrl-C on the launcher leaves no orphans:
``stop`` sends SIGTERM to the whole group, waits, then SIGKILLs the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

STOP_GRACE_S = 15.0  # Streamlit and PostgreSQL stop well within this on SIGTERM


class Child:
    """One long-running process of the deployment (a replica, the worker, the proxy...).

    Parameters
    ----------
    name
        Short name used for the log file (``<logs>/<name>.log``) and in messages.
    argv, env, cwd
        What to run, as for ``subprocess.Popen``.
    log_dir
        Folder for the log file; the log is appended to, so a restart keeps what came before.
    stop_signal
        What asks it to stop (PostgreSQL wants SIGINT, its "fast" shutdown: SIGTERM waits for
        every client to leave, and the replicas never do).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        cwd: Path,
        log_dir: Path,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name, self.argv, self.env, self.cwd = name, list(argv), env, cwd
        self.stop_signal = stop_signal
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it in a new session (its own process group), stdout and stderr to its log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (gone already: nothing to do)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the group at once and reap the child (a drill's crash, not a stop)."""
        self.signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """``stop_signal`` to the group, wait up to ``grace`` seconds, then SIGKILL what is left.

        Returns the child's exit code (None when it was never started).
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal_group(self.stop_signal)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait()
        # Whatever the child started and left behind in its group goes too.
        self.signal_group(signal.SIGKILL)
        return self.proc.returncode

    def tail(self, chars: int = 3000) -> str:
        """The end of the log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_until(check, timeout: float, what: str, child: Child | None = None) -> None:
    """Poll ``check()`` until it is true; fail with ``what`` (and the child's log) on timeout
    or when ``child`` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while not check():
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited while {what}:\n{child.tail()}")
        if time.monotonic() > deadline:
            tail = f":\n{child.tail()}" if child is not None else ""
            raise TimeoutError(f"timed out after {timeout:g} s {what}{tail}")
        time.sleep(0.25)
