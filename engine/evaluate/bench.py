"""``python -m engine bench``: run the protocols, print one table each, write docs/BENCHMARKS.md.

Protocol modules are imported by name when they run (the CLI starts fast); one that fails to
import or raises is reported as "failed", with the error, while the others still run. The app's
own timings are not an engine protocol: ``tools`` measures them and keeps its block in the same
file (``engine.evaluate.report.write_report`` leaves that block as it finds it).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.evaluate.report import BenchContext, ProtocolResult, markdown_table, now, render
from engine.progress import Progress, tqdm_progress

PROTOCOLS: dict[str, str] = {
    "E": "engine.evaluate.protocol_e",
    "R": "engine.evaluate.protocol_r",
    "F": "engine.evaluate.protocol_f",
    "G": "engine.evaluate.protocol_g",
    "Elicit": "engine.evaluate.protocol_elicit",
    "S": "engine.evaluate.protocol_s",
    "Graph": "engine.evaluate.protocol_graph",
}
DEFAULT_OUTPUT = Path("docs/BENCHMARKS.md")
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
    from engine.models import REGISTRY

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
) -> BenchRun:
    """Run ``protocols`` on ``ratings`` (subsampled first when ``quick``) and render the report."""
    from engine.device import resolve

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

        def bar(name: str) -> Progress:
            update, close = tqdm_progress(f"protocol {name}")
            closers.append(close)
            return update

        ctx.progress_factory = bar
    results = []
    for name in protocols:
        result = run_protocol(name, ctx)
        while closers:
            closers.pop()()
        results.append(result)
        echo(format_result(result))
    seconds = time.perf_counter() - start
    document = render(results, command, data, started, seconds, device=ctx.device, quick=quick)
    return BenchRun(results, document, seconds)


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
