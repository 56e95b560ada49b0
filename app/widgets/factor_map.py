"""The PCA factor map as a plotly scatter: films coloured by genre or year, members as stars.

Plotly renders hover text, legend entries and point labels as a small subset of HTML, so every
title, genre and member name is HTML-escaped here (plotly decodes the entities for display).

Phone first: the legend (or the year colour bar) sits below the plot, so the plot keeps the
screen's whole width; members' name labels are placed around their stars so that two members
with similar taste (stars close together) do not print their names over each other.

Films are WebGL points (thousands of them), which plotly paints on a canvas *above* its SVG
traces: members are therefore WebGL too (drawn after the films, so on top), and their names are
annotations, which plotly draws above everything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.widgets.palette import genre_colour
from app.widgets.text import h
from engine.genres import FAMILY_LABELS

HOVER = (
    "<b>%{customdata[0]}</b> (%{customdata[1]})<br>%{customdata[2]}<br>"
    "%{customdata[3]} ratings, mean %{customdata[4]}<extra></extra>"
)


def axis_title(component: int, explained: Sequence[float] | np.ndarray) -> str:
    """A fallback axis name without films: "taste axis 1"."""
    return f"taste axis {component + 1}"


END_FILMS = 2  # films named at each end of an axis
WELL_KNOWN = 150  # the end films are chosen among this many most-rated films on the map
MEMBER_REACH = 0.8  # the member furthest out sits at this share of the films' furthest extent


def axis_ends(films: pd.DataFrame, column: str) -> str:
    """An axis named by the well-known films at its two ends: "← Taxi Driver (1976), Annie Hall
    (1977) … Armageddon (1998) →", so a direction reads as kinds of films, not a number."""
    if films.empty or "label" not in films or "n_ratings" not in films:
        return ""
    known = films.nlargest(min(WELL_KNOWN, len(films)), "n_ratings").sort_values(column)
    low = [str(t) for t in known["label"].head(END_FILMS)]
    high = [str(t) for t in known["label"].tail(END_FILMS)][::-1]
    return h(f"← {', '.join(low)} … {', '.join(high)} →")


