"""Real browser, the film graph's page on a 390×844 touch phone: a one-finger swipe over the
graph scrolls the page around it, a tap on a film opens its card with each member's stars,
and "Centre here" takes the whole page to the film's URL with the trail. The page is
``app.widgets.ego_graph``'s own, in an iframe sandboxed as Streamlit's ``st.iframe`` is, so no
server or model is needed. Screenshots go to test-artifacts/; skipped where Debian's chromium
or Playwright is missing."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import networkx as nx
import pytest
from browser_helpers import settle_scroll, swipe_up

from app.widgets.ego_graph import ego_graph_html, vis_network_js

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="needs Debian's chromium at /usr/bin/chromium",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# what Streamlit 1.67 gives st.iframe's srcdoc frames, read from the running app: no
# allow-top-navigation of any kind (this said "-by-user-activation" before, so the test passed
# while "Centre here" did nothing in the app: the browser evening now taps it in the app itself)
SANDBOX = (
    "allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-same-origin "
    "allow-scripts allow-downloads"
)


@dataclasses.dataclass
class Mark:
    member: str
    rated: float | None
    predicted: float | None


def host_page(tmp_path: Path) -> Path:
    """The graph page in an iframe between tall blocks, as the Explore page holds it."""
    graph = nx.Graph(center=1)
    films = {
        1: ("Forrest Gump (1994)", "Drama", 341),
        2: ("The Shawshank Redemption (1994)", "Crime", 311),
        3: ("Toy Story (1995)", "Animation", 247),
        4: ("Apollo 13 (1995)", "Drama", 200),
    }
    for node, (label, genre, n) in films.items():
        graph.add_node(node, label=label, genre=genre, genres=genre, popularity=n)
    for other in (2, 3, 4):
        graph.add_edge(1, other, weight=0.5, reason=f"{10 * other} people loved both")
    marks = {
        n: [Mark("Maya", 5.0 if n == 1 else None, 4.7), Mark("Tom", 1.0 if n == 1 else None, 2.1)]
        for n in films
    }
    links = {n: {"centre": {"film": str(n * 10), "trail": "10"}, "rate": {"rate": str(n)}}
             for n in films}  # fmt: skip
    page = ego_graph_html(graph, marks=marks, links=links)
    outer = tmp_path / "explore.html"
    outer.write_text(
        "<!DOCTYPE html><html><head><meta name='viewport' content='width=device-width'></head>"
        f"<script>{vis_network_js()}</script>"  # as load_vis_network puts it in the app's page
        "<body style='margin:0'><div style='height:260px'>Explore</div>"
        f"<iframe id='graph' sandbox='{SANDBOX}' srcdoc=\"{html.escape(page)}\" "
        "style='width:100%;height:580px;border:0'></iframe>"
        "<div style='height:1600px'>below</div></body></html>",
        encoding="utf-8",
    )
    return outer


def swipe(page, y: float) -> float:
    """A one-finger upward swipe at (195, ``y``) starting from the top of the page; returns how
    far the page scrolled."""
    page.evaluate("() => window.scrollTo(0, 0)")
    return swipe_up(page, 195, y)


@pytest.fixture
def graph_on_a_phone(tmp_path):
    """The graph's page on a touch phone, laid out: (page, the frame's locator, the frame)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(**PHONE).new_page()
            page.goto(host_page(tmp_path).as_uri())
            frame = page.frame_locator("#graph")
            frame.locator("#mynetwork canvas").wait_for(timeout=30_000)
            inner = page.locator("#graph").element_handle().content_frame()
            inner.wait_for_function("() => window.graphSettled === true")  # laid out, frozen
            yield page, frame, inner
        finally:
            browser.close()


