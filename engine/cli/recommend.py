"""``python -m engine recommend --rate "Toy Story (1995)=5" ...``: fold in a new person, print a top 10."""

from __future__ import annotations

import argparse

import numpy as np

from engine.cli.common import add_data_options, load_data
from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.models import REGISTRY
from engine.progress import tqdm_progress
from engine.train import load_or_train


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recommend", help="fold in a new person from a few ratings and print their top films"
    )
    p.add_argument("--model", default="mf", choices=sorted(REGISTRY))
    p.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar='"TITLE (YEAR)=STARS"',
        help="a rating; repeat the option",
    )
    p.add_argument("-k", type=int, default=10, help="how many films to list")
    add_data_options(p)
    p.set_defaults(func=run)


def parse_rating(text: str, dataset: Ratings) -> tuple[int, float]:
    """ "Toy Story (1995)=4.5" → (item index, 4.5), with messages a person can act on."""
    title, sep, stars = text.rpartition("=")
    if not sep or not title.strip():
        raise ValueError(f'--rate expects "Title (Year)=stars", got {text!r}')
    try:
        value = float(stars)
    except ValueError:
        raise ValueError(f"{stars!r} is not a number of stars (in {text!r})") from None
    if not (MIN_RATING <= value <= MAX_RATING) or value * 2 != round(value * 2):
        raise ValueError(f"stars must be 0.5 to 5 in half steps, got {stars!r}")
    return dataset.find(title), value


def run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise ValueError("-k must be at least 1")
    dataset = load_data(args.data)
    pairs = [parse_rating(text, dataset) for text in args.rate]
    items = np.array([i for i, _ in pairs], dtype=np.int64)
    if len(set(items.tolist())) != len(items):
        raise ValueError("the same film is rated twice")
    values = np.array([v for _, v in pairs], dtype=np.float32)
    progress, close = tqdm_progress(f"preparing {args.model}")
    try:
        model, message = load_or_train(args.model, dataset, progress=progress, device=args.device)
    finally:
        close()
    print(message)
    scores = model.score(model.fold_in(items, values)).numpy().astype(np.float64)
    scores[items] = -np.inf
    top = np.lexsort((np.arange(len(scores)), -scores))[: args.k]
    unit = "★ predicted" if model.kind == "explicit" else "score"
    print(f"\nTop {len(top)} for someone who rated {len(items)} film(s):")
    for rank, item in enumerate(top, 1):
        print(
            f"{rank:>3}. {dataset.labels[item]}  —  {scores[item]:.2f} {unit}  [{dataset.movies['genres'].iloc[item]}]"
        )
    return 0
