"""What the rating deck needs from the server: the next films as cards, the member's answers, and
a compact title index so search answers in the browser.

The deck (``app.widgets.rating_deck``) shows a card and its buttons in the browser and swaps to
the next card in the same frame as the tap; the server's part is to keep a few spare cards ahead
of the member, chosen by the elicitation engine with every saved answer in mind, and to send
the catalogue's titles once so that typing a title finds films without a round trip.

Films are sent as plain data (ids, titles, years, genres); the browser writes them with
``textContent``, never as HTML, so no title can inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import streamlit as st

from app.services.catalogue import get_catalogue, movie_index
from app.services.rooms import next_films
from app.services.store import get_store
from engine.data.catalogue import parse_genres
from engine.data.ratings import Ratings
from engine.elicit.personal import PRIOR_TAPS, RATINGS_FOR_PERSONAL, SEEN_PER_TAP
from engine.titles import natural_title

#: Cards the browser holds beyond the one on screen: a tap never waits for the server unless
#: the member answers more than this many films within one round trip (a burst of 10 taps in
#: a second over a socket that holds every message back 800 ms each way still finds a card).
SPARE_CARDS = 12
#: Catalogues up to this many films are searched in the browser (the embedded sample's 9,066
#: titles are ~370 KB of JSON, sent once, when the search box is first used); larger ones are
#: searched on the server (rapidfuzz, ``app.services.search``), a round trip per pause in typing.
BROWSER_SEARCH_MAX_FILMS = 30_000
_AKA_TEXT = re.compile(r"\(a\.k\.a\. ([^)]*)\)")


def _year(value: object) -> int | None:
    text = "" if value is None else str(value)
    return int(text) if text.isdigit() else None


def film_cards(movie_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Cards for the deck: ``{"id", "title", "year", "genres"}`` per film in this catalogue."""
    cat = get_catalogue()
    index = movie_index()
    ids = list(movie_ids)
    positions = index.get_indexer(np.asarray(ids, dtype=np.int64)) if ids else np.array([])
    movies = cat.movies
    cards = []
    for movie_id, pos in zip(ids, positions.tolist(), strict=True):
        if pos < 0:
            continue
        row = movies.iloc[pos]
        cards.append(
            {
                "id": int(movie_id),
                "title": natural_title(str(row["title"])),
                "year": _year(row["year"]),
                "genres": parse_genres(row["genres"]),
            }
        )
    return cards


def closeness_rule() -> dict[str, float]:
    """What the deck needs to say, as the member taps, how close their picks are to their own:
    the ratings that make picks personal and the measured share of cards a member has seen
    (``engine.elicit.personal``; the deck applies the same formula to its live counts)."""
    return {"needed": RATINGS_FOR_PERSONAL, "seen_per_tap": SEEN_PER_TAP, "prior_taps": PRIOR_TAPS}


def next_cards(token: str, n: int = SPARE_CARDS + 1) -> list[dict[str, Any]]:
    """The next ``n`` films the member should rate (elicitation, with their saved answers)."""
    return film_cards(next_films(token, n=n))


def saved_answers(token: str) -> dict[int, float | None]:
    """The member's saved answers, movieId -> stars (None: "haven't seen it")."""
    return get_store().answers(token)


@st.cache_resource(show_spinner=False, max_entries=4)
def _title_index(fingerprint: str, _catalogue: Ratings) -> dict[str, Any]:
    movies = _catalogue.movies
    counts = np.log1p(_catalogue.stats.counts.astype(np.float64))
    top = float(counts.max()) if len(counts) else 1.0
    popularity = np.round(100 * counts / (top if top > 0 else 1.0)).astype(int)
    genre_names: list[str] = []
    genre_ids: dict[str, int] = {}
    first_genres = []
    for genres in movies["genres"]:
        names = parse_genres(genres)
        name = names[0] if names else ""
        if name not in genre_ids:
            genre_ids[name] = len(genre_names)
            genre_names.append(name)
        first_genres.append(genre_ids[name])
    return {
        "fingerprint": fingerprint,
        "ids": [int(m) for m in movies["movieId"]],
        "titles": [natural_title(str(t)) for t in movies["title"]],
        # the other names a title carries ("Twelve Monkeys (a.k.a. 12 Monkeys)"), searchable
        # though not shown: only for the films that have one, by row
        "aka": {
            i: " ".join(found)
            for i, t in enumerate(movies["title"])
            if (found := _AKA_TEXT.findall(str(t)))
        },
        "years": [_year(y) for y in movies["year"]],
        "genre": first_genres,
        "genres": genre_names,
        "popularity": popularity.tolist(),
    }


def title_index() -> dict[str, Any] | None:
    """The catalogue's titles for searching in the browser, or None when it is too large to send
    (then the deck asks the server, ``app.services.search_films``, as you type)."""
    cat = get_catalogue()
    if cat.n_items > BROWSER_SEARCH_MAX_FILMS:
        return None
    return _title_index(cat.fingerprint, cat)


def catalogue_fingerprint() -> str:
    return get_catalogue().fingerprint