def test_the_graph_scrolls_with_one_finger_and_a_tap_leads_somewhere(graph_on_a_phone):
    ARTIFACTS.mkdir(exist_ok=True)
    page, frame, inner = graph_on_a_phone
    page.wait_for_timeout(1500)  # the layout settles
    labels = inner.evaluate("() => nodes.get().map(n => n.label)")
    assert "Forrest Gump\n(1994)\n★ Maya 5★, Tom 1★" in labels  # wrapped for a phone

    # one finger, upwards, over the middle of the graph: the page scrolls
    box = page.locator("#graph").bounding_box()
    assert swipe(page, box["y"] + 300) > 100

    # a tap on a film opens its card: members' stars, why it is linked, what to do next
    def tap_toy_story() -> None:
        # a tap while the page still glides after a swipe only stops the glide (as on
        # a phone): let it stop, then bring the whole graph into view (KI-15)
        settle_scroll(page)
        page.evaluate("() => window.scrollTo(0, 0)")
        settle_scroll(page)
        spot = inner.evaluate(
            """() => { network.fit(); const p = network.canvasToDOM(
                network.getPositions([3])[3]); return {x: p.x, y: p.y}; }"""
        )
        page.wait_for_timeout(400)
        canvas = frame.locator("#mynetwork").bounding_box()
        page.touchscreen.tap(canvas["x"] + spot["x"], canvas["y"] + spot["y"])

    tap_toy_story()
    card = frame.locator("#card")
    card.wait_for(state="visible", timeout=10_000)
    text = card.inner_text()
    assert "Toy Story (1995)" in text and "30 people loved both" in text
    assert "Maya: ~4.7★ expected" in text and "Tom: ~2.1★ expected" in text
    page.screenshot(path=str(ARTIFACTS / "explore-graph-card-phone.png"), full_page=True)

    # with "Move & zoom" on, the same swipe moves the graph and not the page
    frame.get_by_role("button", name="Close").tap()
    frame.locator("#interact").tap()
    sync_api.expect(frame.locator("#interact")).to_have_text("Move & zoom: on")
    assert swipe(page, box["y"] + 300) == 0
    frame.locator("#interact").tap()
    tap_toy_story()
    card.wait_for(state="visible", timeout=10_000)

    # "Centre here" takes the whole page to the film's URL, with the trail back
    frame.get_by_role("link", name="Centre here").click()
    page.wait_for_url("**film=30**", timeout=10_000)
    assert "trail=10" in page.url


def test_a_tap_on_a_film_under_the_cards_place_opens_the_card_and_goes_nowhere(graph_on_a_phone):
    """The card opens where a film may lie: the tap that opens it must not also press the
    card's "Centre here". (A fresh-clone run saw the host's tap on a graph film end in a
    navigation to that film while the card was opened on pointerup; this synthetic tap did not
    reproduce it on that code, so it guards the behaviour, not that exact cause.)"""
    page, frame, inner = graph_on_a_phone
    # Toy Story moved to where "Centre here" will be: the card's first button row
    spot = inner.evaluate(
        """() => { const box = document.getElementById('mynetwork');
            const r = box.getBoundingClientRect();
            const at = {x: 60, y: 150};  // in the card's place (top 48 px, left 8 px)
            const c = network.DOMtoCanvas({x: at.x, y: at.y});
            nodes.getIds().forEach((id, i) => {  // the others out of the way, lower down
                const o = network.DOMtoCanvas({x: 40 + 90 * i, y: 380});
                if (id !== 3) { network.moveNode(id, o.x, o.y); } });
            network.moveNode(3, c.x, c.y); network.redraw();
            return {x: r.left + at.x, y: r.top + at.y}; }"""
    )
    outer = page.locator("#graph").bounding_box()
    before = page.url
    page.touchscreen.tap(outer["x"] + spot["x"], outer["y"] + spot["y"])
    card = frame.locator("#card")
    card.wait_for(state="visible", timeout=10_000)
    assert "Toy Story (1995)" in card.inner_text()
    page.wait_for_timeout(1000)
    assert page.url == before  # nothing pressed "Centre here"
