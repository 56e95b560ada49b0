"""``python -m engine bench``: run the protocols, print one table each, write docs/BENCHMARKS.md.

Protocol modules are imported by name when they run (the CLI starts fast); one that fails to
import or raises is reported as "failed", with the error, while the others still run. The app's
own timings are not an engine protocol: ``tools`` measures them and keeps its block in the same
file (``engine.evaluate.report.write_report`` leaves that block as it finds it).
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.device import resolve
from engine.evaluate.report import BenchContext, ProtocolResult, markdown_table, now, render
from engine.models import REGISTRY
from engine.progress import Progress, tqdm_progress

PROTOCOLS: dict[str, str] = {
    "E": "engine.evaluate.protocol_e",
    "R": "engine.evaluate.protocol_r",
    "F": "engine.evaluate.protocol_f",
    "G": "engine.evaluate.protocol_g_report",
    "Elicit": "engine.evaluate.protocol_elicit",
    "S": "engine.evaluate.protocol_s",
    "Graph": "engine.evaluate.protocol_graph",
    "Similar": "engine.evaluate.protocol_similar",
}
DEFAULT_OUTPUT = Path("docs/BENCHMARKS.md")
# Protocols whose figures are times: with --jobs they run after the others, alone on the machine.
TIMING_PROTOCOLS = ("S",)
QUICK_USERS = 150
QUICK_MIN_RATERS = 3


def parse_protocols(text: str | None) -> list[str]:
    """``"e,r"`` -> ``["E", "R"]`` (case-insensitive, in the order given); clear error otherwise."""
    if not text:
        return list(PROTOCOLS)
    by_lower = {name.lower(): name for name in PROTOCOLS}
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() not in by_lower:
            raise ValueError(f"unknown protocol {part!r}; choose from {','.join(PROTOCOLS)}")
        if by_lower[part.lower()] not in out:
            out.append(by_lower[part.lower()])
    return out


def parse_models(text: str | None) -> list[str] | None:
    """``"mf,als"`` -> names checked against the registry; None means every registered model."""
    if not text:
        return None

    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; choose from {','.join(REGISTRY)}")
    return names


def parse_ks(text: str | None) -> tuple[int, ...] | None:
    """``"5,10,20"`` -> (5, 10, 20); ``"none"`` -> (); None keeps the default."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    if not text.strip(" ,"):
        raise ValueError("--retrain-k expects numbers like 5,10,20 or 'none', got an empty value")
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValueError(
            f"--retrain-k expects numbers like 5,10,20 or 'none', got {text!r}"
        ) from None


def quick_sample(
    ratings: Ratings, n_users: int = QUICK_USERS, min_raters: int = QUICK_MIN_RATERS
) -> Ratings:
    """A small, re-indexed slice for CI: ``n_users`` random users (default_rng(0)) and the films
    at least ``min_raters`` of them rated."""
    rng = np.random.default_rng(0)
    users = rng.choice(ratings.n_users, size=min(n_users, ratings.n_users), replace=False)
    keep = np.isin(ratings.users, users)
    counts = np.bincount(ratings.items[keep], minlength=ratings.n_items)
    keep &= counts[ratings.items] >= min_raters
    frame = pd.DataFrame(
        {
            "userId": ratings.user_ids[ratings.users[keep]],
            "movieId": ratings.item_ids[ratings.items[keep]],
            "rating": ratings.values[keep],
        }
    )
    films = ratings.movies.loc[ratings.movies["movieId"].isin(frame["movieId"])]
    films = films.reindex(columns=["movieId", "title", "year", "genres"])
    return Ratings.from_frames(frame, films, name=f"{ratings.name}-quick")


def run_protocol(name: str, ctx: BenchContext) -> ProtocolResult:
    """Import and run one protocol; an exception (on import or while running) is "failed"."""
    start = time.perf_counter()
    try:
        result = import_module(PROTOCOLS[name]).run(ctx)
    except Exception as err:  # one broken protocol must not hide the others' figures
        return _failed(name, err, start)
    if not result.seconds:
        result.seconds = time.perf_counter() - start
    return result


def _failed(name: str, err: BaseException, start: float) -> ProtocolResult:
    where = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    note = f"failed: {type(err).__name__}: {err}{at}"
    return ProtocolResult(
        name, "failed", pd.DataFrame(), [note], time.perf_counter() - start, status="failed"
    )


@dataclass
class BenchRun:
    results: list[ProtocolResult]
    document: str
    seconds: float


def _bars(closers: list[Callable[[], None]]) -> Callable[[str], Progress]:
    """A progress factory of tqdm bars; each bar's close is appended to ``closers``."""

    def bar(name: str) -> Progress:
        update, close = tqdm_progress(f"protocol {name}")
        closers.append(close)
        return update

    return bar


