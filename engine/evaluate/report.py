"""What a protocol hands back, what it is handed, and the docs/BENCHMARKS.md writer.

Every figure in docs/BENCHMARKS.md comes from ``python -m engine bench``; the file records the
exact command, the date, the machine and library versions next to the tables, so a number can
always be traced to the run that produced it.
"""

from __future__ import annotations

import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.device import describe
from engine.models import REGISTRY, create, model_class
from engine.models.base import ExplicitRecommender, Recommender
from engine.progress import Progress, silent

LIBRARIES = ("torch", "numpy", "pandas", "scipy", "implicit", "scikit-surprise")


@dataclass
class ProtocolResult:
    """One protocol's outcome: a table (one row per model or setting) plus notes that say what
    was skipped, tuned or assumed, and how long the protocol took."""

    name: str
    title: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # caption -> table
    status: str = "ok"  # "ok" or "failed" (the notes say why)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class BenchContext:
    """Everything a protocol runner needs; protocols never parse arguments themselves."""

    ratings: Ratings
    quick: bool = False
    models: list[str] | None = None  # None = every registered model that applies
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress_factory: Callable[[str], Progress] = lambda name: silent
    peers: bool = True
    skip_slow_peers: bool = False
    k: int = 10
    threshold: float = 4.0
    retrain_ks: tuple[int, ...] | None = None  # protocol F: k with a retrain comparison (None = 10)

    def model_names(self, kind: str | None = None) -> tuple[list[str], list[str]]:
        """Registered models to measure (optionally only ``kind``), and notes on those asked for
        that are not registered or whose kind does not apply."""
        names = list(self.models) if self.models is not None else list(REGISTRY)
        chosen, notes = [], []
        for name in names:
            if name not in REGISTRY:
                notes.append(f"{name}: not a registered model (known: {', '.join(REGISTRY)})")
                continue
            if kind is not None and model_class(name).kind != kind:
                if self.models is not None:
                    notes.append(f"{name}: skipped here, it is not an {kind} model")
                continue
            chosen.append(name)
        return chosen, notes

    def params(self, name: str) -> dict[str, Any]:
        """Hyperparameters the bench overrides: none in full runs (the models' defaults, chosen
        on validation data); in quick runs the cheaper value each declaration names (``quick``:
        fewer epochs, fewer fold-in steps)."""
        if not self.quick:
            return {}

        return model_class(name).config_class.quick_overrides()

    def create(self, name: str) -> Recommender:
        return create(name, device=self.device, **self.params(name))

    def create_explicit(self, name: str) -> ExplicitRecommender:
        """``create`` for protocols that need star predictions (protocol E)."""
        model = self.create(name)
        if not isinstance(model, ExplicitRecommender):
            raise ValueError(f"{name} is not an explicit model; it predicts no ratings")
        return model


OURS = "Movie Night"


def timed_fit(model: Recommender, train: Ratings) -> float:
    """Fit ``model`` on ``train``; wall seconds (synchronising CUDA so GPU time is counted)."""
    start = time.perf_counter()
    model.fit(train)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def add_ratio(
    table: pd.DataFrame, metric: str, lower_is_better: bool, by: list[str] | None = None
) -> list[str]:
    """Add column "<metric> ÷ best peer" to our rows (peers' rows get NaN), in place.

    The best peer is taken within each group of ``by`` columns (e.g. per k in protocol F).
    Returns one note per group naming the best peer.
    """
    column = f"{metric} ÷ best peer"
    table[column] = float("nan")
    notes: list[str] = []
    if table.empty or metric not in table:
        return notes
    groups = table.groupby(by, sort=False, dropna=False) if by else [((), table)]
    for key, part in groups:
        peers = part[(part["by"] != OURS) & part[metric].notna()]
        if peers.empty:
            continue
        scores = cast(pd.Series, peers[metric])
        best = scores.idxmin() if lower_is_better else scores.idxmax()
        ours = part.index[(part["by"] == OURS).to_numpy()]
        table.loc[ours, column] = table.loc[ours, metric] / table.loc[best, metric]
        where = (
            ""
            if not by
            else " ("
            + ", ".join(
                f"{c}={v}"
                for c, v in zip(by, key if isinstance(key, tuple) else (key,), strict=True)
            )
            + ")"
        )
        notes.append(
            f"best peer on {metric}{where}: {table.loc[best, 'model']} ({table.loc[best, metric]:.4f})"
        )
    return notes


# ---------------------------------------------------------------------------- machine
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError):
        pass
    return None


