"""A generated poster-like card (SVG) for a film: title, year and genre colours.

There are no real posters offline, so each film gets a deterministic card coloured by its first
genre. Text is XML-escaped before it goes into the SVG template, and the SVG is shown through an
``<img>`` data URI, where a browser never runs scripts.
"""

from __future__ import annotations

import base64
import textwrap
from functools import lru_cache
from pathlib import Path

from app.widgets.text import h

TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "poster.svg"

# (top, bottom) gradient colours per genre; unknown genres fall back to slate.
GENRE_COLOURS: dict[str, tuple[str, str]] = {
    "Action": ("#b91c1c", "#450a0a"),
    "Adventure": ("#c2410c", "#431407"),
    "Animation": ("#0891b2", "#083344"),
    "Children": ("#65a30d", "#1a2e05"),
    "Comedy": ("#d97706", "#451a03"),
    "Crime": ("#374151", "#030712"),
    "Documentary": ("#0f766e", "#042f2e"),
    "Drama": ("#4338ca", "#1e1b4b"),
    "Fantasy": ("#7c3aed", "#2e1065"),
    "Film-Noir": ("#1f2937", "#000000"),
    "Horror": ("#7f1d1d", "#0c0a09"),
    "IMAX": ("#0369a1", "#082f49"),
    "Musical": ("#db2777", "#500724"),
    "Mystery": ("#4c1d95", "#0f0720"),
    "Romance": ("#e11d48", "#4c0519"),
    "Sci-Fi": ("#0e7490", "#0b1120"),
    "Thriller": ("#57534e", "#0c0a09"),
    "War": ("#4d7c0f", "#1c1917"),
    "Western": ("#a16207", "#292524"),
}
DEFAULT_COLOURS = ("#475569", "#0f172a")


def genre_list(genres: object) -> list[str]:
    """MovieLens '|'-joined genres as a list ('(no genres listed)' and blanks dropped)."""
    if not isinstance(genres, str):
        return []
    return [g for g in genres.split("|") if g and not g.startswith("(")]


def genre_colour(genre: str) -> str:
    return GENRE_COLOURS.get(genre, DEFAULT_COLOURS)[0]


@lru_cache(maxsize=1)
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def poster_svg(title: str, year: object = None, genres: object = None) -> str:
    """The SVG text of a poster card; every piece of text is escaped."""
    names = genre_list(genres)
    top, bottom = GENRE_COLOURS.get(names[0], DEFAULT_COLOURS) if names else DEFAULT_COLOURS
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
        bottom=bottom,
        genre=h(names[0].upper() if names else ""),
        title_lines=tspans,
        year=h(year_text),
    )


@lru_cache(maxsize=4096)
def poster_data_uri(title: str, year: object = None, genres: object = None) -> str:
    """The poster as a ``data:image/svg+xml;base64,...`` URI for an ``<img>`` tag."""
    svg = poster_svg(title, year, genres).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
