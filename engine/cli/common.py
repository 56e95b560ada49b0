"""Options shared by subcommands: which dataset, which device, hyperparameter overrides."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.data.ratings import Ratings


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="a MovieLens folder (default: the embedded latest-small sample)",
    )
    parser.add_argument(
        "--device", help="torch device, e.g. cpu or cuda (default: CUDA when present)"
    )


def load_data(path: str | None) -> Ratings:
    if path is None:
        from engine.data import load_embedded

        return load_embedded()
    from engine.data.movielens import load_dataset

    return load_dataset(path)


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["factors=32", "lr=0.01"]`` → ``{"factors": 32, "lr": 0.01}`` (values parsed as JSON when they can be)."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params
