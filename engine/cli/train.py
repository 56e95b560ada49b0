"""``python -m engine train --model mf``: fit, report protocol E's test RMSE, save the artifact.

For als, mf and pmf a checkpoint is saved every epoch; after Ctrl-C (exit code 130) the same
command resumes from the last saved epoch, and ``--fresh`` starts over instead.
"""

from __future__ import annotations

import argparse
import sys

from engine.cli.common import add_data_options, load_data, parse_params
from engine.models import REGISTRY
from engine.progress import tqdm_progress
from engine.train import TrainingInterrupted, model_dir, train_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model and save it under data/models/")
    p.add_argument("--model", default="mf", choices=sorted(REGISTRY))
    p.add_argument(
        "--set", nargs="*", metavar="KEY=VALUE", help="hyperparameter overrides, e.g. factors=32"
    )
    p.add_argument("--no-eval", action="store_true", help="skip the held-out protocol E evaluation")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="ignore the checkpoint of an interrupted run and train from the first epoch",
    )
    add_data_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    dataset = load_data(args.data)
    print(
        f"dataset: {dataset.name}: {len(dataset):,} ratings, {dataset.n_users:,} users, {dataset.n_items:,} films"
    )
    from tqdm.auto import tqdm

    progress, close = tqdm_progress(f"training {args.model}")
    try:
        model, metrics = train_model(
            args.model,
            dataset,
            progress=progress,
            device=args.device,
            params=parse_params(args.set),
            evaluate=not args.no_eval,
            resume=True,
            fresh=args.fresh,
            log=tqdm.write,  # above the progress bar
        )
    except TrainingInterrupted as stop:
        close()  # the bar first, then the one line
        print(stop.message, file=sys.stderr)
        return 130
    finally:
        close()  # closing twice is harmless
    if "protocol_e" in metrics:
        e = metrics["protocol_e"]
        print(
            f"protocol E (80/20 shuffle, seed 0): test RMSE {e['rmse']:.4f}, fit {e['fit_seconds']:.1f} s on {e['n_train']:,} ratings"
        )
    elif model.kind == "implicit":
        print("implicit model: see `python -m engine bench --protocols R` for its ranking metrics")
    print(
        f"full-data fit {metrics['fit_seconds']:.1f} s; saved to {model_dir(dataset, args.model)}"
    )
    return 0
