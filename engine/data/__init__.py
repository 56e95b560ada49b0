"""MovieLens data: the ``Ratings`` container, loaders and the evaluation splits."""

from engine.data.embedded import load_embedded
from engine.data.errors import DatasetError, DatasetWarning
from engine.data.movielens import load_dataset, load_folder
from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.data.splits import FoldInSplit, split_e, split_f, split_r, validation_split

__all__ = [
    "MAX_RATING",
    "MIN_RATING",
    "DatasetError",
    "DatasetWarning",
    "FoldInSplit",
    "Ratings",
    "load_dataset",
    "load_embedded",
    "load_folder",
    "split_e",
    "split_f",
    "split_r",
    "validation_split",
]
