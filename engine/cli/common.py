"""Options shared by subcommands: which dataset, which device (hyperparameter overrides are
parsed by ``engine.models.config.parse_params``, which bench scripts below the CLI use too)."""

from __future__ import annotations

import argparse

from engine.data import load_embedded
from engine.data.movielens import load_dataset
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
        return load_embedded()
    return load_dataset(path)
