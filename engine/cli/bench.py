"""``python -m engine bench``: every protocol of docs/PROTOCOLS.md, peers side by side, one table each.

A full run writes docs/BENCHMARKS.md; a quick or partial run writes only where ``--output`` says,
so a CI or debugging run never overwrites the published figures.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from engine.cli.common import add_data_options, load_data
from engine.evaluate.report import write_report
from engine.evaluate.run_protocols import (
    DEFAULT_OUTPUT,
    PROTOCOLS,
    bench,
    parse_ks,
    parse_models,
    parse_protocols,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="run the offline benchmark protocols and write docs/BENCHMARKS.md"
    )
    p.add_argument(
        "--protocols",
        default=",".join(PROTOCOLS),
        help=f"comma-separated subset of {','.join(PROTOCOLS)} (default: all)",
    )
    p.add_argument(
        "--models",
        help="comma-separated model names (default: every registered model that applies)",
    )
    p.add_argument("--quick", action="store_true", help="a small subsample and few epochs, for CI")
    p.add_argument(
        "--skip-slow-peers", action="store_true", help="skip slow peers (Surprise SVD++)"
    )
    p.add_argument("--no-peers", action="store_true", help="measure our models only")
    p.add_argument(
        "--retrain-k",
        metavar="K,K",
        help="protocol F: k values whose fold-in is compared with a full retrain (default 10; 'none')",
    )
    p.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the markdown report (default: docs/BENCHMARKS.md, full runs only)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run the quality protocols in N processes at once (no progress bars), then the timing "
        "protocol S alone; same figures, less wall time on a machine with idle cores",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_data_options(p)
    p.set_defaults(func=run)


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run, for the report."""
    parts = ["python", "-m", "engine", "bench"]
    if parse_protocols(args.protocols) != list(PROTOCOLS):
        parts += ["--protocols", args.protocols]
    given = vars(args)  # every option the parser defines, None or False where not given
    if given.get("jobs", 1) != 1:
        parts += ["--jobs", str(given["jobs"])]
    for flag in ("models", "retrain_k", "data", "device", "output"):
        if given.get(flag):
            parts += [f"--{flag.replace('_', '-')}", str(given[flag])]
    for flag in ("quick", "skip_slow_peers", "no_peers"):
        if given.get(flag):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join(parts)


def output_path(args: argparse.Namespace) -> Path | None:
    """Where the report goes: --output if given; docs/BENCHMARKS.md only for a full default run."""
    if args.output:
        return Path(args.output)
    full = not args.quick and parse_protocols(args.protocols) == list(PROTOCOLS) and not args.models
    return DEFAULT_OUTPUT if full else None


def run(args: argparse.Namespace) -> int:
    protocols = parse_protocols(args.protocols)
    models = parse_models(args.models)
    ratings = load_data(args.data)
    print(
        f"dataset: {ratings.name}: {len(ratings):,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} films"
    )
    outcome = bench(
        ratings,
        protocols,
        quick=args.quick,
        models=models,
        device=args.device,
        peers=not args.no_peers,
        skip_slow_peers=args.skip_slow_peers,
        retrain_ks=parse_ks(args.retrain_k),
        show_progress=not args.no_progress,
        command=command_line(args),
        echo=lambda text: print(text, flush=True),
        jobs=args.jobs,
    )
    target = output_path(args)
    if target is not None:
        write_report(target, outcome.document)
        print(f"\nwrote {target} ({outcome.seconds:.0f} s in all)")
    else:
        print(
            f"\n{outcome.seconds:.0f} s in all; report not written (quick or partial run: pass --output PATH)"
        )
    failed = [r.name for r in outcome.results if r.status == "failed"]
    if failed:
        print(f"protocols that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
