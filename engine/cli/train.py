"""``python -m engine train --model mf``: fit, report the held-out score, save the artifact.

Hyperparameters are set with ``--set name=value`` (values read as JSON: ``factors=32``,
``adaptive=true``, ``implicit_params={"factors": 64}``) and checked against the model's
declarations (``Config.declarations()``) before the data is even loaded: a wrong name, type or
value ends with a message naming the field and what is allowed, exit code 2, and nothing trains.
``--help`` lists every model's hyperparameters with their range, default and meaning;
``--model X --help`` only X's.

For als, mf, pmf and the hybrid a checkpoint is saved as training goes; after Ctrl-C (exit code
130) the same command resumes where it stopped, and ``--fresh`` starts over instead.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tqdm.auto import tqdm

from engine.cli.common import add_data_options, load_data
from engine.models import REGISTRY, Param, model_class
from engine.models.config import parse_params
from engine.progress import tqdm_progress
from engine.train import TrainingInterrupted, model_dir, train_model

DEFAULT = "mf"


def describe(spec: Param) -> str:
    """One hyperparameter in one line: name, what is allowed, default, meaning."""
    return f"{spec.name} — {spec.allowed()}; default {spec.default!r}. {spec.help}"


def hyperparameter_help(names: list[str]) -> str:
    """The hyperparameters of ``names``, for ``--help``; read from the declarations, so this
    list cannot drift from what the models accept."""
    lines = ["hyperparameters (--set NAME=VALUE, checked before anything trains):"]
    for name in names:
        try:
            declared = model_class(name).hyperparameters()
        except (ImportError, AttributeError) as exc:  # a broken install: say so, list the rest
            lines.append(f"  {name}: unavailable ({exc})")
            continue
        lines.append(f"  {name}:")
        lines += [f"    {describe(spec)}" for spec in declared]
    return "\n".join(lines)


class _Help(argparse.Action):
    """``--help`` that lists the hyperparameters of ``--model`` when it came first, else all."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show this help and exit")

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        chosen = getattr(namespace, "model", None)
        parser.epilog = hyperparameter_help([chosen] if chosen else sorted(REGISTRY))
        parser.print_help()
        parser.exit()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model and save it under data/models/",
        add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fit a model on the whole dataset (after a held-out fit that measures it) "
        "and save it under data/models/.",
    )
    p.add_argument("-h", "--help", action=_Help)
    p.add_argument("--model", choices=sorted(REGISTRY), help=f"model family (default {DEFAULT})")
    p.add_argument(
        "--set",
        nargs="*",
        metavar="NAME=VALUE",
        help="hyperparameter values, e.g. factors=32 epochs=20 (see the list below)",
    )
    p.add_argument(
        "--no-eval", action="store_true", help="skip the held-out fit and its score (faster)"
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="ignore the checkpoint of an interrupted run and train from the first epoch",
    )
    add_data_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    name = args.model or DEFAULT
    params = parse_params(args.set)
    model_class(name).config_class.from_dict(params)  # ValueError naming the field: exit 2
    dataset = load_data(args.data)
    print(
        f"dataset: {dataset.name}: {len(dataset):,} ratings, {dataset.n_users:,} users, {dataset.n_items:,} films"
    )
    progress, close = tqdm_progress(f"training {name}")
    try:
        _, metrics = train_model(
            name,
            dataset,
            progress=progress,
            device=args.device,
            params=params,
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
    elif "protocol_r" in metrics:
        r = metrics["protocol_r"]
        print(
            f"protocol R (a fifth of each user's ratings held out, seed 0): NDCG@10 {r['ndcg']:.4f}, "
            f"recall@10 {r['recall']:.4f}, fit {r['fit_seconds']:.1f} s on {r['n_train']:,} ratings"
        )
    print(f"full-data fit {metrics['fit_seconds']:.1f} s; saved to {model_dir(dataset, name)}")
    return 0
