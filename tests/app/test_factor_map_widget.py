"""The factor map figure: legend below the plot, members' names where they do not overlap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.widgets.factor_map import (
    CHAR_WIDTH,
    LABEL_HEIGHT,
    LABEL_SPOTS,
    MEMBER_REACH,
    SPOT_ANCHORS,
    axis_ends,
    factor_map_figure,
    label_positions,
    member_positions,
)


def boxes(xs, ys, names, spots):
    out = []
    offsets = {name: (dx, dy) for name, dx, dy in LABEL_SPOTS}
    for x, y, name, spot in zip(xs, ys, names, spots, strict=True):
        w, h = len(name) * CHAR_WIDTH, LABEL_HEIGHT
        dx, dy = offsets[spot]
        out.append((x + dx * w, y + dy * h, x + dx * w + w, y + dy * h + h))
    return out


def overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_members_at_the_same_spot_get_labels_that_do_not_overlap():
    names = ["Annabelle", "Bob", "Cy", "Dee"]
    xs, ys = np.zeros(4), np.zeros(4)  # four members who rated nothing: all in the centre
    spots = label_positions(xs, ys, names, span=(1.0, 1.0))
    assert len(set(spots)) == 4
    placed = boxes(xs, ys, names, spots)
    assert not any(overlaps(placed[i], placed[j]) for i in range(4) for j in range(i + 1, 4))
    # members far apart keep the first choice, above their star
    assert label_positions([0.0, 1.0], [0.0, 1.0], ["A", "B"], (1.0, 1.0)) == ["top center"] * 2
    assert set(SPOT_ANCHORS) == {name for name, _, _ in LABEL_SPOTS}


def films_frame(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "title": [f"Film {i}" for i in range(n)],
            "year": pd.array([1990 + i for i in range(n)], dtype="Int64"),
            "genres": ["Drama|Comedy"] * n,
            "main_genre": ["Drama", "Comedy", "Action"] * (n // 3),
            "n_ratings": np.arange(n) + 1,
            "mean_rating": np.full(n, 3.5),
        }
    )


def test_legend_sits_below_the_plot_and_names_are_escaped_annotations():
    members = pd.DataFrame(
        {"member": ["<b>Ann</b>", "Bob"], "n_ratings": [3, 0], "x": [0.1, 0.0], "y": [0.1, 0.0]}
    )
    fig = factor_map_figure(films_frame(), members, np.array([0.2, 0.1]), (0, 1))
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.y is not None and legend.y < 0
    (stars,) = [t for t in fig.data if t.name == "room members"]
    assert stars.type == "scattergl"  # drawn on the films' canvas, after them: on top
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["&lt;b&gt;Ann&lt;/b&gt;", "Bob"]
    year = factor_map_figure(films_frame(), members, np.array([0.2, 0.1]), (0, 1), "year")
    bar = year.data[0].marker.colorbar
    assert bar.orientation == "h" and bar.y < 0


def test_members_reach_the_films_extent_and_opposite_tastes_look_opposite():
    films = films_frame()
    films["label"] = [f"Film {i}" for i in range(len(films))]
    extent = float(np.hypot(films["x"], films["y"]).max())
    # the engine's directions are tiny next to the films' coordinates
    members = pd.DataFrame(
        {"member": ["Maya", "Tom", "New"], "n_ratings": [5, 5, 0], "x": [0.02, -0.01, 0.0],
         "y": [0.01, -0.005, 0.0]}
    )  # fmt: skip
    xs, ys = member_positions(films, members)
    assert np.hypot(xs[0], ys[0]) == pytest.approx(MEMBER_REACH * extent)
    assert (xs[1], ys[1]) == pytest.approx((-xs[0] / 2, -ys[0] / 2))  # opposite, half as far
    assert (xs[2], ys[2]) == (0.0, 0.0)  # rated nothing: the centre


def test_axes_are_named_by_the_well_known_films_at_their_ends():
    films = pd.DataFrame(
        {
            "x": [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0],
            "y": [0.0] * 6,
            "label": ["Taxi Driver (1976)", "Annie Hall (1977)", "Mid", "Obscure", "Armageddon",
                      "Independence Day"],
            "n_ratings": [100, 90, 80, 1, 70, 60],
        }
    )  # fmt: skip
    assert axis_ends(films, "x") == (
        "← Taxi Driver (1976), Annie Hall (1977) … Independence Day, Armageddon →"
    )
    assert axis_ends(films.iloc[:0], "x") == ""