def machine_info(device: torch.device | None = None) -> dict[str, str]:
    """CPU model, cores, RAM, GPU, the device used, and library versions, as display strings."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    ram = _ram_gib()
    gpu = "none"
    if torch.cuda.is_available():
        gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    versions = []
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib} {metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{lib} not installed")
    info = {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process; torch threads {torch.get_num_threads()}",
        "RAM": f"{ram:.1f} GiB" if ram else "unknown",
        "GPU": gpu,
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "libraries": ", ".join(versions),
    }
    if device is not None:
        info["device used"] = describe(device)
    return info


# ---------------------------------------------------------------------------- markdown
def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if column.endswith((" s", " ms")):  # times: two decimals, three digits below one
            return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table; NaN prints as an em dash, floats with four decimals, times with
    two (pandas' own to_markdown needs the tabulate package, which the app does not otherwise use)."""
    if table.empty:
        return "_(no rows)_"
    columns = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(["---"] * len(columns)) + "|"]
    for row in table.itertuples(index=False):
        values = [v.item() if isinstance(v, np.generic) else v for v in row]
        lines.append(
            "| " + " | ".join(_cell(v, c) for v, c in zip(values, columns, strict=True)) + " |"
        )
    return "\n".join(lines)


def render(
    results: list[ProtocolResult],
    command: str,
    ratings: Ratings,
    started: datetime,
    total_seconds: float,
    device: torch.device | None = None,
    quick: bool = False,
) -> str:
    """The whole BENCHMARKS.md document."""
    info = machine_info(device)
    out = [
        "# Benchmarks",
        "",
        "Generated by the benchmark command; do not edit by hand. Every number below comes from this run:",
        "",
        "```",
        command,
        "```",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}; total {total_seconds:.0f} s"
        + (
            " (**quick run**: a subsample, fewer epochs; not comparable with full runs)"
            if quick
            else ""
        ),
        f"- Dataset: `{ratings.name}`: {ratings.n_users:,} users, {ratings.n_items:,} films, "
        f"{len(ratings):,} ratings (fingerprint `{ratings.fingerprint}`)",
    ]
    out += [f"- {key}: {value}" for key, value in info.items()]
    out += ["", "| protocol | seconds | status |", "|---|---|---|"]
    for r in results:
        out.append(f"| {r.name} — {r.title} | {r.seconds:.1f} | {r.status} |")
    for r in results:
        out += [
            "",
            f"## {r.name}: {r.title}",
            "",
            f"_{r.seconds:.1f} s_",
            "",
            markdown_table(r.table),
        ]
        for caption, table in r.extra_tables.items():
            out += ["", f"**{caption}**", "", markdown_table(table)]
        if r.notes:
            out += [""] + [f"- {note}" for note in r.notes]
    return "\n".join(out) + "\n"


def now() -> datetime:
    return datetime.now(UTC)


# The app's own bench (``tools``, which depends on the app) writes its figures into the same
# file between these lines; the engine never runs it, and keeps that block as it finds it.
TOOLS_BEGIN = "<!-- BEGIN tools.bench -->"
TOOLS_END = "<!-- END tools.bench -->"
# Any tool outside the engine may keep a block of its own: ``<!-- BEGIN tools.<name> -->`` …
# ``<!-- END tools.<name> -->`` (tools.bench, tools.startup_timing).
_TOOLS_BLOCK_BEGIN = re.compile(r"<!-- BEGIN (tools\.[A-Za-z_]+) -->")


def kept_blocks(existing: str) -> list[str]:
    """Every tools block of ``existing`` (``<!-- BEGIN tools.x -->`` to its own ``<!-- END
    tools.x -->``, markers included), verbatim and in order.

    A BEGIN without its END raises ValueError: overwriting would lose whatever follows it."""
    blocks: list[str] = []
    rest = existing
    while (begin := _TOOLS_BLOCK_BEGIN.search(rest)) is not None:
        end_marker = f"<!-- END {begin.group(1)} -->"
        end = rest.find(end_marker, begin.start())
        if end < 0:
            raise ValueError(
                f"{begin.group(0)} without {end_marker}: mend the file before the bench overwrites it"
            )
        end += len(end_marker)
        blocks.append(rest[begin.start() : end])
        rest = rest[end:]
    return blocks


def write_report(path: Path, document: str) -> None:
    """Write the benchmark ``document`` to ``path``, keeping (at its end, untouched) every block
    that ``tools.bench`` wrote into the file already there."""
    blocks = kept_blocks(path.read_text(encoding="utf-8")) if path.exists() else []
    text = document if not blocks else document.rstrip("\n") + "\n\n" + "\n\n".join(blocks) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


__all__ = [
    "TOOLS_BEGIN",
    "TOOLS_END",
    "BenchContext",
    "ProtocolResult",
    "kept_blocks",
    "machine_info",
    "markdown_table",
    "now",
    "render",
    "write_report",
]
