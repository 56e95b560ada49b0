"""``python -m engine tune MODEL[:STAGE]``: rerun the validation search that chose a model's
defaults (``engine.tuning.SEARCHES``) and print its table and winner; ``tune fair`` reruns the
group strategy's search (protocol G on tuning splits that the benchmark never reports)."""

from __future__ import annotations

import argparse

import pandas as pd

from engine.cli.common import add_data_options, load_data
from engine.progress import Progress, silent, tqdm_progress
from engine.tuning.generalise import describe
from engine.tuning.searches import SEARCHES, run_search


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tune", help="rerun the validation search behind a model's defaults (or 'fair')"
    )
    p.add_argument(
        "search",
        choices=[*sorted(SEARCHES), "fair"],
        metavar="MODEL[:STAGE]",
        help=f"one of {', '.join([*sorted(SEARCHES), 'fair'])}",
    )
    p.add_argument("--seed", type=int, default=100, help="seed of the validation split")
    p.add_argument("--metric", default=None, help="rank by this column instead (e.g. auc)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (fair)")
    add_data_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ratings = load_data(args.data)
    if args.search == "fair":
        return _fair(ratings, progress=not args.no_progress, single=args.data is not None)
    protocol, best, table = run_search(args.search, ratings, seed=args.seed, metric=args.metric)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False))
    by = f", by {args.metric}" if args.metric else ""
    print(f"best for {args.search} (protocol {protocol}, seed {args.seed}{by}): {best}")
    return 0


def _fair(ratings, progress: bool, single: bool) -> int:
    # protocol G's scipy.stats would add ~0.6 s (a third) to every `python -m engine`, --help too
    from engine.tuning.groups import tune_fair  # noqa: PLC0415  startup cost (scipy.stats)

    bars = []

    def progress_factory(label: str) -> Progress:
        if not progress:
            return silent
        bar, close = tqdm_progress(label)
        bars.append(close)
        return bar

    try:
        result = tune_fair({"data": ratings} if single else None, progress_factory=progress_factory)
    finally:
        for close in bars:
            close()
    print(result.text())
    print(f"default strategy: {result.best['strategy']} ({describe(result.best)})")
    return 0
