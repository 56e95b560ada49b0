"""Shared helpers for the AppTest tests: a fresh store per test, and the clicks a person makes.

Every app test gets its own SQLite file (``MOVIENIGHT_DB_URL``) and the fast "baseline" model
(``MOVIENIGHT_DEFAULT_MODEL``), trained before the app runs as ``./scripts/start`` does (pages
never train: a missing model is a background job); the dataset cache and trained models live in
the session's tmp data dir (tests/conftest.py), so the catalogue loads and the model trains once
per pytest run.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from app.services import models
from app.services.store import get_store

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
PAGES = {
    "room": "app/pages/room.py",
    "picks": "app/pages/picks.py",
    "explore": "app/pages/explore.py",
    "lab": "app/pages/lab.py",
}
TIMEOUT = 120  # the first run of a session loads the catalogue and trains the model
FAST_MODEL = "baseline"
DEFAULT_MODEL = "hybrid"  # what the app serves when nothing says otherwise


@pytest.fixture
def app_env(tmp_path, monkeypatch) -> str:
    """A private database for this test and the fast model, trained (the first time) before the
    app runs, as ``./scripts/start`` does; returns the database URL."""
    url = f"sqlite:///{tmp_path / 'movienight.db'}"
    monkeypatch.setenv("MOVIENIGHT_DB_URL", url)
    monkeypatch.setenv("MOVIENIGHT_DEFAULT_MODEL", FAST_MODEL)

    models.ensure_model(FAST_MODEL)
    return url


def store():
    """The same store the app uses (cached per URL)."""
    return get_store()


def open_app(room: str | None = None, member: str | None = None, page: str = "room") -> AppTest:
    """A new browser session on ``?room=..&member=..`` showing ``page``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if room:
        at.query_params["room"] = room
    if member:
        at.query_params["member"] = member
    at.run()
    if page != "room":
        at.switch_page(PAGES[page]).run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    """No uncaught exception on the page."""
    assert not at.exception, [e.message for e in at.exception]


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def all_messages(at: AppTest) -> str:
    """Every alert, caption, markdown and HTML text on the page (HTML as the text a person
    reads: tags dropped, entities decoded), joined (for 'says X' checks)."""
    parts = []
    for kind in (at.error, at.warning, at.info, at.success, at.caption, at.markdown, at.title):
        parts += texts(kind)
    parts += [html.unescape(re.sub(r"<[^>]+>", " ", e.proto.body)) for e in at.html]
    return "\n".join(parts)


def create_room(at: AppTest, name: str) -> str:
    at.text_input(key="new_room_name").input(name)
    at.button(key="FormSubmitter:create_room-Create room").click().run()
    assert_ok(at)
    return at.query_params["room"]


def add_member(at: AppTest, name: str) -> str:
    at.text_input(key="member_name").input(name)
    at.button(key="FormSubmitter:add_member-Join as member").click().run()
    assert_ok(at)
    return at.query_params.get("member", "")


def deck(at: AppTest) -> dict:
    """The data the rating deck (a browser component, which AppTest cannot run) was given:
    ``cards`` (the films to rate next), ``answers``, ``ack``, ``retry``..."""
    found = [e for e in at.get("bidi_component") if e.proto.component_name.endswith("rating_deck")]
    assert found, "no rating deck on the page"
    proto = found[0].proto
    return json.loads(proto.json or proto.mixed.json)


def queue_films(at: AppTest) -> list[int]:
    """movieIds of the cards the elicitation engine gave the deck, the one on screen first."""
    return [int(card["id"]) for card in deck(at)["cards"]]


class _DeckState(Widget):
    """Stands in for the deck's browser side in the element tree, so ``at.run()`` sends the
    state the deck's JavaScript sends after a tap: ``{"queue": {mount, answers: [...]}}``."""

    def __init__(self, node, value: dict) -> None:
        self.proto, self.root, self.type = node.proto, node.root, "bidi_component"
        self.id, self.disabled, self._value = node.proto.id, False, value
        self.key = None

    @property
    def value(self) -> dict:
        return self._value

    @property
    def _widget_state(self) -> WidgetState:
        ws = WidgetState()
        ws.id = self.id
        ws.json_value = json.dumps(self._value)
        return ws


def _replace_node(block, old, new) -> bool:
    for index, child in list(getattr(block, "children", {}).items()):
        if child is old:
            block.children[index] = new
            return True
        if _replace_node(child, old, new):
            return True
    return False


def send_deck_queue(at: AppTest, answers: list[dict], mount: str = "apptest") -> None:
    """Send the deck's queue state as its JavaScript does (every unacknowledged answer, each
    ``{"seq", "movie", "stars"}``), and run."""
    node = next(e for e in at.get("bidi_component") if e.proto.component_name.endswith("deck"))
    value = {"queue": {"mount": mount, "answers": answers, "attempt": 0}}
    assert _replace_node(at._tree, node, _DeckState(node, value))
    at.run()
    assert_ok(at)


def answer(at: AppTest, movie_id: int, option: str) -> None:
    """Tap a rating on the deck: '0.5'..'5.0' or 'unseen' (the deck queues it with the next
    sequence number of this page load; the server has acknowledged the earlier ones)."""
    seq = getattr(at, "_deck_seq", 0) + 1
    at._deck_seq = seq  # type: ignore[attr-defined]
    stars = None if option == "unseen" else float(option)
    send_deck_queue(at, [{"seq": seq, "movie": movie_id, "stars": stars}])


def seed_room(name: str, members: dict[str, dict[int, float | None]]) -> tuple[str, dict[str, str]]:
    """A room made straight in the store: ``{member: {movieId: stars or None}}``."""
    s = store()
    room = s.create_room(name)
    tokens = {}
    for member, answers in members.items():
        token = s.add_member(room.code, member).token
        tokens[member] = token
        for movie_id, stars in answers.items():
            s.set_rating(token, movie_id, stars)
    return room.code, tokens


def frame_with(at: AppTest, column: str):
    """The first dataframe on the page that has ``column``."""
    found = [df.value for df in at.dataframe if column in df.value.columns]
    assert found, f"no table with a {column!r} column on the page"
    return found[0]


def picks_frame(at: AppTest):
    """The picks table on the Picks page as a DataFrame: "#", "Film", the strategy's score (its
    header is the strategy's own label), then one column per member."""
    return frame_with(at, "#")


def score_column(frame) -> str:
    """The header of the picks table's score column (the strategy's label for its score)."""
    return str(frame.columns[2])


def member_counts(at: AppTest) -> dict[str, tuple[int, int]]:
    """The Room page's member list: name -> (films rated, not seen), read from its HTML."""
    for element in at.html:
        body = element.proto.body
        if 'class="mn-members"' in body:
            rows = re.findall(
                r'<span class="mn-who">(.*?)</span> <span class="mn-counts">(\d+) rated · '
                r"(\d+) not seen</span>",
                body,
            )
            return {html.unescape(n): (int(r), int(u)) for n, r, u in rows}
    raise AssertionError("no member list on the page")


def host_room(at: AppTest, name: str) -> tuple[str, str]:
    """Create a room in the page and return (code, host token from the URL)."""
    code = create_room(at, name)
    return code, at.query_params["host"]