def member_positions(films: pd.DataFrame, members: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Members' directions scaled (one factor for both axes) so the furthest reaches
    ``MEMBER_REACH`` of the films' extent: the engine gives a direction whose length is in
    another unit than the films' coordinates, and drawn as is every member sat in the centre.
    Directions and the members' relative lengths are kept, so opposite tastes look opposite."""
    xs, ys = members["x"].to_numpy(float), members["y"].to_numpy(float)
    reach = float(np.hypot(xs, ys).max()) if len(xs) else 0.0
    extent = float(np.hypot(films["x"], films["y"]).max()) if len(films) else 0.0
    if reach <= 1e-12 or extent <= 0:
        return xs, ys
    scale = MEMBER_REACH * extent / reach
    return xs * scale, ys * scale


# Where a label can go around its point: a name, and the label box's offset from the point in
# units of (box width, box height).
LABEL_SPOTS: tuple[tuple[str, float, float], ...] = (
    ("top center", -0.5, 0.55),
    ("bottom center", -0.5, -1.55),
    ("middle right", 0.1, -0.5),
    ("middle left", -1.1, -0.5),
    ("top right", 0.05, 0.55),
    ("top left", -1.05, 0.55),
    ("bottom right", 0.05, -1.55),
    ("bottom left", -1.05, -1.55),
)
# Each spot as an annotation: (xanchor, yanchor, xshift px, yshift px) from the member's star.
SPOT_ANCHORS: dict[str, tuple[str, str, int, int]] = {
    "top center": ("center", "bottom", 0, 11),
    "bottom center": ("center", "top", 0, -11),
    "middle right": ("left", "middle", 11, 0),
    "middle left": ("right", "middle", -11, 0),
    "top right": ("left", "bottom", 7, 7),
    "top left": ("right", "bottom", -7, 7),
    "bottom right": ("left", "top", 7, -7),
    "bottom left": ("right", "top", -7, -7),
}
CHAR_WIDTH = 0.016  # a label character's width, as a share of the x range (14 px font, ~620 px)
LABEL_HEIGHT = 0.045  # a label's height, as a share of the y range


def label_positions(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    names: Sequence[str],
    span: tuple[float, float] | None = None,
) -> list[str]:
    """A label spot per member (a key of ``SPOT_ANCHORS``) so that their labels overlap each
    other as little as possible.

    Greedy, in order: each label takes the spot whose box (estimated from the name's length,
    in units of the plot's ranges ``span``) overlaps the labels already placed least, preferring
    the first spots (above the star) on ties. Plotly has no label collision avoidance of its own.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if span is None:
        span = (float(np.ptp(xs)) or 1.0, float(np.ptp(ys)) or 1.0)
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for px, py, name in zip(xs / span[0], ys / span[1], names, strict=True):
        width, height = max(len(str(name)), 2) * CHAR_WIDTH, LABEL_HEIGHT
        best, best_overlap = LABEL_SPOTS[0], np.inf
        for spot in LABEL_SPOTS:
            left, bottom = px + spot[1] * width, py + spot[2] * height
            box = (left, bottom, left + width, bottom + height)
            overlap = sum(_overlap(box, other) for other in placed)
            if overlap < best_overlap - 1e-12:
                best, best_overlap = spot, overlap
        left, bottom = px + best[1] * width, py + best[2] * height
        placed.append((left, bottom, left + width, bottom + height))
        out.append(best[0])
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    dx = min(a[2], b[2]) - max(a[0], b[0])
    dy = min(a[3], b[3]) - max(a[1], b[1])
    return dx * dy if dx > 0 and dy > 0 else 0.0


def _customdata(films: pd.DataFrame) -> np.ndarray:
    years = films["year"].astype("string").fillna("year unknown")
    genres = films["genres"].fillna("").astype(str).str.replace("|", ", ", regex=False)
    means = films["mean_rating"].map(lambda m: "–" if pd.isna(m) else f"{m:.1f}★")
    return np.column_stack(
        [
            films["title"].map(h),
            years.map(h),
            genres.map(lambda g: h(g) if g else "no genre listed"),
            films["n_ratings"].astype(int),
            means,
        ]
    )


def factor_map_figure(
    films: pd.DataFrame,
    members: pd.DataFrame,
    explained: Sequence[float] | np.ndarray,
    components: tuple[int, int] = (0, 1),
    colour_by: str = "genre",
) -> go.Figure:
    """Films (one point each) and members (labelled stars) on the two chosen PCA axes.

    Drawn in this order, since WebGL traces paint in the order they are added: the films, then
    the members' stars on top of them, then the members' names (annotations, above all)."""
    fig = go.Figure()
    if colour_by == "year":
        _add_films_by_year(fig, films)
    else:
        _add_films_by_genre(fig, films)
    if len(members):
        _add_members(fig, films, members)
    _lay_out(fig, films, explained, components, colour_by)
    return fig


def _add_films_by_year(fig: go.Figure, films: pd.DataFrame) -> None:
    """Films coloured along a year scale (its bar below the plot), and those without a year in
    grey with a legend entry of their own."""
    data = _customdata(films)
    year = films["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(year)
    fig.add_trace(
        go.Scattergl(
            x=films["x"][known],
            y=films["y"][known],
            mode="markers",
            name="films",
            customdata=data[known],
            hovertemplate=HOVER,
            marker={
                "size": 6,
                "opacity": 0.75,
                "color": year[known],
                "colorscale": "Viridis",
                "colorbar": {
                    "title": {"text": "year"},
                    "orientation": "h",
                    "y": -0.18,
                    "yanchor": "top",
                    "thickness": 12,
                },
            },
            showlegend=False,
        )
    )
    if (~known).any():
        fig.add_trace(
            go.Scattergl(
                x=films["x"][~known],
                y=films["y"][~known],
                mode="markers",
                name="year unknown",
                customdata=data[~known],
                hovertemplate=HOVER,
                marker={"size": 6, "opacity": 0.6, "color": "#c7c7c7"},
            )
        )


def _add_films_by_genre(fig: go.Figure, films: pd.DataFrame) -> None:
    """One trace per genre family, the largest first (the legend's order), in the palette's
    colours."""
    data = _customdata(films)
    by_genre = films["main_genre"].astype(str)
    for genre in sorted(by_genre.unique(), key=lambda g: (-(by_genre == g).sum(), g)):
        mask = (by_genre == genre).to_numpy()
        fig.add_trace(
            go.Scattergl(
                x=films["x"][mask],
                y=films["y"][mask],
                mode="markers",
                name=h(FAMILY_LABELS.get(genre, genre)),
                customdata=data[mask],
                hovertemplate=HOVER,
                marker={"size": 6, "opacity": 0.75, "color": genre_colour(genre)},
            )
        )


def _add_members(fig: go.Figure, films: pd.DataFrame, members: pd.DataFrame) -> None:
    """The members as stars scaled into the films' extent, each named by an annotation placed
    where it overlaps the other names least."""
    span = (
        float(np.ptp(films["x"])) if len(films) else 1.0,
        float(np.ptp(films["y"])) if len(films) else 1.0,
    )
    names = [str(m) for m in members["member"]]
    xs, ys = member_positions(films, members)
    fig.add_trace(
        go.Scattergl(
            x=xs,
            y=ys,
            mode="markers",
            name="room members",
            text=[h(m) for m in names],
            customdata=members["n_ratings"].astype(int),
            hovertemplate="<b>%{text}</b><br>%{customdata} films rated<extra></extra>",
            marker={
                "symbol": "star",
                "size": 20,
                "color": "#111",
                "line": {"width": 1.5, "color": "#fff"},
            },
        )
    )
    for x, y, name, spot in zip(xs, ys, names, label_positions(xs, ys, names, span), strict=True):
        xanchor, yanchor, xshift, yshift = SPOT_ANCHORS[spot]
        fig.add_annotation(
            x=x,
            y=y,
            text=h(name),
            showarrow=False,
            xanchor=xanchor,
            yanchor=yanchor,
            xshift=xshift,
            yshift=yshift,
            font={"size": 14, "color": "#111"},
            bgcolor="rgba(255,255,255,0.75)",
            name=f"member:{h(name)}",
        )


def _lay_out(
    fig: go.Figure,
    films: pd.DataFrame,
    explained: Sequence[float] | np.ndarray,
    components: tuple[int, int],
    colour_by: str,
) -> None:
    """Axes named by the films at their ends, and the legend below the plot, so the plot keeps
    a phone's whole width."""
    a, b = components
    fig.update_layout(
        xaxis_title=axis_ends(films, "x") or axis_title(a, explained),
        yaxis_title=axis_ends(films, "y") or axis_title(b, explained),
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={
            "itemsizing": "constant",
            "title": {"text": "genre" if colour_by != "year" else ""},
            "orientation": "h",  # below the plot: the plot keeps a phone's whole width
            "x": 0,
            "xanchor": "left",
            "y": -0.14,
            "yanchor": "top",
        },
        hoverlabel={"align": "left"},
    )
