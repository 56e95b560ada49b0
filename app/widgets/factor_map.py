"""The PCA factor map as a plotly scatter: films coloured by genre or year, members as stars.

Plotly renders hover text, legend entries and point labels as a small subset of HTML, so every
title, genre and member name is HTML-escaped here (plotly decodes the entities for display).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.widgets.palette import genre_colour
from app.widgets.text import h

HOVER = (
    "<b>%{customdata[0]}</b> (%{customdata[1]})<br>%{customdata[2]}<br>"
    "%{customdata[3]} ratings, mean %{customdata[4]}<extra></extra>"
)


def axis_title(component: int, explained: Sequence[float] | np.ndarray) -> str:
    share = float(explained[component]) if component < len(explained) else float("nan")
    return f"PC{component + 1} ({share:.0%} of variance)"


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
    """Films (one point each) and members (labelled stars) on the two chosen PCA axes."""
    fig = go.Figure()
    data = _customdata(films)
    if colour_by == "year":
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
                    "colorbar": {"title": {"text": "year"}},
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
    else:
        by_genre = films["main_genre"].astype(str)
        for genre in sorted(by_genre.unique(), key=lambda g: (-(by_genre == g).sum(), g)):
            mask = (by_genre == genre).to_numpy()
            fig.add_trace(
                go.Scattergl(
                    x=films["x"][mask],
                    y=films["y"][mask],
                    mode="markers",
                    name=h(genre),
                    customdata=data[mask],
                    hovertemplate=HOVER,
                    marker={"size": 6, "opacity": 0.75, "color": genre_colour(genre)},
                )
            )
    if len(members):
        fig.add_trace(
            go.Scatter(
                x=members["x"],
                y=members["y"],
                mode="markers+text",
                name="room members",
                text=[h(m) for m in members["member"]],
                textposition="top center",
                textfont={"size": 14, "color": "#111"},
                customdata=members["n_ratings"].astype(int),
                hovertemplate="<b>%{text}</b><br>%{customdata} films rated<extra></extra>",
                marker={
                    "symbol": "star",
                    "size": 18,
                    "color": "#111",
                    "line": {"width": 1.5, "color": "#fff"},
                },
            )
        )
    a, b = components
    fig.update_layout(
        xaxis_title=axis_title(a, explained),
        yaxis_title=axis_title(b, explained),
        height=620,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={
            "itemsizing": "constant",
            "title": {"text": "main genre" if colour_by != "year" else ""},
        },
        hoverlabel={"align": "left"},
    )
    return fig
