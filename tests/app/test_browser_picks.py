"""Real-browser tests of the Picks page (headless Chromium, a live server, the app's default model):
a strategy chosen while the room keeps changing stays chosen in the URL and the list, and on a
390x844 phone the whole first pick card is on the first screen.

The room is arranged straight in the store the server reads (same database URL); the expected
list is computed in this process from the same saved model, through the same
``app.services.room_input`` the page uses. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from browser_helpers import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    STEP_MS,
    chromium,
    settle,
    shot,
    streamlit_server,
)
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from app.services.room_input import PicksOptions, room_input
from app.store import Store
from engine.data import load_embedded
from engine.group import STRATEGIES, recommend
from engine.train import load_or_train

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

# MovieLens movieIds: Ana likes big action and sci-fi, Chloé dramas, Ben a bit of both.
ANSWERS = {
    "Ana": {260: 5.0, 2571: 5.0, 589: 4.5, 480: 4.0, 318: 3.0, 356: 2.0},
    "Chloé <i>": {318: 5.0, 356: 5.0, 527: 4.5, 260: 2.0, 2571: 1.5, 593: 4.5},
    "Ben": {1: 4.0, 296: 4.5, 593: 3.5, 47: 4.0},
}
CHURN_FILM = 2959  # Ben keeps changing his stars for Fight Club while the page is open
PAGE_OPTIONS = {"k": 10, "min_ratings": 10}  # the Picks page's defaults
LIVE_S = 4.5  # three polls of the live page (1.5 s each)
CHOICES = ["Average", "Least misery", "Borda count", "Most pleasure", "Average"]


@pytest.fixture(scope="module")
def room(tmp_path_factory, trained_hybrid):
    """A live server, a store on its database, and a hosted room of three members who have
    answered: (server URL, store, room code, host token, {name: member token})."""
    tmp = tmp_path_factory.mktemp("browser-picks")
    db_url = f"sqlite:///{tmp / 'movienight.db'}"
    store = Store(db_url)
    hosted = store.tonight.create_hosted_room("Friday <b>films</b>")
    tokens = {}
    for name, answers in ANSWERS.items():
        tokens[name] = store.add_member(hosted.code, name).token
        for movie_id, stars in answers.items():
            store.set_rating(tokens[name], movie_id, stars)
    with streamlit_server(db_url, trained_hybrid, tmp / "streamlit.log") as url:
        yield url, store, hosted.code, hosted.host_token, tokens
    store.dispose()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def expected_picks(trained_hybrid):
    """strategy name -> the movieIds the page should list for the room as it is now."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOVIENIGHT_DATA_DIR", str(trained_hybrid))
        catalogue = load_embedded(trained_hybrid / "datasets")
        model, _ = load_or_train("hybrid", catalogue)

    def picks(store, code: str, strategy: str) -> list[int]:
        options = PicksOptions(strategy=strategy, **PAGE_OPTIONS)
        inp = room_input(store, code, pd.Index(catalogue.item_ids), options)
        frame = recommend(
            model, catalogue, inp.members, strategy, options.k, inp.exclude, inp.filters
        )
        return [int(m) for m in frame["movieId"]]

    return picks


def drawn(page):
    """The first pick card, once drawn whole (its text and its button, not a placeholder)."""
    first = page.locator('[class*="st-key-mn_pick_"]').first
    first.locator(".mn-why").wait_for(timeout=STEP_MS)
    settle(page)
    sync_api.expect(first.get_by_role("button", name="We watched it")).to_be_visible()
    return first


def open_picks(browser, url: str, code: str, token: str, context: dict):
    page = browser.new_context(**context).new_page()
    page.goto(f"{url}/picks?room={code}&member={token}")
    drawn(page)
    return page


def shown_films(page) -> list[int]:
    """The movieIds of the pick cards, top to bottom (each card's container is keyed by it)."""
    classes = page.locator('[class*="st-key-mn_pick_"]').evaluate_all(
        "els => els.map(e => e.className)"
    )
    return [int(m) for c in classes for m in re.findall(r"st-key-mn_pick_(\d+)\b", c)]


def url_strategy(page) -> str | None:
    return parse_qs(urlparse(page.url).query).get("strategy", [None])[0]


def choose(page, label: str) -> None:
    page.get_by_label("How to balance the group").click()
    page.get_by_role("option", name=label, exact=True).click()


def keep_changing(store, token: str, stop: threading.Event) -> None:
    """Another member's answers landing every 0.3 s: every poll of the live page finds the
    room changed."""
    stars = [4.0, 4.5]
    i = 0
    while not stop.wait(0.3):
        store.set_rating(token, CHURN_FILM, stars[i % 2])
        i += 1


