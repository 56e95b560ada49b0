"""Find a film by typing part of its title: fuzzy matching on the server with rapidfuzz.

A select box over every title sends all of them to the browser (9,066 for the embedded sample:
seconds to open on a phone); here the browser sends what was typed and gets back a handful of
films. Titles are matched as people type them: MovieLens's "Matrix, The" is also indexed as
"The Matrix", accents are folded ("amelie" finds "Amélie") and the year counts too. Among
similar matches the more rated film comes first, so "star wars" lists the films people know.

Scoring: rapidfuzz's ``WRatio`` alone marks a short query down against a long title ("amelie"
scores 60 against "Amelie (Fabuleux destin d'Amélie Poulain, Le)"), so the best of ``WRatio``
and a slightly discounted ``partial_ratio`` (the query found, typos allowed, inside the title)
is used, plus a bonus when the title starts with what was typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import streamlit as st
from rapidfuzz import fuzz, process, utils

from app.services.catalogue import get_catalogue
from engine.data.ratings import Ratings

MIN_QUERY = 2  # characters before a search runs: one letter matches half the catalogue
RESULTS = 8
POOL = 40  # best fuzzy matches re-ranked with popularity
SCORE_CUTOFF = 55.0  # WRatio below this is noise for titles
POPULARITY_WEIGHT = 8.0  # points a film's popularity (0..1, log scale) adds to its match score
PARTIAL_DISCOUNT = 0.95  # a match inside the title counts a little less than a whole-title one
PREFIX_BONUS = 5.0  # points for a title that starts with the query
_TRAILING_ARTICLE = re.compile(
    r"^(?P<rest>.*), (?P<article>The|A|An|Les|Le|La|L'|Il|Der|Die|Das|El)$"
)


def search_key(title: str, year: object = None) -> str:
    """The text a title is matched on: article moved to the front, accents folded, year added."""
    text = str(title)
    found = _TRAILING_ARTICLE.match(text)
    if found:
        text = f"{found['article']} {found['rest']}"
    folded = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in folded if not unicodedata.combining(ch))
    year_text = "" if year is None or str(year) in ("", "<NA>", "nan", "None") else str(year)
    return utils.default_process(f"{text} {year_text}".strip())


@dataclass(frozen=True)
class SearchIndex:
    keys: list[str]
    popularity: np.ndarray  # 0..1, log-scaled rating counts


@st.cache_resource(show_spinner=False, max_entries=4)
def _index(fingerprint: str, _catalogue: Ratings) -> SearchIndex:
    movies = _catalogue.movies
    keys = [search_key(t, y) for t, y in zip(movies["title"], movies["year"], strict=True)]
    counts = np.log1p(_catalogue.stats.counts.astype(np.float64))
    top = float(counts.max()) if len(counts) else 1.0
    return SearchIndex(keys, counts / top if top > 0 else counts)


def search_films(query: str, limit: int = RESULTS) -> list[int]:
    """Item indices of the films best matching ``query``, best first; [] for fewer than
    ``MIN_QUERY`` characters (ignoring spaces)."""
    text = search_key(query or "")
    if len(text.replace(" ", "")) < MIN_QUERY:
        return []
    cat = get_catalogue()
    index = _index(cat.fingerprint, cat)
    scores: dict[int, float] = {}
    for scorer, weight in ((fuzz.WRatio, 1.0), (fuzz.partial_ratio, PARTIAL_DISCOUNT)):
        for _, score, i in process.extract(
            text,
            index.keys,
            scorer=scorer,
            processor=None,  # keys and query are processed already
            limit=POOL,
            score_cutoff=SCORE_CUTOFF,
        ):
            scores[i] = max(scores.get(i, 0.0), weight * score)

    def rank(i: int) -> tuple[float, int]:
        bonus = PREFIX_BONUS if index.keys[i].startswith(text) else 0.0
        return (-(scores[i] + bonus + POPULARITY_WEIGHT * index.popularity[i]), i)

    return [int(i) for i in sorted(scores, key=rank)[:limit]]
