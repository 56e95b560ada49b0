"""Explore's place in the URL: which view, which film at the centre, similar by what, and the
trail of films centred before (``?view=graph&film=2571&by=together&trail=1,356``), and the host's list for tonight's vote
(``tonight=``): a tap card's link reloads the page, which starts a new session.

As ``app.state`` does for the room: the URL is the source of truth, so a tab change, a reload
or a shared link keeps the centre film and the view; switching pages may drop the parameters,
so the session keeps a copy and puts them back. Values are movieIds (stable across catalogue
reloads), checked against the catalogue before use. Not a page itself.
"""

from __future__ import annotations

import streamlit as st

from app import session_keys as keys
from app.services import catalogue, insights

VIEW, FILM, BY, TRAIL = "view", "film", "by", "trail"
TONIGHT = "tonight"  # the host's list for tonight's vote (movieIds): a tap card reloads the page
RATE, PROPOSE = "rate", "propose"  # one-shot actions from a graph node's tap card
VIEWS = {
    "map": "Taste map",
    "graph": "Film graph",
    "similar": "Similar films",
    "bias": "Loved & hated",
}
DEFAULT_VIEW = "map"  # what the room sees first: its members among the films
TRAIL_MAX = 6


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    value = value.strip() if isinstance(value, str) else None
    return value or None


def sync() -> None:
    """Copy view, film, basis and trail between the URL and the session (once per run)."""
    kept: dict[str, str] = st.session_state.setdefault(keys.EXPLORE_URL, {})
    for name in (VIEW, FILM, BY, TRAIL, TONIGHT):
        value = _param(name)
        if value:
            kept[name] = value
        elif kept.get(name):
            st.query_params[name] = kept[name]


def _set(name: str, value: str | None) -> None:
    kept: dict[str, str] = st.session_state.setdefault(keys.EXPLORE_URL, {})
    if value:
        kept[name] = value
        st.query_params[name] = value
    else:
        kept.pop(name, None)
        st.query_params.pop(name, None)


def view() -> str:
    value = _param(VIEW)
    return value if value in VIEWS else DEFAULT_VIEW


def set_view(value: str | None) -> None:
    """A segmented control cleared by tapping the chosen option keeps the view it had."""
    if value in VIEWS:
        _set(VIEW, value)


def basis() -> str:
    value = _param(BY)
    return value if value in insights.SIMILARITY_BASES else insights.DEFAULT_BASIS


def set_basis(value: str | None) -> None:
    if value in insights.SIMILARITY_BASES:
        _set(BY, value)


def _item(movie_id: str | None) -> int | None:
    if movie_id is None or not movie_id.isdigit():
        return None
    found = catalogue.movie_index().get_indexer([int(movie_id)])[0]
    return int(found) if found >= 0 else None


def centre() -> int:
    """The film at the centre (item index): the URL's, else the most rated film."""
    found = _item(_param(FILM))
    if found is not None:
        return found
    return int(catalogue.popular_items(insights.MIN_RATINGS)[0])


def trail() -> list[int]:
    """Films centred before this one, oldest first (item indices)."""
    text = _param(TRAIL) or ""
    items = [_item(part) for part in text.split(",")]
    return [i for i in items if i is not None]


def movie_id(item: int) -> int:
    return int(catalogue.film(item)["movieId"])


def centre_links(item: int) -> dict[str, str]:
    """URL parameters that centre ``item``, with the current centre added to the trail."""
    here = movie_id(centre())
    past = [str(movie_id(i)) for i in trail()] + [str(here)]
    return {FILM: str(movie_id(item)), TRAIL: ",".join(past[-TRAIL_MAX:]), VIEW: "graph"}


def go_to(item: int, keep_trail: bool = True) -> None:
    """Centre ``item`` (a picked film, or a step back along the trail)."""
    past = trail()
    if keep_trail:
        past = [*past, centre()][-TRAIL_MAX:]
    elif item in past:
        past = past[: past.index(item)]
    _set(TRAIL, ",".join(str(movie_id(i)) for i in past) or None)
    _set(FILM, str(movie_id(item)))


def shortlist() -> list[int]:
    """The host's list for tonight's vote, as movieIds in the catalogue, in the order added."""
    ids = [part for part in (_param(TONIGHT) or "").split(",") if part.isdigit()]
    return [int(m) for m in ids if _item(m) is not None]


def set_shortlist(movie_ids: list[int]) -> None:
    _set(TONIGHT, ",".join(str(m) for m in movie_ids) or None)


def take_action(name: str) -> int | None:
    """A one-shot ``rate``/``propose`` parameter from a tap card: its film, removed from the URL."""
    found = _item(_param(name))
    st.query_params.pop(name, None)
    return found
