"""Protocol App: the app's own timings (picks for a 6-member room, cold start), measured by
``python -m app.bench --json`` in a subprocess, because the engine never imports ``app``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from engine.evaluate.report import BenchContext, ProtocolResult

TITLE = "app timings (get picks, cold start)"
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, inner in value.items():
            out += _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list):
        return [(prefix, ", ".join(map(str, value)))]
    return [(prefix, value)]


def parse(stdout: str) -> dict[str, Any]:
    """The JSON object app.bench printed (the last line that parses as an object)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    try:  # a pretty-printed object over several lines
        value = json.loads(stdout)
    except json.JSONDecodeError:
        raise ValueError("app.bench printed no JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("app.bench printed JSON that is not an object")
    return value


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    empty = pd.DataFrame(columns=["measure", "value"])
    if not (ROOT / "app" / "bench.py").exists():
        return ProtocolResult(
            "App",
            TITLE,
            empty,
            ["not available: app/bench.py does not exist"],
            0.0,
            status="not available",
        )
    progress = ctx.progress_factory("App")
    progress(0, 1, "python -m app.bench --json")
    command = [sys.executable, "-m", "app.bench", "--json"]
    if ctx.quick and "--quick" in (ROOT / "app" / "bench.py").read_text(errors="replace"):
        command.append("--quick")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        note = f"failed: `{' '.join(command[1:])}` took longer than {TIMEOUT_S} s"
        return ProtocolResult(
            "App", TITLE, empty, [note], time.perf_counter() - start, status="failed"
        )
    progress(1, 1, "done")
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        note = f"failed: `python -m app.bench --json` exited {done.returncode}: " + " / ".join(tail)
        return ProtocolResult("App", TITLE, empty, [note], seconds, status="failed")
    try:
        values = parse(done.stdout)
    except ValueError as err:
        return ProtocolResult("App", TITLE, empty, [f"failed: {err}"], seconds, status="failed")
    notes = [str(values.pop("notes"))] if isinstance(values.get("notes"), str) else []
    table = pd.DataFrame(_flatten(values), columns=["measure", "value"])
    notes.append(f"measured by `python -m {' '.join(command[2:])}` in a subprocess")
    return ProtocolResult("App", TITLE, table, notes, seconds)
