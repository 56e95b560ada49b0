"""A film as a card: generated poster, title, year, genre chips, an optional score and reason line,
and an optional extra area (the per-member bars)."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from app.widgets.palette import genre_colour
from app.widgets.poster import poster_data_uri
from app.widgets.text import h
from engine.data.catalogue import parse_genres


def _year(value: object) -> str:
    text = "" if value is None else str(value)
    return "" if text in ("", "<NA>", "nan", "None") else text


def film_card_html(
    film: Mapping, reason: str | None = None, extra_html: str = "", score: str | None = None
) -> str:
    """The card's HTML; ``film`` has title, year and genres (a catalogue row). All text escaped;
    ``extra_html`` must already be safe (e.g. from ``member_bars_html``) and goes in its own
    area of the card (beside the poster on a desktop, the card's full width on a phone)."""
    title = str(film.get("title", ""))
    year = _year(film.get("year"))
    genres = parse_genres(film.get("genres"))
    chips = "".join(
        f'<span class="mn-genre" style="background:{genre_colour(g)}">{h(g)}</span>' for g in genres
    )
    meta = h(year) if year else "year unknown"
    reason_html = f'<p class="mn-reason">{h(reason)}</p>' if reason else ""
    score_html = f'<p class="mn-score">{h(score)}</p>' if score else ""
    extra = f'<div class="mn-extra">{extra_html}</div>' if extra_html else ""
    poster = poster_data_uri(title, year, film.get("genres"))
    return (
        '<div class="mn-card">'
        f'<img class="mn-poster" src="{poster}" alt="{h(title)} poster"/>'
        '<div class="mn-body">'
        f'<p class="mn-title">{h(title)}</p>'
        f'<p class="mn-meta">{meta}</p>'
        f"<div>{chips}</div>{score_html}{reason_html}"
        f"</div>{extra}</div>"
    )


def film_card(
    film: Mapping, reason: str | None = None, extra_html: str = "", score: str | None = None
) -> None:
    """Draw the card into the current container."""
    st.html(film_card_html(film, reason, extra_html, score))
