"""MovieLens data: the ``Ratings`` container, loaders and the evaluation splits."""

from engine.data.embedded import load_embedded
from engine.data.errors import DatasetError, DatasetWarning
from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.data.splits import FoldInSplit, split_e, split_f, split_r, validation_split

__all__ = [
    "MAX_RATING",
    "MIN_RATING",
    "DatasetError",
    "DatasetWarning",
    "FoldInSplit",
    "Ratings",
    "load_embedded",
    "split_e",
    "split_f",
    "split_r",
    "validation_split",
]
