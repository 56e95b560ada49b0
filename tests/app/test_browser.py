"""Real-browser test: a live ``streamlit run`` server with the app's default model (the hybrid),
driven by headless Chromium (Playwright) on a 390×844 phone and a 1366×900 laptop.

One evening, as a group has it (``TestAnEveningOnAPhoneAndALaptop``, one test per step on one
server and one browser, in order; a failed step skips the steps after it, naming it): the host creates a room on the laptop and joins; a friend joins
on the phone by the room link; both rate; Picks shows bars with a real width on both screens and
updates by itself when a third member joins and rates; the settings survive a reload; the host
runs Tonight's vote, everyone answers on their own screen, the tally follows live and the vote
ends in a match; the factor map places every member. Screenshots (whole pages) go to
test-artifacts/. Skipped, with the reason, where Debian's /usr/bin/chromium or Playwright is
missing.

The hybrid is trained once per test session (``trained_hybrid``) into the session's data dir,
which the server reads, so the server only loads it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from browser_helpers import (
    BROWSER_MARKS,
    PHONE,
    STEP_MS,
    chromium,
    deck_saved,
    room_to_scroll,
    settle,
    settle_scroll,
    shot,
    streamlit_server,
    swipe_up,
)

from app.store import Store
from engine.elicit.personal import taps_until_personal

LIVE_MS = 20_000  # "within ~5 s" on a quiet machine; generous for busy CI cores
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
LONG_NAME = "Annabelle Featherstonehaugh-Smythe"
MIN_TRACK_PX = 100  # a bar track narrower than this is not a readable bar
TAP_PX = 44  # WCAG 2.5.5 target size

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


class Served(str):
    """The server's URL (a ``str``, for ``page.goto``) that also knows the server's database,
    so a test can check what was saved against what was tapped."""

    db_url: str

    def store(self):
        return Store(self.db_url)


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained_hybrid):
    """``streamlit run streamlit_app.py`` with the app's own default model and a private
    database; yields its URL (a ``Served``)."""
    tmp = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{tmp / 'movienight.db'}"
    with streamlit_server(db_url, trained_hybrid, tmp / "streamlit.log") as url:
        served = Served(url)
        served.db_url = db_url
        yield served
    assert "default value but also had its value set" not in (tmp / "streamlit.log").read_text()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


# --------------------------------------------------------------------------- helpers


def go(page, title: str) -> None:
    """Open a page from the navigation (sidebar on a laptop, its menu on a phone)."""
    link = page.get_by_test_id("stSidebarNavLink").filter(has_text=title).first
    box = link.bounding_box()
    folded = box is None or box["x"] + box["width"] <= 0  # a phone: the sidebar is folded away
    if folded:
        page.get_by_test_id("stExpandSidebarButton").click()
        page.wait_for_timeout(500)
    link.click()
    if folded:  # on a phone it stays open over the page after choosing: fold it again
        page.get_by_test_id("stSidebarCollapseButton").click()
    settle(page)


def join_as(page, name: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join as member").click()
    page.wait_for_url(re.compile(r"member="), timeout=STEP_MS)
    page.locator(".mn-status").get_by_text(name).wait_for(timeout=STEP_MS)
    page.locator(".deck .title:visible").last.wait_for(timeout=STEP_MS)
    settle(page)


def choose_strategy(page, label: str) -> None:
    """Pick a group strategy and wait for it to reach the URL (once: the live list redraws in
    place and never reruns the page, so nothing puts an older URL back; see
    tests/app/test_browser_picks.py)."""
    page.get_by_label("How to balance the group").click()
    page.get_by_role("option", name=label, exact=True).click()
    page.wait_for_url(re.compile(rf"strategy={label}"), timeout=STEP_MS)


def rate_first_card(page, label: str) -> None:
    """Tap a rating on the deck's card and wait for the next film to take its place (in the
    browser: the deck does not wait for the server)."""
    card = page.locator(".deck .card:visible").last
    movie = card.get_attribute("data-movie")
    page.locator(".deck .stars:visible").last.get_by_role("radio", name=label, exact=True).click()
    sync_api.expect(card).not_to_have_attribute("data-movie", movie, timeout=STEP_MS)


def picks_link(page):
    """The Room page's way to the group's picks."""
    return page.get_by_test_id("stPageLink").filter(has_text="See the group's picks")


def widths(page, selector: str) -> list[float]:
    return page.locator(selector).evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)"
    )


def heights(page, selector: str) -> list[float]:
    return page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height)"
    )


def answer_ballot(page, choices: list[str]) -> None:
    cards = page.locator('[class*="st-key-mn_ballot"]')
    sync_api.expect(cards).to_have_count(len(choices), timeout=LIVE_MS)
    for i, choice in enumerate(choices):
        group = cards.nth(i).locator('[data-testid="stButtonGroup"]').first
        group.get_by_role("radio", name=choice, exact=True).click()
        sync_api.expect(group.get_by_role("radio", name=choice, exact=True)).to_be_checked(
            timeout=STEP_MS
        )
    settle(page)


def map_members(page) -> dict:
    """The factor map's members as the browser has them (plotly's own data)."""
    page.locator(".js-plotly-plot").first.wait_for(timeout=STEP_MS)
    return page.evaluate(
        """() => { const g = document.querySelector('.js-plotly-plot');
            const t = g.data.find(d => d.name === 'room members');
            return {names: t ? Array.from(t.text) : [],
                    labels: Array.from(document.querySelectorAll('.annotation-text'))
                               .map(e => e.textContent)}; }"""
    )


def finger_on(page, selector: str, owner: str) -> tuple[float, float]:
    """A point on screen over ``selector`` (brought into view first) where the element under the
    finger really is it (``owner``: a class or test id of it or of an ancestor)."""
    target = page.locator(selector).first
    target.evaluate("e => e.scrollIntoView({block: 'center'})")
    settle_scroll(page)
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, min(box["y"] + box["height"] / 2, 844 - 300)
    y = max(y, box["y"] + 20)
    hit = page.evaluate(
        """([x, y, owner]) => { const e = document.elementFromPoint(x, y);
            return !!e && !!e.closest(`.${owner}, [data-testid="${owner}"]`); }""",
        [x, y, owner],
    )
    assert hit, f"the finger at ({x}, {y}) is not on {selector}"
    return x, y


def open_graph(page) -> None:
    """Explore's film graph, drawn (vis-network has laid its films out)."""
    page.get_by_role("radio", name="Film graph", exact=True).tap()
    settle(page)
    graph_frame(page).wait_for_function(
        "() => window.graphSettled === true && nodes.length > 1 && "
        "network.getPositions(nodes.getIds())[nodes.getIds()[1]] !== undefined",
        timeout=STEP_MS,
    )


