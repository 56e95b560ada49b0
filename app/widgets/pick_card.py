"""A group pick as a compact card for a phone: poster, title, and one line in plain words saying
why it suits whom ("Ana ~4.4★, Chloé ~4.3★ — in both their top 10"); everything else (genres,
each member's bar, the strategy's own reason and score) folds away under "Details", so the first
pick fits the first screen and the list stays short.

Pure functions returning HTML (the page draws it); every title and name is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.widgets.palette import genre_colour
from app.widgets.poster import poster_data_uri
from app.widgets.text import h
from engine.data.catalogue import parse_genres
from engine.titles import natural_title

TOP = 10  # "in X's top 10": the engine's member_ranks are capped at this
NAMED = 3  # members named with their stars; a bigger room is summed up after them


def _possessive(names: Sequence[str]) -> str:
    owned = [f"{n}'s" for n in names]
    return owned[0] if len(owned) == 1 else ", ".join(owned[:-1]) + " and " + owned[-1]


def top_part(names: Sequence[str], ranks: Mapping[str, int]) -> str:
    """Whose own top 10 the pick is in, in words ("" for nobody's)."""
    tops = [n for n in names if ranks.get(n, TOP) < TOP]
    if not tops:
        return ""
    if len(tops) == len(names) == 2:
        return f"in both their top {TOP}"
    if len(tops) == len(names) > 2:
        return f"in everyone's top {TOP}"
    if len(tops) > NAMED:
        return f"in the top {TOP} of {', '.join(tops[:NAMED])} and {len(tops) - NAMED} more"
    return f"in {_possessive(tops)} top {TOP}"


def why_line(stars: Mapping[str, float], ranks: Mapping[str, int]) -> str:
    """Why the pick suits whom, in plain words (not escaped: see ``pick_card_html``): the
    members most likely to enjoy it with their predicted stars, best first (a bigger room: the
    first three, then how many more and the lowest), and whose top 10 it is in."""
    names = list(stars)
    if not names:
        return ""
    best = sorted(names, key=lambda n: -float(stars[n]))
    text = ", ".join(f"{n} ~{float(stars[n]):.1f}★" for n in best[:NAMED])
    if len(best) > NAMED:
        low = min(float(stars[n]) for n in best[NAMED:])
        text += f" and {len(best) - NAMED} more (lowest ~{low:.1f}★)"
    top = top_part(names, ranks)
    return f"{text} — {top}" if top else text


def pick_card_html(
    film: Mapping,
    why: str,
    details: Sequence[str] = (),
    extra_html: str = "",
) -> str:
    """The compact card: ``film`` (title, year, genres, rank) and ``why`` (plain text) show;
    ``details`` (plain text lines) and ``extra_html`` (already safe, e.g. the member bars) fold
    away under a native ``<details>``, which opens in the browser without a rerun."""
    title = natural_title(str(film.get("title", "")))  # "The Usual Suspects", as people say it
    year = "" if str(film.get("year", "")) in ("", "<NA>", "nan", "None") else str(film["year"])
    genres = parse_genres(film.get("genres"))
    chips = "".join(
        f'<span class="mn-genre" style="background:{genre_colour(g)}">{h(g)}</span>' for g in genres
    )
    rank = film.get("rank")
    rank_html = f'<span class="mn-pick-rank">{h(rank)}</span>' if rank is not None else ""
    year_html = f' <span class="mn-pick-year">({h(year)})</span>' if year else ""
    lines = "".join(f'<p class="mn-pick-line">{h(line)}</p>' for line in details)
    poster = poster_data_uri(title, year, film.get("genres"))
    return (
        '<div class="mn-card mn-pick">'
        f'<img class="mn-poster" src="{poster}" alt="{h(title)} poster"/>'
        '<div class="mn-body">'
        f'<p class="mn-title">{rank_html}{h(title)}{year_html}</p>'
        f'<p class="mn-why">{h(why)}</p>'
        '<details class="mn-more"><summary>Details</summary>'
        f"<div>{chips}</div>{extra_html}{lines}"
        "</details></div></div>"
    )