def _run_all(
    protocols: Sequence[str],
    ctx: BenchContext,
    jobs: int,
    closers: list[Callable[[], None]],
    echo: Callable[[str], None],
) -> dict[str, ProtocolResult]:
    """Every protocol's result by name: with ``jobs > 1`` the quality protocols in worker
    processes first; the rest (all of them when ``jobs`` is 1) one by one in this process,
    each one's progress bars closed after it."""
    by_name: dict[str, ProtocolResult] = {}
    if jobs > 1:
        parallel = [name for name in protocols if name not in TIMING_PROTOCOLS]
        for name, result in _run_in_processes(parallel, ctx, jobs):
            by_name[name] = result
            echo(format_result(result))
    for name in protocols:
        if name in by_name:
            continue
        result = run_protocol(name, ctx)
        while closers:
            closers.pop()()
        by_name[name] = result
        echo(format_result(result))
    return by_name


def bench(
    ratings: Ratings,
    protocols: Sequence[str],
    *,
    quick: bool = False,
    models: list[str] | None = None,
    device: torch.device | None = None,
    peers: bool = True,
    skip_slow_peers: bool = False,
    retrain_ks: tuple[int, ...] | None = None,
    progress_factory: Callable[[str], Progress] | None = None,
    show_progress: bool = False,
    command: str = "python -m engine bench",
    echo: Callable[[str], None] = lambda text: None,
    jobs: int = 1,
) -> BenchRun:
    """Run ``protocols`` on ``ratings`` (subsampled first when ``quick``) and render the report.

    ``jobs > 1`` runs the quality protocols in that many worker processes at once (each with its
    share of the cores, no progress bars) and the timing protocols (``TIMING_PROTOCOLS``) after
    them, alone; figures are the same as with ``jobs=1`` (every protocol seeds itself), only the
    fit seconds inside quality tables are measured on a shared machine."""
    started = now()
    start = time.perf_counter()
    data = quick_sample(ratings) if quick else ratings
    ctx = BenchContext(
        ratings=data,
        quick=quick,
        models=models,
        device=resolve(device),
        peers=peers,
        skip_slow_peers=skip_slow_peers,
        retrain_ks=retrain_ks,
    )
    closers: list[Callable[[], None]] = []
    if progress_factory is not None:
        ctx.progress_factory = progress_factory
    elif show_progress:
        ctx.progress_factory = _bars(closers)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    by_name = _run_all(protocols, ctx, jobs, closers, echo)
    results = [by_name[name] for name in protocols]
    seconds = time.perf_counter() - start
    document = render(results, command, data, started, seconds, device=ctx.device, quick=quick)
    return BenchRun(results, document, seconds)


def _run_in_processes(
    names: Sequence[str], ctx: BenchContext, jobs: int
) -> Iterator[tuple[str, ProtocolResult]]:
    """Each of ``names`` in a spawned worker process, ``jobs`` at a time, as they finish.

    Why processes, not threads: the protocols' evaluation loops are Python and numpy code that
    holds the GIL, and torch's own threads do not keep two cores busy on data this small."""
    settings = {
        "ratings": ctx.ratings,
        "quick": ctx.quick,
        "models": ctx.models,
        "device": ctx.device,
        "peers": ctx.peers,
        "skip_slow_peers": ctx.skip_slow_peers,
        "retrain_ks": ctx.retrain_ks,
    }
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(
        max_workers=min(jobs, max(1, len(names))), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = {
            pool.submit(_protocol_in_worker, name, settings, threads): name for name in names
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def _protocol_in_worker(name: str, settings: dict[str, Any], threads: int) -> ProtocolResult:
    """One protocol in a worker process with ``threads`` torch threads (module level: spawn
    pickles it by name)."""
    torch.set_num_threads(threads)
    return run_protocol(name, BenchContext(**settings))


def format_result(result: ProtocolResult) -> str:
    """One protocol as text for the terminal: heading, table, notes."""
    lines = [f"\n== {result.name}: {result.title} ({result.seconds:.1f} s, {result.status})"]
    if not result.table.empty:
        lines.append(markdown_table(result.table))
    for caption, table in result.extra_tables.items():
        lines += [f"\n{caption}", markdown_table(table)]
    lines += [f"  - {note}" for note in result.notes]
    return "\n".join(lines)


__all__ = [
    "DEFAULT_OUTPUT",
    "PROTOCOLS",
    "BenchRun",
    "bench",
    "parse_models",
    "parse_protocols",
    "quick_sample",
    "run_protocol",
]
