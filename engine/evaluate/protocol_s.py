"""Protocol S, scale: MovieLens-25M-size synthetic data (docs/PROTOCOLS.md).

Each step runs in its own child process (``engine.evaluate.scale_steps``) so that its peak memory
(the child's ``ru_maxrss``) is its own and steps don't pollute each other: generate the data and
its csv folder, load the csv, then on every device (the CPU, and CUDA when present) our ALS
(seconds per epoch, memory traffic, the interactive paths a room uses) and MF (seconds per
epoch); on the CPU also implicit's ALS, the peer. ``quick=True`` shrinks everything to 1/100 so CI
runs it in seconds.

Reproduce one step by hand: ``python -m engine.evaluate.scale_steps --step als --data DIR``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

from engine.data.synthetic_scale import quick_sizes
from engine.device import describe
from engine.evaluate.report import BenchContext, ProtocolResult
from engine.evaluate.scale_steps import FACTORS, MF_BATCH

TITLE = "scale: MovieLens-25M-size synthetic data"
STEP_TIMEOUT = 1800
INTERACTIVE = (
    ("fold_in_ms", "fold-in (10 ratings)"),
    ("score_ms", "score all films, one person"),
    ("similar_ms", "similar films"),
    ("group6_ms", "6-member group recommendation"),
)

Step = dict[str, Any]


def _child(args: list[str], threads: int) -> Step:
    """Run one step in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, "-m", "engine.evaluate.scale_steps", "--threads", str(threads), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"step {' '.join(args[:2])} failed: {' | '.join(tail)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@dataclass
class Run:
    """One protocol S run: where its data lives and what it has measured so far."""

    folder: str
    threads: int
    rows: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    notes: list[str] = field(default_factory=list[str])

    def step(self, label: str, *args: str) -> Step | None:
        """A step's result, or None with a note: one failing step must not hide the others."""
        try:
            return _child([*args, "--data", self.folder], self.threads)
        except Exception as err:  # whatever the child died of, it is reported as a note
            self.notes.append(f"{label}: not measured ({type(err).__name__}: {err})")
            return None

    def row(
        self,
        measure: str,
        device: str,
        value: float,
        unit: str,
        peak: float | None,
        note: str = "",
    ) -> None:
        self.rows.append(
            {
                "measure": measure,
                "device": device,
                "value": value,
                "unit": unit,
                "peak RSS MiB": peak,
                "note": note,
            }
        )


def _devices(threads: int) -> list[tuple[str, str]]:
    """(torch device, how the table names it): the CPU, then CUDA where there is one."""
    out = [("cpu", f"cpu ({threads} threads)")]
    if torch.cuda.is_available():
        out.append(("cuda", describe(torch.device("cuda"))))
    return out


def _data(run: Run, sizes: dict[str, int]) -> None:
    """Generate the data (its own child, not optional: everything else reads it) and load it."""
    gen = _child(
        ["--step", "generate", "--data", run.folder, "--sizes", json.dumps(sizes)], run.threads
    )
    cpu = _devices(run.threads)[0][1]
    run.row(
        "generate synthetic data",
        cpu,
        gen["seconds"],
        "s",
        gen["peak_mib"],
        f"{gen['n_ratings']:,} ratings",
    )
    run.notes.append(
        f"ratings.csv written in {gen['csv_write_s']:.1f} s ({gen['csv_mib']:.0f} MiB)"
    )
    load = run.step("csv load", "--step", "load")
    if load:
        run.row("load ratings.csv into Ratings", cpu, load["seconds"], "s", load["peak_mib"])


def _als(run: Run, device: str, label: str, epochs: int, peers: bool) -> None:
    """Our ALS on one device (and, on the CPU, implicit's for comparison)."""
    ours = run.step(f"ALS ({device})", "--step", "als", "--device", device, "--epochs", str(epochs))
    peer = None
    if peers and device == "cpu":  # implicit's ALS here is its CPU build
        peer = run.step("implicit ALS", "--step", "implicit", "--epochs", str(epochs))
    if ours:
        run.row(
            f"ALS {FACTORS} factors, s/iteration (ours)",
            label,
            ours["seconds_per_iteration"],
            "s",
            ours["peak_mib"],
            _als_note(ours, peer),
        )
        for key, measure in INTERACTIVE:
            run.row(measure, label, ours[key], "ms", None, "on the fitted ALS model")
    if peer:
        run.row(
            f"ALS {FACTORS} factors, s/iteration (implicit 0.7 CPU, CG)",
            label,
            peer["seconds_per_iteration"],
            "s",
            peer["peak_mib"],
        )


def _als_note(ours: Step, peer: Step | None) -> str:
    parts = []
    if peer:
        parts.append(
            f"{ours['seconds_per_iteration'] / peer['seconds_per_iteration']:.2f}× implicit's "
            f"time, {ours['peak_mib'] / peer['peak_mib']:.2f}× its memory"
        )
    if "gpu_peak_mib" in ours:  # an accelerator: how close the kernels come to its bandwidth
        note = (
            f"GPU peak {ours['gpu_peak_mib']:.0f} MiB; {ours['bytes_per_s'] / 1e9:.0f} GB/s, "
            f"{ours['flop_per_s'] / 1e12:.2f} TFLOP/s"
        )
        if ours["peak_bytes_per_s"]:
            note += (
                f" = {100 * ours['bytes_per_s'] / ours['peak_bytes_per_s']:.0f} % of peak bandwidth"
            )
        parts.append(note)
    return "; ".join(parts)


def _mf(run: Run, device: str, label: str) -> None:
    mf = run.step(f"MF ({device})", "--step", "mf", "--device", device)
    if mf:
        note = f"{mf['ratings_per_s']:,.0f} ratings/s, batch {MF_BATCH:,}"
        if "gpu_peak_mib" in mf:
            note += f", GPU peak {mf['gpu_peak_mib']:.0f} MiB"
        run.row(
            f"MF {FACTORS} factors, s/epoch",
            label,
            mf["seconds_per_epoch"],
            "s",
            mf["peak_mib"],
            note,
        )


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    threads = torch.get_num_threads()
    epochs = 2 if ctx.quick else 3
    wanted = set(ctx.models) if ctx.models is not None else {"als", "mf"}
    devices = _devices(threads)
    progress = ctx.progress_factory("S")
    total = 1 + len(devices)
    with tempfile.TemporaryDirectory(prefix="protocol-s-") as tmp:
        measured = Run(tmp, threads)
        _data(measured, quick_sizes(0.01) if ctx.quick else {})
        progress(1, total, "data generated and loaded")
        for done, (device, label) in enumerate(devices, start=2):
            if "als" in wanted:  # a GPU epoch is short: time a few more of them
                _als(measured, device, label, epochs + (0 if device == "cpu" else 2), ctx.peers)
            if "mf" in wanted:
                _mf(measured, device, label)
            progress(done, total, f"measured on {label}")
    if len(devices) == 1:
        measured.notes.append("no CUDA device here: GPU rows not measured")
    size = "1/100 of " if ctx.quick else ""
    notes = [
        f"data: {size}MovieLens-25M size, seed 0, {threads} CPU threads; each step in its own "
        "process, peak RSS = that process's ru_maxrss (includes loading the arrays)",
        *measured.notes,
        "reproduce: python -m engine bench --protocols S" + (" --quick" if ctx.quick else ""),
    ]
    return ProtocolResult(
        name="S",
        title=TITLE,
        table=pd.DataFrame(measured.rows),
        notes=notes,
        seconds=time.perf_counter() - start,
    )
