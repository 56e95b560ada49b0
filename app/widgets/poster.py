"""A generated poster-like card (SVG) for a film: title, year and genre colours.

There are no real posters offline, so each film gets a deterministic card coloured by its first
genre, in the palette every view shares (``app.widgets.palette``). Text is XML-escaped before it
goes into the SVG template, and the SVG is shown through an ``<img>`` data URI, where a browser
never runs scripts.
"""

from __future__ import annotations

import base64
import textwrap
from functools import lru_cache
from pathlib import Path

from app.widgets.palette import darker, genre_colour
from app.widgets.text import h
from engine.data.catalogue import parse_genres

TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "poster.svg"


@lru_cache(maxsize=1)
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def poster_svg(title: str, year: object = None, genres: object = None) -> str:
    """The SVG text of a poster card; every piece of text is escaped."""
    names = parse_genres(genres)
    top = genre_colour(names[0] if names else None)
    lines = textwrap.wrap(str(title), width=13)[:5] or [""]
    if len(textwrap.wrap(str(title), width=13)) > 5:
        lines[-1] = lines[-1][:11] + "…"
    tspans = "".join(
        f'<tspan x="14" dy="{0 if i == 0 else 18}">{h(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    year_text = "" if year is None or str(year) in ("", "<NA>", "nan") else str(year)
    return _template().format(
        aria=h(f"{title} {year_text}".strip()),
        top=top,
        bottom=darker(top),
        genre=h(names[0].upper() if names else ""),
        title_lines=tspans,
        year=h(year_text),
    )


@lru_cache(maxsize=4096)
def poster_data_uri(title: str, year: object = None, genres: object = None) -> str:
    """The poster as a ``data:image/svg+xml;base64,...`` URI for an ``<img>`` tag."""
    svg = poster_svg(title, year, genres).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