def record_runs(page) -> list[tuple[str, ...]]:
    """The script runs the server starts for this page, as their fragment ids (empty: the whole
    page), read from the websocket's ``new_session`` messages as they arrive."""
    runs: list[tuple[str, ...]] = []

    def on_frame(payload) -> None:
        if isinstance(payload, bytes | bytearray):
            msg = ForwardMsg.FromString(bytes(payload))
            if msg.WhichOneof("type") == "new_session":
                runs.append(tuple(msg.metadata.run.fragment_ids))

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return runs


def test_the_live_list_redraws_in_place_and_never_reruns_the_page(room, browser, expected_picks):
    """The cause of the URL race: a live update must not make the server rerun the whole page
    (such a rerun carries the query string of an older request)."""
    url, store, code, _host, tokens = room
    page = browser.new_context(**DESKTOP).new_page()
    runs = record_runs(page)
    page.goto(f"{url}/picks?room={code}&member={tokens['Chloé <i>']}")
    drawn(page)
    opened = len(runs)
    assert opened >= 1 and runs[0] == ()  # the page itself: one whole run
    stop = threading.Event()
    churn = threading.Thread(target=keep_changing, args=(store, tokens["Ben"], stop), daemon=True)
    churn.start()
    try:
        page.wait_for_timeout(2 * LIVE_S * 1000)  # the room changes under the open page
    finally:
        stop.set()
        churn.join()
    page.wait_for_timeout(LIVE_S * 1000)
    settle(page)
    live = runs[opened:]
    assert live and all(fragments for fragments in live), live  # fragments only, never ()
    assert shown_films(page) == expected_picks(store, code, "gfar")  # the default strategy
    page.context.close()


def test_a_strategy_chosen_while_the_live_page_redraws_stays_chosen(room, browser, expected_picks):
    url, store, code, _host, tokens = room
    page = open_picks(browser, url, code, tokens["Ana"], DESKTOP)
    stop = threading.Event()
    churn = threading.Thread(target=keep_changing, args=(store, tokens["Ben"], stop), daemon=True)
    churn.start()
    seen_in_url = []
    try:
        for label in CHOICES:
            choose(page, label)
            page.wait_for_timeout(LIVE_S * 1000)  # live redraws land meanwhile
            seen_in_url.append(url_strategy(page))
            assert seen_in_url[-1] == label, seen_in_url  # the URL keeps the option's label
    finally:
        stop.set()
        churn.join()
    page.wait_for_timeout(LIVE_S * 1000)  # the last change reaches the page
    settle(page)
    assert url_strategy(page) == CHOICES[-1]
    strategy = {label: name for name, label in strategy_labels().items()}[CHOICES[-1]]
    assert shown_films(page) == expected_picks(store, code, strategy)
    page.context.close()


def strategy_labels() -> dict[str, str]:
    return {name: s.label for name, s in STRATEGIES.items()}


def first_screen_box(page, locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


@pytest.mark.parametrize("who", ["member", "host"])
def test_on_a_phone_the_first_pick_is_whole_on_the_first_screen(room, browser, who):
    url, _store, code, host_token, tokens = room
    query = f"member={tokens['Ana']}" if who == "member" else f"host={host_token}"
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{url}/picks?room={code}&{query}")
    first = drawn(page)
    shot(page, f"picks-phone-{who}-screen", full=False)
    box = first_screen_box(page, first)
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["viewport"]["height"], box
    if who == "host":  # the vote is one tap away, on the first screen too
        start = page.get_by_role("button", name=re.compile("Start the vote"))
        start_box = first_screen_box(page, start)
        assert start_box["y"] + start_box["height"] <= PHONE["viewport"]["height"], start_box
    # why it suits whom, in plain words, with every name as text (never as markup)
    why = first.locator(".mn-why").inner_text()
    for name in ANSWERS:
        assert re.search(rf"{re.escape(name)} ~\d\.\d★", why), why
    assert first.locator(".mn-why i").count() == 0
    # the detail folds away and opens in place: everyone's bar, the strategy's reason, its score
    bars = first.locator(".mn-bars .mn-track")
    sync_api.expect(bars.first).to_be_hidden()
    first.locator("summary").click()
    sync_api.expect(bars.first).to_be_visible()
    assert bars.count() == len(ANSWERS)
    assert "Fair share (GFAR)" in first.locator(".mn-more").inner_text()
    shot(page, f"picks-phone-{who}-page")
    page.context.close()


def test_on_a_desktop_the_list_is_compact_and_the_details_are_a_tap_away(room, browser):
    url, _store, code, _host, tokens = room
    page = open_picks(browser, url, code, tokens["Chloé <i>"], DESKTOP)
    cards = page.locator('[class*="st-key-mn_pick_"]')
    sync_api.expect(cards).to_have_count(10, timeout=STEP_MS)
    tallest = max(cards.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)"))
    assert tallest < 250, tallest  # ten of them make a list, not a 5,000 px page
    page.get_by_text("How these picks were chosen").click()
    page.get_by_text("Kaya, Bridge").first.wait_for(timeout=STEP_MS)  # the strategy's citation
    shot(page, "picks-desktop")
    page.context.close()
