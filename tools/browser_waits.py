"""Protocol App in a real browser: how long people wait, measured in Chromium against a live
``streamlit run`` server (part of ``python -m tools.bench``).

Three members in one room, as an evening has it: the host on a laptop (1366×900), a friend on a
laptop, a friend on a phone (390×844); the app's default model unless told otherwise. Four
waits, each timed inside the page (``performance.now()`` and a ``MutationObserver``, so the
figure is what the browser showed, not Playwright's polling):

* **tap**: a rating tap on the deck → the first animation frame with the next film's card
  (the deck answers in the browser), and **saved**: the same tap → the server's
  acknowledgement that the answer is in the database (the deck's "pending" count back to 0);
* **search**: the last keystroke of a title → its results shown (the deck searches a title
  index in the browser, timed once the index is there: it arrives with the first focus of the
  box, once per page load);
* **picks**: a click on the Picks link → all ten picks with their reasons on screen;
* **tally**: a member's last vote answer → the host's tally shows one more voter (measured from
  the member's click in this process to the host's page changing, polled every 50 ms).

Targets on 2 quiet cores: tap < 100 ms median and < 200 ms p95, search < 100 ms, Picks < 1 s,
tally < 5 s (saved: no target; it is the server's round trip, shown so the two can be told
apart). ``tools.deck_load`` adds the burst, slow-socket and per-answer server CPU figures.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.app_server import app_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE_SIZE = (390, 844)
LAPTOP_SIZE = (1366, 900)
TARGETS_MS = {"tap": 100, "saved": 0, "search": 100, "picks": 1000, "tally": 5000}
TAP_P95_TARGET_MS = 200
QUERIES = ("matrix", "star wars", "godfather", "amelie", "pulp fiction", "toy story", "alien")
STEP_MS = 120_000
TAP_LABELS = ("4 stars", "3.5 stars", "5 stars", "2 stars", "4.5 stars", "3 stars", "unseen")

# The deck lives in a shadow root (its styles are isolated): every script finds it there. The
# newest mounted instance is the one on screen.
DECK_ROOT_JS = """const deckRoot = () => [...document.querySelectorAll('*')]
  .filter(e => e.shadowRoot && e.shadowRoot.querySelector('.deck')).map(e => e.shadowRoot).pop();"""

# In the page: tap a rating on the deck; resolve with {card: ms to the first frame showing the
# next film, saved: ms until the server acknowledged every answer}.
TAP_JS = (
    "(label) => { "
    + DECK_ROOT_JS
    + """ return new Promise((resolve) => {
  const root = deckRoot();
  const card = root.querySelector('.deck .card');
  const sync = root.querySelector('.deck .sync');
  const before = card.dataset.movie;
  const button = label === 'unseen' ? root.querySelector('.deck .unseen')
    : [...root.querySelectorAll('.deck .star')].find(b => b.getAttribute('aria-label') === label);
  const out = {card: -1, saved: -1};
  const t0 = performance.now();
  const shown = new MutationObserver(() => {
    if (card.dataset.movie !== before) { shown.disconnect();
      requestAnimationFrame(() => { out.card = performance.now() - t0; }); } });
  shown.observe(card, {attributes: true});
  const saved = new MutationObserver(() => {
    if (sync.dataset.pending === '0' && out.card >= 0) { saved.disconnect();
      out.saved = performance.now() - t0; resolve(out); } });
  saved.observe(sync, {attributes: true, childList: true, characterData: true});
  button.click();
  setTimeout(() => { shown.disconnect(); saved.disconnect(); resolve(out); }, 60000);
}); }"""
)

# In the page: watch the deck's search results; resolve with ms from the last keystroke to
# results that contain the expected title.
_SEARCH_ARM_JS = (
    "(expected) => { "
    + DECK_ROOT_JS
    + """ const root = deckRoot();
  window.__mnSearch = {last: 0, ms: null};
  const input = root.querySelector('.deck .search-input');
  input.addEventListener('input', () => { window.__mnSearch.last = performance.now(); });
  const results = root.querySelector('.deck .results');
  const found = () => [...results.querySelectorAll('button')]
    .some(b => b.textContent.toLowerCase().includes(expected));
  const obs = new MutationObserver(() => {
    if (window.__mnSearch.last && found()) {
      requestAnimationFrame(() => {
        window.__mnSearch.ms = performance.now() - window.__mnSearch.last; });
      obs.disconnect(); } });
  obs.observe(results, {subtree: true, childList: true, characterData: true});
}"""
)

# In the page: click the Picks link, resolve with ms until ten picks with bars are shown.
_PICKS_JS = """() => new Promise((resolve) => {
  const link = Array.from(document.querySelectorAll('[data-testid="stSidebarNavLink"]'))
    .find(a => a.textContent.includes('Picks'));
  const ready = () => location.pathname.endsWith('/picks')
    && document.querySelectorAll('.mn-pick .mn-why').length >= 10;
  const t0 = performance.now();
  const obs = new MutationObserver(() => {
    if (ready()) { obs.disconnect(); resolve(performance.now() - t0); } });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  link.click();
  setTimeout(() => { obs.disconnect(); resolve(-1); }, 60000);
})"""


def summary(ms: list[float]) -> dict[str, float]:
    """median, p95 (nearest rank), max and n of a list of milliseconds."""
    if not ms:
        return {"n": 0}
    xs = sorted(ms)
    p95 = xs[min(len(xs) - 1, max(0, -(-95 * len(xs) // 100) - 1))]
    return {
        "median_ms": round(statistics.median(xs), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(xs[-1], 1),
        "n": len(xs),
    }


def available() -> str | None:
    """None when the browser bench can run here, else why not."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def _new_page(browser: Any, size: tuple[int, int]) -> Any:
    """A page in its own browser context (its own cookies: another person), phone-like when
    narrow."""
    phone = size[0] < 640
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, is_mobile=phone, has_touch=phone
    )
    return context.new_page()


