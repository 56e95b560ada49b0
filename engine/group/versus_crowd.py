"""What this room will love more than the crowd: films the members are expected to rate well
above the film's average rating in the catalogue.

Explore's "Loved & hated" ranks films by the model's film bias, which is the same for every room.
This is the room's own version: for each film no member has rated, the room's expected stars
(the mean of each member's expected stars) minus the crowd's mean rating. A film everybody loves
(The Shawshank Redemption) rarely tops it, because the crowd loves it too; a film the crowd is
lukewarm about but that suits these members' tastes does.

Two guards keep the list honest:

* the crowd's mean needs ``min_ratings`` ratings (a film rated twice has no crowd opinion), and
* the room must expect at least ``at_least`` stars: "3.1★ where the crowd gives 2.2★" is more
  than the crowd, but not love; and more than the crowd's mean, or it is not "more" at all
  (a room of harsh raters may get an empty list, which is the truth).

The engine returns a frame; the app words and draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.data.ratings import Ratings
from engine.genres import natural_labels


def room_loves_more(
    expected: np.ndarray,
    names: Sequence[str],
    catalogue: Ratings,
    seen: np.ndarray,
    min_ratings: int = 30,
    at_least: float = 3.5,
    n: int = 10,
) -> pd.DataFrame:
    """Films the room is expected to rate furthest above the crowd, best first.

    Parameters
    ----------
    expected
        Expected stars, one row per member (in ``names``' order), one column per film of
        ``catalogue`` (a model's ``expected_stars`` for each member's folded-in state).
    names
        The members' names, for the per-member columns.
    catalogue
        The ratings the model was trained on: the crowd's mean rating and count per film.
    seen
        Item indices some member has rated: left out (the list is for films still to watch).
    min_ratings, at_least, n
        At least this many crowd ratings; the room's mean at least this many stars; this many
        films.

    Returns
    -------
    pandas.DataFrame
        ``item``, ``label``, ``n_ratings``, ``crowd`` (mean rating), ``room`` (members' mean
        expected stars), ``gap`` (``room - crowd``) and one column of expected stars per member
        (named ``stars:<name>``), sorted by ``gap`` (ties: more ratings first, then item index).
    """
    stars = np.asarray(expected, dtype=np.float64)
    if stars.ndim != 2 or stars.shape != (len(names), catalogue.n_items):
        raise ValueError(
            f"expected stars must be members × films ({len(names)} × {catalogue.n_items}), "
            f"got {stars.shape}"
        )
    counts, crowd = catalogue.stats.counts, catalogue.stats.means
    room = stars.mean(axis=0) if len(names) else np.full(catalogue.n_items, np.nan)
    keep = (counts >= max(int(min_ratings), 1)) & (room >= at_least) & (room > crowd)
    keep[np.asarray(seen, dtype=np.int64)] = False
    items = np.flatnonzero(keep)
    frame = pd.DataFrame(
        {
            "item": items.astype(np.int64),
            "label": natural_labels(catalogue)[items],
            "n_ratings": counts[items].astype(np.int64),
            "crowd": crowd[items],
            "room": room[items],
            "gap": room[items] - crowd[items],
        }
    )
    for row, name in enumerate(names):
        frame[f"stars:{name}"] = stars[row, items]
    frame = frame.sort_values(["gap", "n_ratings", "item"], ascending=[False, False, True])
    return frame.head(n).reset_index(drop=True)
