"""The command line. Each subcommand is a module here exposing ``register(subparsers)``, which
adds its parser and sets ``func`` (``run(args) -> int``)."""

from __future__ import annotations

import argparse
import sys

from engine.cli import bench, recommend, train, tune

COMMANDS = {"train": train, "recommend": recommend, "bench": bench, "tune": tune}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine", description="Movie Night's recommender engine"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
        # user-facing errors (bad data folder, unknown film or model) end with a message, not a trace
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2
