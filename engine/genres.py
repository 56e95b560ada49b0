"""A film's genre family and its label as people say it: what every Explore view colours,
groups and names a film by.

MovieLens lists up to ten genre tags per film, alphabetically; colouring by one of 19 tags gave
colours nobody could tell apart, and the rarest tag drew Forrest Gump as a war film. Here the
tags fold into nine familiar families and a film takes the first family of ``PRIMARY_ORDER``
it has.
"""

from __future__ import annotations

import numpy as np

from engine.data.ratings import Ratings
from engine.titles import natural_label

#: The genre a film is drawn and grouped by: the first of these it lists, after folding each
#: genre into its family (``GENRE_FAMILY``). Nine familiar families rather than 19 tags, so the
#: palette stays small enough to tell apart, and the order puts what people call a film first:
#: Toy Story is animation, The Matrix science fiction, Forrest Gump (Comedy|Drama|Romance|War)
#: a drama, Pulp Fiction crime.
PRIMARY_ORDER = (
    "Animation",
    "Documentary",
    "Horror",
    "Sci-Fi",
    "Action",
    "Crime",
    "Drama",
    "Comedy",
    "Romance",
)
#: Each MovieLens genre's family (a genre that is its own family is left out).
GENRE_FAMILY = {
    "Children": "Animation",
    "Fantasy": "Sci-Fi",
    "Adventure": "Action",
    "Western": "Action",
    "Thriller": "Crime",
    "Mystery": "Crime",
    "Film-Noir": "Crime",
    "War": "Drama",
    "Musical": "Comedy",
}
#: The families in plain words, for legends.
FAMILY_LABELS = {
    "Animation": "Animation & family",
    "Documentary": "Documentary",
    "Horror": "Horror",
    "Sci-Fi": "Sci-fi & fantasy",
    "Action": "Action & adventure",
    "Crime": "Crime & thriller",
    "Drama": "Drama",
    "Comedy": "Comedy",
    "Romance": "Romance",
}


#: The main genre of a film that lists none.
NO_GENRE = "(no genre)"


def primary_genre(genres: list[str]) -> str:
    """A film's family by ``PRIMARY_ORDER`` (see there); a genre outside MovieLens's list (another
    dataset folder) stands for itself; ``NO_GENRE`` without any."""
    families = {GENRE_FAMILY.get(g, g) for g in genres if g != "IMAX"}
    for family in PRIMARY_ORDER:
        if family in families:
            return family
    return min(families) if families else NO_GENRE


def main_genres(catalogue: Ratings) -> np.ndarray:
    """One genre family per film (``primary_genre``), for colouring and grouping; genres come
    from ``catalogue.stats`` (the one parser)."""
    return np.array([primary_genre(g) for g in catalogue.stats.genre_lists], dtype=object)


def natural_labels(catalogue: Ratings) -> np.ndarray:
    """Every film's label as people say it, "The Matrix (1999)" (``engine.titles``)."""
    movies = catalogue.movies
    return np.array(
        [natural_label(t, y) for t, y in zip(movies["title"], movies["year"], strict=True)],
        dtype=object,
    )


__all__ = [
    "FAMILY_LABELS",
    "GENRE_FAMILY",
    "NO_GENRE",
    "PRIMARY_ORDER",
    "main_genres",
    "natural_labels",
    "primary_genre",
]