def _settle(page: Any) -> None:
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=STEP_MS)


def _join(page: Any, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join as member").click()
    page.wait_for_url(re.compile(r"member="), timeout=STEP_MS)
    page.locator(".deck .title:visible").last.wait_for(timeout=STEP_MS)
    _settle(page)


def _to_room(page: Any) -> None:
    url = re.sub(r"/picks\?", "/?", page.url)
    page.goto(url)
    page.locator(".deck .title:visible").last.wait_for(timeout=STEP_MS)
    _settle(page)


def _search(page: Any, query: str) -> float:
    box = page.locator(".deck .search-input:visible").last
    box.fill("")
    box.focus()  # the first focus asks for the title index; it arrives once per page load
    # typing is timed once the index is in the page (its one-off arrival is not a keystroke's wait)
    page.locator('.deck .search-input[data-index="ready"]:visible').last.wait_for()
    page.evaluate(_SEARCH_ARM_JS, query.split()[0])
    box.press_sequentially(query, delay=60)  # a person typing, ~16 characters a second
    page.wait_for_function("() => window.__mnSearch.ms !== null", timeout=STEP_MS)
    return float(page.evaluate("() => window.__mnSearch.ms"))


def _answer_all(page: Any, choices: list[str]) -> float:
    """Answer every film on this member's ballot; returns the perf_counter of the last click."""
    cards = page.locator('[class*="st-key-mn_ballot"]')
    cards.nth(len(choices) - 1).wait_for(timeout=STEP_MS)
    clicked = 0.0
    for i, choice in enumerate(choices):
        radio = (
            cards.nth(i)
            .locator('[data-testid="stButtonGroup"]')
            .first.get_by_role("radio", name=choice, exact=True)
        )
        if i < len(choices) - 1:
            radio.click()
            radio.wait_for(timeout=STEP_MS)
            page.wait_for_function(
                "(el) => el.getAttribute('aria-checked') === 'true'",
                arg=radio.element_handle(),
                timeout=STEP_MS,
            )
        else:
            clicked = time.perf_counter()
            radio.click()
    return clicked


Members = list[tuple[Any, str]]
"""The evening's pages, each with its device ("laptop" or "phone"); the host's first."""


def run(
    model: str, taps: int = 8, searches: int = 6, opens: int = 5, votes: int = 3
) -> dict[str, Any]:
    """The browser figures for one fresh room; raises when the app does not behave."""
    from playwright.sync_api import sync_playwright

    waits: dict[str, list[float]] = {name: [] for name in TARGETS_MS}
    by_device: dict[str, list[float]] = {"tap phone": [], "tap laptop": []}
    with tempfile.TemporaryDirectory(prefix="movienight-browser-bench-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        with (
            app_server(model, db, Path(tmp) / "streamlit.log") as (url, _),
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            members = _gather(browser, url)
            _time_taps(members, taps, waits, by_device)
            for i in range(searches):
                page = members[i % len(members)][0]
                waits["search"].append(_search(page, QUERIES[i % len(QUERIES)]))
            _time_picks(members, opens, waits["picks"])
            _time_votes(members, votes, waits["tally"])
            browser.close()
    return {
        "members": "3 (host and a friend on 1366×900 laptops, a friend on a 390×844 phone)",
        "model": model,
        "waits": {name: summary(ms) for name, ms in waits.items()},
        "taps_by_device": {name: summary(ms) for name, ms in by_device.items()},
        "targets_ms": TARGETS_MS,
        "tap_p95_target_ms": TAP_P95_TARGET_MS,
        "method": "headless Chromium (Playwright) against `streamlit run`; in-page timers",
    }


def _gather(browser: Any, url: str) -> Members:
    """The host creates a room on a laptop and joins it; a friend joins on a laptop, another on
    a phone, each through the room link (without the host's or a member's token)."""
    host = _new_page(browser, LAPTOP_SIZE)
    host.goto(url)
    host.get_by_label("Room name").fill("Bench night")
    host.get_by_role("button", name="Create room").click()
    host.wait_for_url(re.compile(r"host="), timeout=STEP_MS)
    _settle(host)
    room_link = re.sub(r"&(host|member)=[^&]*", "", host.url)
    _join(host, host.url, "Host")
    friend = _new_page(browser, LAPTOP_SIZE)
    _join(friend, room_link, "Laptop friend")
    phone = _new_page(browser, PHONE_SIZE)
    _join(phone, room_link, "Phone friend")
    return [(host, "laptop"), (friend, "laptop"), (phone, "phone")]


def _time_taps(
    members: Members, taps: int, waits: dict[str, list[float]], by_device: dict[str, list[float]]
) -> None:
    """``taps`` rating taps per member, in turn: the next card shown, and the answer saved."""
    for i in range(taps):
        for page, device in members:
            out = page.evaluate(TAP_JS, TAP_LABELS[i % len(TAP_LABELS)])
            if out["card"] < 0 or out["saved"] < 0:
                raise RuntimeError(f"a rating tap was not shown or not saved: {out}")
            waits["tap"].append(float(out["card"]))
            waits["saved"].append(float(out["saved"]))
            by_device[f"tap {device}"].append(float(out["card"]))
    for page, _ in members:
        _settle(page)


def _time_picks(members: Members, opens: int, ms_list: list[float]) -> None:
    """Members open Picks in turn (``opens`` times in all), each going back to the room after."""
    for i in range(opens):
        page = members[i % len(members)][0]
        ms = float(page.evaluate(_PICKS_JS))
        if ms < 0:
            raise RuntimeError("Picks did not show ten picks within 60 s")
        ms_list.append(ms)
        _settle(page)
        _to_room(page)


def _time_votes(members: Members, votes: int, ms_list: list[float]) -> None:
    """Everyone on Picks; ``votes`` times the host starts a vote, everyone answers, and each
    friend's last answer is timed to the host's tally counting it; the host closes the vote."""
    for page, _ in members:
        if not page.url.split("?")[0].endswith("/picks"):
            page.evaluate(_PICKS_JS)
        _settle(page)
    host, friends = members[0][0], [page for page, _ in members[1:]]
    for v in range(votes):
        host.get_by_role("button", name=re.compile("Start the vote")).click()
        host.get_by_text("0 of 3 have voted").wait_for(timeout=STEP_MS)
        _settle(host)
        _answer_all(host, ["Yes", "Yes", "Not tonight", "Yes", "Yes"])
        host.get_by_text("1 of 3 have voted").wait_for(timeout=STEP_MS)
        for n, page in enumerate(friends, start=2):
            clicked = _answer_all(page, ["Yes", "Not tonight", "Yes", "Yes", "Yes"])
            host.wait_for_function(
                f"() => document.body.innerText.includes('{n} of 3 have voted')",
                polling=50,
                timeout=STEP_MS,
            )
            ms_list.append((time.perf_counter() - clicked) * 1000)
        host.get_by_role("button", name=re.compile("Close the vote")).click()
        host.get_by_text(re.compile("It's a match|No film on the shortlist")).wait_for(
            timeout=STEP_MS
        )
        _settle(host)
        if v < votes - 1:
            for page, _ in members:
                _settle(page)
