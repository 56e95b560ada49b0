"""Real browser, Explore on a 390×844 phone with the app's default model: two members with
opposite stars for Forrest Gump are on the film graph; tapping a film opens its card, "Centre
here" moves the centre (and the URL) with a way back, the host gathers two films for tonight's
vote and starts it; a one-finger swipe over the graph and over the taste map scrolls the page.
Screenshots go to test-artifacts/. Uses test_browser.py's live server and Chromium (skipped
where absent)."""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401
    PHONE,
    STEP_MS,
    browser,
    go,
    join_as,
    rate_first_card,
    server,
    settle,
    shot,
    sync_api,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GUMP = "Forrest Gump (1994)"
# the page's scrolling element, whichever Streamlit uses: the largest scrollTop on the page
SCROLLED = """() => Math.max(window.scrollY, ...Array.from(document.querySelectorAll('*'))
    .filter(e => e.scrollHeight > e.clientHeight + 10).map(e => e.scrollTop))"""


def rate_by_search(page, query: str, title: str, stars: str) -> None:
    page.get_by_label("Search for a film").first.press_sequentially(query, delay=60)
    page.get_by_role("button", name=title).first.click()
    page.locator(".mn-card .mn-title", has_text=title.split(" (")[0]).first.wait_for(
        timeout=STEP_MS
    )
    rate_first_card(page, stars)


def graph_frame(page):
    frame = page.frame_locator("iframe").first
    frame.locator("#mynetwork canvas").wait_for(timeout=STEP_MS)
    page.wait_for_timeout(1500)  # the layout settles (150 stabilisation steps)
    return frame


def tap_node(page, label_start: str | None = None, skip_centre: bool = True) -> str:
    """Tap a node of the graph (the first whose label starts with ``label_start``, else the
    first that is not the centre); returns its card's title."""
    handle = page.locator("iframe").first.element_handle()
    inner = handle.content_frame()
    spot = inner.evaluate(
        """([start, skip]) => {
            const ids = nodes.getIds();
            const centreId = ids.find(i => nodes.get(i).shape === 'star');
            const id = ids.find(i => (start ? nodes.get(i).label.replace(/\\n/g, ' ')
                                        .startsWith(start) : !(skip && i === centreId)));
            const p = network.canvasToDOM(network.getPositions([id])[id]);
            return {x: p.x, y: p.y, id: id};
        }""",
        [label_start, skip_centre],
    )
    box = inner.locator("#mynetwork").bounding_box()
    frame_box = handle.bounding_box()
    page.touchscreen.tap(
        frame_box["x"] + (box["x"] - frame_box["x"]) + spot["x"],
        frame_box["y"] + (box["y"] - frame_box["y"]) + spot["y"],
    )
    card = inner.locator("#card")
    card.wait_for(state="visible", timeout=STEP_MS)
    return card.locator("h3").inner_text()


def swipe_scrolls(page, selector: str) -> tuple[float, float]:
    """A one-finger upward swipe over ``selector``: the page's scroll position before and after."""
    target = page.locator(selector).first
    target.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = target.bounding_box()
    before = page.evaluate(SCROLLED)
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Input.synthesizeScrollGesture",
        {
            "x": box["x"] + box["width"] / 2,
            "y": min(box["y"] + box["height"] / 2, 700),
            "yDistance": -300,
            "gestureSourceType": "touch",
            "speed": 800,
        },
    )
    page.wait_for_timeout(600)
    return before, page.evaluate(SCROLLED)


def test_explore_on_a_phone(server, browser):  # noqa: F811
    maya = browser.new_context(**PHONE).new_page()
    maya.goto(server)
    maya.get_by_role("heading", name="Start a room").wait_for(timeout=STEP_MS)
    maya.get_by_label("Room name").fill("Explore night")
    maya.get_by_role("button", name="Create room").click()
    maya.wait_for_url(re.compile(r"host="), timeout=STEP_MS)
    qr = maya.locator('img[alt^="QR code of"]')
    qr.wait_for(timeout=STEP_MS)
    room_link = qr.get_attribute("alt").removeprefix("QR code of ")
    join_as(maya, "Maya")
    rate_by_search(maya, "forrest gump", "Forrest Gump (1994)", "5★")

    tom = browser.new_context(**PHONE).new_page()
    tom.goto(room_link)
    join_as(tom, "Tom")
    rate_by_search(tom, "forrest gump", "Forrest Gump (1994)", "1★")
    tom.context.close()

    go(maya, "Explore")
    maya.get_by_role("radio", name="Film graph").click()
    settle(maya)
    frame = graph_frame(maya)
    # both members' stars are on the centre film, and the tap card says who would like what
    centre = frame.locator("#mynetwork")
    labels = (
        maya.locator("iframe")
        .first.element_handle()
        .content_frame()
        .evaluate("() => nodes.get().map(n => n.label.replace(/\\n/g, ' '))")
    )
    assert any(GUMP in label and "Maya 5★" in label and "Tom 1★" in label for label in labels)
    title = tap_node(maya)
    card = frame.locator("#card")
    text = card.inner_text()
    assert "Maya:" in text and "Tom:" in text, text
    assert frame.get_by_role("link", name="Centre here").is_visible()
    assert frame.get_by_role("link", name="Add to tonight's vote").is_visible()  # the host
    shot(maya, "explore-01-graph-card")
    assert centre.bounding_box()["width"] <= 390

    # Centre here: the URL names the film, the caption follows, and a button leads back
    frame.get_by_role("link", name="Centre here").click()
    maya.wait_for_url(re.compile(r"film=\d+.*trail=|trail=.*film=\d+"), timeout=STEP_MS)
    settle(maya)
    maya.get_by_text(title, exact=False).first.wait_for(timeout=STEP_MS)
    maya.get_by_role("button", name=f"← Back to {GUMP}").wait_for(timeout=STEP_MS)
    frame = graph_frame(maya)
    shot(maya, "explore-02-recentred")

    # two films for tonight's vote, then the vote starts
    for _ in range(2):
        frame = graph_frame(maya)
        tap_node(maya)
        frame.get_by_role("link", name="Add to tonight's vote").click()
        maya.get_by_text("is on your list for tonight's vote").wait_for(timeout=STEP_MS)
        settle(maya)
    maya.get_by_role("button", name=re.compile(r"Start tonight's vote on these 2")).click()
    maya.get_by_text("Tonight's vote is open").wait_for(timeout=STEP_MS)
    settle(maya)
    frame = graph_frame(maya)
    ringed = (
        maya.locator("iframe")
        .first.element_handle()
        .content_frame()
        .evaluate("() => nodes.get().filter(n => n.borderWidth === 5).length")
    )
    assert ringed >= 1  # films in tonight's vote wear a ring
    shot(maya, "explore-03-vote-open")

    # one finger scrolls the page over the graph, and over the taste map
    before, after = swipe_scrolls(maya, "iframe")
    assert after > before + 50, (before, after)
    maya.get_by_role("radio", name="Taste map").click()
    settle(maya)
    maya.locator(".js-plotly-plot").first.wait_for(timeout=STEP_MS)
    before, after = swipe_scrolls(maya, ".js-plotly-plot")
    assert after > before + 50, (before, after)
    shot(maya, "explore-04-map")
    sync_api.expect(maya.get_by_text("Double-click to zoom back out")).to_have_count(0)