def graph_frame(page):
    return page.locator('iframe[title="st.iframe"]').first.element_handle().content_frame()


def tap_graph_film(page):
    """Tap the first film of the graph other than its centre; returns its open card."""
    frame = graph_frame(page)
    page.locator('iframe[title="st.iframe"]').first.evaluate(
        "e => e.scrollIntoView({block: 'center'})"
    )
    settle_scroll(page)
    spot = frame.evaluate(
        """() => { network.fit(); const id = nodes.getIds()[1];
            const p = network.canvasToDOM(network.getPositions([id])[id]);
            const r = document.getElementById('mynetwork').getBoundingClientRect();
            return {x: r.left + p.x, y: r.top + p.y}; }"""
    )
    page.wait_for_timeout(400)
    box = page.locator('iframe[title="st.iframe"]').first.bounding_box()
    x, y = box["x"] + spot["x"], box["y"] + spot["y"]
    assert 0 < y < 844, f"the film is off screen at y={y}"
    page.touchscreen.tap(x, y)
    card = page.frame_locator('iframe[title="st.iframe"]').locator("#card")
    card.wait_for(state="visible", timeout=STEP_MS)
    return card


# --------------------------------------------------------------------------- the evening


@dataclass
class Evening:
    """What the evening's steps share: the server, and the pages and facts a step leaves for
    the next (the browser contexts stay open between steps)."""

    server: Served
    host: Any  # the host's laptop
    phone: Any  # Bob's phone
    room_link: str = ""  # the guests' link, from the room's QR code
    late: Any = None  # Cy's phone, from the step where he joins


@pytest.fixture(scope="class")
def evening(server, browser) -> Iterator[Evening]:
    laptop = browser.new_context(**LAPTOP)
    phone_ctx = browser.new_context(**PHONE)
    late_ctx = browser.new_context(**PHONE)
    yield Evening(server, laptop.new_page(), phone_ctx.new_page(), late=late_ctx.new_page())
    for context in (laptop, phone_ctx, late_ctx):
        context.close()


