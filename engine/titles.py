"""Film titles as people say them, and film series found from the titles alone.

MovieLens stores "Matrix, The" and "Harry Potter and the Sorcerer's Stone (a.k.a. Harry Potter
and the Philosopher's Stone)"; people say "The Matrix" and look for "The Matrix (1999)".
``natural_title`` undoes the catalogue's conventions (a trailing article moved back to the front,
also before a colon: "Lord of the Rings: The Two Towers, The" → "The Lord of the Rings: The Two
Towers"; alternative titles in "(a.k.a. …)" dropped).

``franchises`` groups films of one series by the *stem* of their natural title: the part before
a colon or a dash, without a trailing sequel number ("2", "II", "Part 3", "Chapter 2"). "Toy
Story", "Toy Story 2" and "Toy Story 3" share the stem "toy story"; "The Godfather" and "The
Godfather: Part II" share "the godfather". A series needs at least two films with different
years (a remake or two films with one name in one year are not a series). Titles that merely
start alike ("The Matrix Reloaded") are not matched: a prefix rule also joins "Heat" and
"Heathers". The set is built from titles only, so it is an outside yardstick for film
similarities learned from ratings (``engine.evaluate.protocol_similar``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

ARTICLES = ("The", "A", "An", "Les", "Le", "La", "L'", "Il", "Der", "Die", "Das", "El")
_ARTICLE = "|".join(re.escape(a) for a in ARTICLES)
_TRAILING_ARTICLE = re.compile(rf"^(?P<rest>.*?), (?P<article>{_ARTICLE})$")
_AKA = re.compile(r"\s*\((?:a\.k\.a\.|aka)[^)]*\)", re.IGNORECASE)
_PARTS = re.compile(r"\s*[:\-–]\s+")
_ROMAN = r"(?:i{1,3}|iv|v|vi{1,3}|ix|x)"
_SEQUEL_NUMBER = re.compile(
    rf"\s+(?:part\s+|chapter\s+|episode\s+)?(?:\d{{1,2}}|{_ROMAN})$", re.IGNORECASE
)
_WORDS = re.compile(r"[^\w']+")


def _front_article(part: str) -> str:
    found = _TRAILING_ARTICLE.match(part)
    return f"{found['article']} {found['rest']}" if found else part


def natural_title(title: str) -> str:
    """``title`` as people say it: article in front (also before a colon), no "(a.k.a. …)"."""
    text = _AKA.sub("", str(title)).strip()
    head, sep, tail = text.partition(": ")
    if sep:
        # "Lord of the Rings: The Two Towers, The": the trailing article belongs to the head
        found = _TRAILING_ARTICLE.match(tail)
        if found:
            return f"{found['article']} {head}: {found['rest']}"
        return f"{_front_article(head)}: {tail}"
    return _front_article(text)


def natural_label(title: str, year: object) -> str:
    """ "The Matrix (1999)": the natural title and the year, when there is one."""
    text = natural_title(title)
    if year is None or str(year) in ("", "<NA>", "nan", "None"):
        return text
    return f"{text} ({int(str(year))})"


def series_stem(title: str) -> str:
    """The stem a film's series is known by: lower-case words of the natural title before a
    colon or dash, without a trailing sequel number; "" for a title that is only a number."""
    head = _PARTS.split(natural_title(title), maxsplit=1)[0]
    head = _SEQUEL_NUMBER.sub("", head.strip())
    return " ".join(w for w in _WORDS.split(head.lower()) if w)


def franchises(
    titles: Sequence[str], years: Sequence[object], candidates: Iterable[int] | None = None
) -> list[list[int]]:
    """Series of films (indices into ``titles``), each ordered by year then index.

    ``candidates`` limits which films may belong (e.g. those with enough ratings); a series
    keeps only films with a year and needs at least two distinct years.
    """
    chosen = range(len(titles)) if candidates is None else candidates
    by_stem: dict[str, list[int]] = defaultdict(list)
    for i in chosen:
        year = years[i]
        if year is None or str(year) in ("", "<NA>", "nan", "None"):
            continue
        stem = series_stem(titles[i])
        if len(stem) >= 3:  # "M", "Up" and bare numbers are not series names
            by_stem[stem].append(int(i))
    series = []
    for members in by_stem.values():
        ordered = sorted(members, key=lambda i: (int(str(years[i])), i))
        if len({int(str(years[i])) for i in ordered}) >= 2:
            series.append(ordered)
    return sorted(series, key=lambda s: s[0])


def sequel_pairs(series: Sequence[Sequence[int]], years: Sequence[object]) -> list[tuple[int, int]]:
    """(film, its next film in the series) for every film that has a later one: the pair a fan
    expects to find next to each other. The next film is the first of a later year (two films
    of one year are not each other's sequel)."""
    pairs = []
    for films in series:
        year = {f: int(str(years[f])) for f in films}
        for a in films:
            later = [f for f in films if year[f] > year[a]]
            if later:
                pairs.append((a, later[0]))
    return pairs
