"""Each member's predicted rating for one film as a small horizontal bar chart.

Drawn as a few lines of HTML/CSS rather than a chart library: a picks page shows ten of these, and
ten vega/plotly charts take far longer to render than the rest of the page together.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.widgets.text import h

MAX_STARS = 5.0


def bar_colour(stars: float) -> str:
    """Red for a film a member will likely dislike, amber for so-so, green for a good fit."""
    if stars < 2.5:
        return "#dc2626"
    if stars < 3.5:
        return "#f59e0b"
    return "#16a34a"


def member_bars_html(predictions: Mapping[str, float]) -> str:
    """``{member name: predicted stars}`` as bars; names escaped, values clipped to 0..5."""
    rows = []
    for name, value in predictions.items():
        stars = min(max(float(value), 0.0), MAX_STARS)
        width = 100.0 * stars / MAX_STARS
        rows.append(
            f'<span class="mn-name" title="{h(name)}">{h(name)}</span>'
            f'<span class="mn-track"><span class="mn-fill" style="display:block;width:{width:.0f}%;'
            f'background:{bar_colour(stars)}"></span></span>'
            f'<span class="mn-val">{stars:.1f}★</span>'
        )
    if not rows:
        return ""
    return f'<div class="mn-bars" aria-label="predicted rating per member">{"".join(rows)}</div>'
