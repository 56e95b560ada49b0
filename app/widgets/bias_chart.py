"""Bias rankings as horizontal plotly bars: how far above (or below) what its factors predict a
film is rated. Labels are HTML-escaped (plotly reads a subset of HTML in tick labels)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from app.widgets.text import h

LOVED_COLOUR = "#16a34a"
HATED_COLOUR = "#dc2626"


def bias_figure(frame: pd.DataFrame, title: str, colour: str, unit: str = "★") -> go.Figure:
    """One bar per film, first row on top; ``frame`` is a ``bias_ranking`` frame."""
    # numbered labels stay unique even if two films share a title and year
    labels = [f"{i + 1}. {h(label)}" for i, label in enumerate(frame["label"])]
    means = frame["mean_rating"].map(lambda m: "–" if pd.isna(m) else f"{m:.2f}★")
    fig = go.Figure(
        go.Bar(
            x=frame["bias"],
            y=labels,
            orientation="h",
            marker_color=colour,
            customdata=list(zip(frame["n_ratings"].astype(int), means, strict=True)),
            hovertemplate=(
                "<b>%{y}</b><br>%{x:+.2f}"
                + unit
                + " beyond what tastes predict"
                + "<br>%{customdata[0]} ratings, "
                "mean %{customdata[1]}<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        title={"text": h(title)},
        height=max(260, 26 * len(frame) + 90),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis_title=f"{unit} above (or below) what people's tastes predict",
    )
    return fig
