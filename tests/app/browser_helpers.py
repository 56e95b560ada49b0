"""What a real-browser test needs: a live ``streamlit run`` server on a database it names, headless
Debian Chromium (Playwright), waiting for a rerun to finish, and whole-page screenshots.

The server takes the database URL from its caller, so a test can arrange a room straight in the
store (``app.store.Store`` on the same URL) and look at it in the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tools.app_server import app_server
from tools.browser_waits import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
#: Every real-browser test module's marks: ``pytestmark = BROWSER_MARKS``.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
STEP_MS = 90_000  # one Streamlit rerun on 2 shared cores, first page loads included
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@contextmanager
def streamlit_server(db_url: str, data_dir: Path, log_path: Path) -> Iterator[str]:
    """``streamlit run streamlit_app.py`` with the app's own default model (read from
    ``data_dir``, trained there before) on ``db_url`` (``tools.app_server``); yields its URL. On
    exit the server stops and its log must hold no traceback."""
    with app_server(None, db_url, log_path, data_dir=data_dir) as (url, _pid):
        yield url
    server_log = log_path.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def settle(page: Any, timeout_ms: int = STEP_MS) -> None:
    """Wait until Streamlit finished the current rerun (its status widget goes away)."""
    page.wait_for_timeout(600)  # the status widget appears a moment after a rerun starts
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def shot(page: Any, name: str, full: bool = True) -> Path:
    """A screenshot into test-artifacts/: the whole page (Streamlit scrolls inside its own
    container, so the viewport is made as tall as the page, same width, and put back after), or
    with ``full=False`` only what the screen shows."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not full:
        page.screenshot(path=str(path))
        return path
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(document.body.scrollHeight,
             ...Array.from(document.querySelectorAll('[data-testid="stMain"], section'))
                .map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 16000)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


SYNCED_JS = """() => {
  const syncs = [...document.querySelectorAll('*')].filter(e => e.shadowRoot)
    .flatMap(e => [...e.shadowRoot.querySelectorAll('.deck .sync')]);
  return syncs.length > 0 && syncs.every(s => s.dataset.pending === '0');
}"""


def deck_saved(page: Any, timeout_ms: int = STEP_MS) -> None:
    """Until the rating deck on ``page`` says the server acknowledged every answer (the deck
    shows the next card before the server has the answer; this waits for the server)."""
    page.wait_for_function(SYNCED_JS, timeout=timeout_ms)


# --------------------------------------------------------------------------- one finger

SCROLLED_JS = """() => window.scrollY + Array.from(document.querySelectorAll('[data-testid="stMain"]'))
    .reduce((sum, e) => sum + e.scrollTop, 0)"""  # Streamlit scrolls inside its main section


def room_to_scroll(page: Any) -> float:
    """How much further down the page can scroll (Streamlit's main section, else the window)."""
    return page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
            const e = m && m.scrollHeight > m.clientHeight ? m : document.scrollingElement;
            return e.scrollHeight - e.clientHeight - e.scrollTop; }"""
    )


def scrolled(page: Any) -> float:
    """How far the page is scrolled: the window's own scroll plus Streamlit's main section."""
    return page.evaluate(SCROLLED_JS)


def settle_scroll(page: Any, quiet_ms: int = 300, timeout_ms: int = 5000) -> None:
    """Wait until the page's scroll position has not moved for ``quiet_ms`` (a swipe's glide
    has ended: a tap during a glide only stops it, on a phone as here)."""
    page.wait_for_function(
        f"""([quiet]) => new Promise(done => {{
            const at = {SCROLLED_JS};
            let last = at(), since = performance.now();
            (function look(now) {{
                if (at() !== last) {{ last = at(); since = now; }}
                if (now - since >= quiet) {{ done(true); }} else {{ requestAnimationFrame(look); }}
            }})(performance.now());
        }})""",
        arg=[quiet_ms],
        timeout=timeout_ms,
    )


def swipe_up(page: Any, x: float, y: float, distance: float = 250) -> float:
    """A one-finger upward swipe from (``x``, ``y``) in raw touch events, as a phone sends them;
    returns how far the page scrolled once the glide ended."""
    settle_scroll(page)
    before = scrolled(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 11):
        point = {"x": x, "y": y - distance * step / 10}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    settle_scroll(page)
    return scrolled(page) - before
