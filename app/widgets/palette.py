"""The one genre palette: the factor map, the film neighbourhood graph, genre chips and posters
all colour a genre the same way, so a colour learned on one view means the same on the others.

Every colour carries white text legibly (WCAG contrast of at least 4.5:1 against white, checked
by the tests), because genre chips and posters write white text on it; the same colours read
well as points on the white map background.
"""

from __future__ import annotations

from engine.insights import NO_GENRE

#: One colour per MovieLens genre (Tailwind's 700-900 shades: distinct hues, dark enough for
#: white text).
GENRE_COLOURS: dict[str, str] = {
    "Action": "#b91c1c",
    "Adventure": "#c2410c",
    "Animation": "#0e7490",
    "Children": "#4d7c0f",
    "Comedy": "#b45309",
    "Crime": "#334155",
    "Documentary": "#0f766e",
    "Drama": "#4338ca",
    "Fantasy": "#6d28d9",
    "Film-Noir": "#44403c",
    "Horror": "#171717",
    "IMAX": "#0369a1",
    "Musical": "#a21caf",
    "Mystery": "#581c87",
    "Romance": "#be185d",
    "Sci-Fi": "#047857",
    "Thriller": "#57534e",
    "War": "#854d0e",
    "Western": "#78350f",
}
#: Films without a genre.
NO_GENRE_COLOUR = "#6b7280"
#: Genres outside MovieLens's list (another dataset folder) share these, picked by name.
FALLBACK_COLOURS = ("#1e40af", "#166534", "#9a3412", "#155e75", "#9f1239", "#4c1d95", "#52525b")


def genre_colour(genre: str | None) -> str:
    """The colour of ``genre``: its own, grey for no genre, else a stable fallback.

    The fallback is chosen by the sum of the name's code points rather than ``hash()``, which
    Python salts per process: a genre keeps its colour across restarts.
    """
    if not genre or genre == NO_GENRE:
        return NO_GENRE_COLOUR
    if genre in GENRE_COLOURS:
        return GENRE_COLOURS[genre]
    return FALLBACK_COLOURS[sum(map(ord, genre)) % len(FALLBACK_COLOURS)]


def darker(colour: str, keep: float = 0.3) -> str:
    """``colour`` (``#rrggbb``) mixed towards black, keeping ``keep`` of each channel: the foot of
    a poster's gradient."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be between 0 and 1, not {keep}")
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * keep):02x}" for c in channels)