@pytest.mark.usefixtures("in_order")
class TestAnEveningOnAPhoneAndALaptop:
    """One evening, step by step, on one server and one browser: a step that fails says so,
    and the steps after it are skipped, naming it."""

    def test_the_host_starts_a_room_on_the_laptop(self, evening):
        """A host link, and a QR code of the guests' link; the host joins and rates."""
        host = evening.host
        host.goto(evening.server)
        host.get_by_role("heading", name="Start a room").wait_for(timeout=STEP_MS)
        host.get_by_label("Room name").fill("Browser <b>night</b>")
        host.get_by_role("button", name="Create room").click()
        host.wait_for_url(re.compile(r"host="), timeout=STEP_MS)
        host.get_by_role("heading", name="Browser <b>night</b>").wait_for(timeout=STEP_MS)
        assert host.locator("b", has_text="night").count() == 0  # the name is text, not markup
        qr = host.locator('img[alt^="QR code of"]')
        qr.wait_for(timeout=STEP_MS)
        room_link = qr.get_attribute("alt").removeprefix("QR code of ")
        assert "room=" in room_link and "host=" not in room_link and "member=" not in room_link
        evening.room_link = room_link
        join_as(host, LONG_NAME)
        for stars in ["4.5 stars", "5 stars", "1 star"]:
            rate_first_card(host, stars)
        shot(host, "laptop-01-room-rated")

    def test_a_friend_joins_on_the_phone_by_the_link_and_rates(self, evening):
        """Progress and the way to the picks come first, sized for a finger."""
        phone = evening.phone
        phone.goto(evening.room_link)
        join_as(phone, "Bob")
        head = phone.locator(".deck .head:visible").last
        for stars in ["2 stars", "Haven't seen it"]:
            rate_first_card(phone, stars)
        # how close the picks are, said as the engine computes it, on the deck's live counts
        close = taps_until_personal(rated=1, skipped=1)
        sync_api.expect(head).to_contain_text(f"1 rated · {close.ratings_left} more film")
        sync_api.expect(head).to_contain_text(f"about {close.taps_left} cards")
        for stars in ["3.5 stars", "4 stars"]:
            rate_first_card(phone, stars)
        # the member's count moves with each tap, in the deck, before the server answers
        head.get_by_text("3 rated · your picks are yours").wait_for(timeout=STEP_MS)
        status_y = phone.locator(".mn-status").bounding_box()["y"]
        stars_box = phone.locator(".deck .stars:visible").last.bounding_box()
        assert status_y < phone.locator(".deck .card:visible").last.bounding_box()["y"]
        assert stars_box["y"] + stars_box["height"] <= 844  # the whole card, buttons and all
        assert picks_link(phone).locator("a").bounding_box()["height"] >= TAP_PX
        buttons = heights(phone, ".deck .stars button")
        assert buttons and min(buttons) >= TAP_PX, buttons

    def test_search_as_you_type_finds_a_film_despite_a_typo(self, evening):
        """In the browser: a typo still finds the film, no Enter needed."""
        phone = evening.phone
        phone.locator(".deck .search-input:visible").last.press_sequentially("matirx", delay=80)
        result = phone.locator(".deck .results:visible").last.get_by_role(
            "button", name="The Matrix (1999)"
        )
        result.wait_for(timeout=STEP_MS)
        assert result.bounding_box()["height"] >= TAP_PX
        result.click()
        phone.locator(".deck .title:visible", has_text="The Matrix").wait_for(timeout=STEP_MS)
        shot(phone, "phone-01-room")

    def test_picks_show_bars_of_a_real_width_on_both_screens(self, evening):
        """A reason in plain words per pick, and under Details the per-member bars with a real
        width, long name and all."""
        phone, host = evening.phone, evening.host
        picks_link(phone).click()
        settle(phone)
        sync_api.expect(phone.locator(".mn-pick")).to_have_count(10, timeout=STEP_MS)
        phone.locator(".mn-pick summary").first.click()
        tracks = widths(phone, ".mn-pick >> nth=0 >> .mn-bars .mn-track")
        assert len(tracks) == 2 and min(tracks) >= MIN_TRACK_PX, tracks
        shot(phone, "phone-02-picks")
        go(host, "Picks")
        sync_api.expect(host.locator(".mn-pick")).to_have_count(10, timeout=STEP_MS)
        host.locator(".mn-pick summary").first.click()
        tracks = widths(host, ".mn-pick >> nth=0 >> .mn-bars .mn-track")
        assert len(tracks) == 2 and min(tracks) >= 1.5 * MIN_TRACK_PX, tracks

    def test_picks_update_by_themselves_when_a_third_member_joins_and_rates(self, evening):
        """While the host looks at Picks, Cy joins on his phone and rates."""
        host, late = evening.host, evening.late
        late.goto(evening.room_link)
        join_as(late, "Cy")
        started = time.monotonic()
        host.locator(".mn-pick .mn-bars").first.get_by_text("Cy", exact=True).wait_for(
            state="attached", timeout=LIVE_MS
        )  # in the first pick's Details, which a live redraw closes again
        host.get_by_text(re.compile(r"Not rated anything yet: Cy")).wait_for(timeout=LIVE_MS)
        joined_s = time.monotonic() - started
        for stars in ["5 stars", "4 stars"]:
            rate_first_card(late, stars)
        deck_saved(late)  # both answers on the server before the host's list is compared below
        sync_api.expect(host.get_by_text(re.compile("Not rated anything yet"))).to_have_count(
            0, timeout=LIVE_MS
        )
        assert joined_s < LIVE_MS / 1000
        # Cy's second answer may reach the host one poll (1.5 s) after the first: let it land,
        # so the next step's reload compares like with like
        host.wait_for_timeout(3_500)
        settle(host)
        shot(host, "laptop-02-picks-live")

    def test_the_settings_survive_a_reload(self, evening):
        """Settings are in the URL: a reload (or the link, shared) shows the same picks."""
        host = evening.host
        choose_strategy(host, "Average")
        settle(host)
        before = host.locator(".mn-pick .mn-title").all_inner_texts()
        host.reload()
        sync_api.expect(host.locator(".mn-pick")).to_have_count(10, timeout=STEP_MS)
        settle(host)
        after = host.locator(".mn-pick .mn-title").all_inner_texts()
        # The same strategy and films come back from the URL. The order below the top five is
        # compared as a set: the hybrid's "Average" scores for this room tie to the fourth
        # decimal (~4.995★), and two computations can swap such films (docs/KNOWN_ISSUES.md
        # KI-13).
        strip = lambda titles: [re.sub(r"^\d+", "", t) for t in titles]  # noqa: E731
        assert strip(after)[:5] == strip(before)[:5] and set(strip(after)) == set(strip(before))

    def test_the_host_opens_tonights_vote_and_the_tally_follows_a_phones_ballot(self, evening):
        host, phone = evening.host, evening.phone
        host.get_by_role("button", name=re.compile("Start the vote")).click()
        host.get_by_text("0 of 3 have voted").wait_for(timeout=STEP_MS)
        settle(host)
        answer_ballot(phone, ["Seen it, happy to rewatch", "Yes", "Not tonight", "Yes", "Yes"])
        answers = heights(phone, '[class*="st-key-mn_ballot"] [data-testid="stButtonGroup"] button')
        assert answers and min(answers) >= TAP_PX, answers
        shot(phone, "phone-03-ballot")
        started = time.monotonic()
        host.get_by_text("1 of 3 have voted").wait_for(timeout=LIVE_MS)
        tally_s = time.monotonic() - started
        assert tally_s < LIVE_MS / 1000

    def test_everyone_votes_on_their_own_screen(self, evening):
        """Cy is still on the Room page: its live status line leads him to the vote."""
        host, late = evening.host, evening.late
        late.get_by_text("Tonight's vote is open: vote now").click(timeout=LIVE_MS)
        settle(late)
        answer_ballot(late, ["Yes", "Yes", "Yes", "Seen it, skip", "Not tonight"])
        host.get_by_text("2 of 3 have voted").wait_for(timeout=LIVE_MS)
        answer_ballot(host, ["Yes", "Not tonight", "Yes", "Yes", "Yes"])
        host.get_by_text("3 of 3 have voted").wait_for(timeout=LIVE_MS)
        shot(host, "laptop-03-tally")

    def test_closing_the_vote_shows_the_match_on_both_screens(self, evening):
        """First film: everyone accepts (yes, rewatch, yes): the match."""
        host, phone = evening.host, evening.phone
        host.get_by_role("button", name=re.compile("Close the vote")).click()
        host.get_by_text("It's a match").wait_for(timeout=STEP_MS)
        phone.get_by_text("It's a match").wait_for(timeout=LIVE_MS)
        settle(phone)
        shot(host, "laptop-04-match")
        shot(phone, "phone-04-match")

    @pytest.mark.parametrize("screen", ["phone", "host"])
    def test_every_member_is_on_the_factor_map(self, evening, screen):
        """The factor map of the default model places every member, legend below the plot."""
        page = getattr(evening, screen)
        go(page, "Explore")
        found = map_members(page)
        assert sorted(found["names"]) == sorted([LONG_NAME, "Bob", "Cy"]), found
        assert sorted(found["labels"]) == sorted([LONG_NAME, "Bob", "Cy"]), found
        plot = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()  # the plot area
        legend = page.locator(".js-plotly-plot .legend").first.bounding_box()
        assert legend["y"] >= plot["y"] + plot["height"]  # the legend sits below the plot
        shot(page, {"phone": "phone-05-map", "host": "laptop-05-map"}[screen])

    def test_one_finger_scrolls_a_phone_past_the_taste_map_and_the_graph(self, evening):
        """A vertical swipe that starts on the map or on the graph moves the page, not the
        plot (before, a swipe on the map zoomed it and one on the graph panned it out of view)."""
        phone = evening.phone
        for where, owner in [(".js-plotly-plot .nsewdrag", "js-plotly-plot"),
                             ('iframe[title="st.iframe"]', "stIFrame")]:  # fmt: skip
            if owner == "stIFrame":
                open_graph(phone)
            finger = finger_on(phone, where, owner)
            room = room_to_scroll(phone)  # near the page's end there may be less than 100 px
            moved = swipe_up(phone, *finger)
            assert moved >= min(100, room - 1) and moved > 0, (where, moved, room)

    def test_a_tap_on_a_graph_film_shows_the_members_and_centres_it(self, evening):
        """Bob's phone: a film's card gives each member's stars; "Centre here" re-centres the
        page on it, with the way back."""
        phone = evening.phone
        card = tap_graph_film(phone)
        text = card.inner_text()
        for name in (LONG_NAME, "Bob", "Cy"):
            assert f"{name}:" in text, text  # each member's predicted or given stars
        shot(phone, "phone-06-graph-card")
        film = card.locator("h3").inner_text()
        card.get_by_role("link", name="Centre here").tap()
        phone.wait_for_url(re.compile(r"film=\d+.*trail=|trail=.*film=\d+"), timeout=STEP_MS)
        settle(phone)
        phone.get_by_text(f"{film} and the", exact=False).first.wait_for(timeout=STEP_MS)
        shot(phone, "phone-07-graph-centred")

    def test_the_host_adds_a_film_to_tonights_vote_from_the_graph_on_a_phone(self, evening):
        """The host, on a phone by the host link: a film's card adds it to the list for the
        next vote (guests' cards have no such action)."""
        assert "Add to tonight's vote" not in tap_graph_film(evening.phone).inner_text()
        hosting = evening.host.context.browser.new_context(**PHONE)
        try:
            phone = hosting.new_page()
            phone.goto(evening.host.url)
            go(phone, "Explore")
            open_graph(phone)
            card = tap_graph_film(phone)
            film = card.locator("h3").inner_text()
            card.get_by_role("link", name="Add to tonight's vote").tap()
            phone.get_by_text(f"{film} is on your list for tonight's vote").wait_for(
                timeout=STEP_MS
            )
            listed = phone.locator(".st-key-mn_explore_shortlist")
            sync_api.expect(listed).to_contain_text(film)
            shot(phone, "phone-08-graph-added-to-vote")
        finally:
            hosting.close()


def test_switching_member_survives_the_back_button(server, browser):
    """In the browser's own history: "Not me" then Back must not sign the old member in (it did)."""
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(server)
    phone.get_by_label("Room name").fill("Shared phone")
    phone.get_by_role("button", name="Create room").click()
    phone.wait_for_url(re.compile(r"room="), timeout=STEP_MS)
    join_as(phone, "Gus")
    gus = re.search(r"member=([^&]+)", phone.url).group(1)
    phone.get_by_role("button", name="Not me: switch member").click()
    phone.get_by_label("Your name").wait_for(timeout=STEP_MS)
    settle(phone)
    phone.go_back()  # the URL with Gus's token comes back from the browser's history
    settle(phone)
    # Streamlit does not rerun a page for a Back within the same page, so the URL may show the
    # old token until the next run; what matters is that nobody acts as Gus: the page stays
    # signed out, and the next person to join is themselves, with their own token.
    phone.get_by_label("Your name").wait_for(timeout=STEP_MS)
    assert phone.locator(".mn-status").count() == 0
    join_as(phone, "Hal")
    phone.locator(".mn-status").get_by_text("Hal").wait_for(timeout=STEP_MS)
    assert gus not in phone.url and "member=" in phone.url
