"""Checks on what people type and send before anything reaches the database.

Names are stored as typed (trimmed, NFC) with a case- and width-folded key for uniqueness;
ratings are half stars from 0.5 to 5 (None means "haven't seen it"); films are MovieLens movieIds.
Each check raises the ``StoreError`` subclass a page shows as it is.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from urllib.parse import parse_qs, urlsplit

from app.store.errors import InvalidName, InvalidRating, UnknownMovie

NAME_MAX = 40
ROOM_NAME_MAX = 60
RATING_VALUES: tuple[float, ...] = tuple(v / 2 for v in range(1, 11))  # 0.5, 1.0, ..., 5.0
LINK_VALUE_MAX = 200  # longer room codes and member or host tokens: refused before any query


def clean_name(text: object, *, max_len: int = NAME_MAX, what: str = "name") -> str:
    """The name as stored: trimmed, NFC, 1..max_len characters, no control characters.

    HTML or script in a name is kept as the text it is; escaping is the UI's job.
    """
    if not isinstance(text, str):
        raise InvalidName(f"The {what} must be text, not {type(text).__name__}.")
    name = unicodedata.normalize("NFC", text).strip()
    if not name:
        raise InvalidName(f"Please type a {what}: it cannot be empty or only spaces.")
    if len(name) > max_len:
        raise InvalidName(
            f"That {what} is {len(name):,} characters long; please use at most {max_len}."
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidName(
            f"The {what} contains control characters (such as a line break or tab); "
            "please use plain letters, digits, spaces or punctuation."
        )
    return name


def name_key(name: str) -> str:
    """Key for per-room uniqueness: 'Ann', 'ANN' and full-width 'Ａｎｎ' are the same person."""
    return unicodedata.normalize("NFKC", name).casefold()


def check_rating(rating: object) -> float | None:
    """``None`` ("haven't seen it") or a float in 0.5..5 in half steps; else InvalidRating."""
    if rating is None:
        return None
    allowed = ", ".join(f"{v:g}" for v in RATING_VALUES)
    if isinstance(rating, bool) or not isinstance(rating, numbers.Real):
        raise InvalidRating(
            f"A rating must be a number of stars ({allowed}) or None for "
            f'"haven\'t seen it", not {type(rating).__name__}.'
        )
    value = float(rating)
    if not (math.isfinite(value) and 0.5 <= value <= 5.0) or value * 2 != round(value * 2):
        raise InvalidRating(f"{rating!r} is not a valid rating; choose one of {allowed} stars.")
    return value


def check_movie_id(movie_id: object) -> int:
    """A positive integer MovieLens movieId (numpy integers accepted)."""
    if isinstance(movie_id, bool) or not isinstance(movie_id, numbers.Integral):
        raise UnknownMovie(
            f"A film is identified by its MovieLens movieId (an integer), not {movie_id!r}."
        )
    value = int(movie_id)
    if value <= 0 or value > 2**31 - 1:
        raise UnknownMovie(f"{value} is not a MovieLens movieId (they are positive integers).")
    return value


def parse_room_code(text: object) -> str:
    """The room code from what a person typed or pasted: the code itself or a whole room link."""
    if not isinstance(text, str):
        return ""
    text = text.strip()
    if "room=" in text:
        query = urlsplit(text).query or text.split("?", 1)[-1]
        found = parse_qs(query).get("room")
        if found:
            return found[0].strip()
    return text


def short(text: str, limit: int = 32) -> str:
    """``text`` cut to ``limit`` characters for a message (a pasted page must not fill it)."""
    return text if len(text) <= limit else text[:limit] + "…"
