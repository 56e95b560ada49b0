"""The rating deck under stress, in Chromium against a live server (part of ``python -m tools.bench``).

Four figures, each checked against the database, not only timed:

* **burst**: ten taps within a second on a phone; every answer saved once, in order, with the
  right stars, and how long until the server acknowledged all ten;
* **slow socket**: the same with every websocket message held back 800 ms in each direction
  (``NETWORK_JS``, inside the page): the cards must still change within a frame or two, and
  every answer must land;
* **server CPU per answer**: the server process's CPU time (``/proc/<pid>/stat``) over the
  burst, less what the same page costs idle for as long (its live parts poll), divided by the
  answers saved;
* **members per process**: 1, 3, 6 … members in one browser tapping at once, every ~0.7 s; tap
  (card on screen) and saved (acknowledged) p95 per step, until the saved p95 crosses 1 s or the
  steps run out. The tap itself is answered in the browser, so it does not grow with the room;
  what grows is the time until the server has it.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from app.store import Store
from tools.app_server import app_server
from tools.browser_waits import CHROMIUM, CHROMIUM_ARGS, PHONE_SIZE, STEP_MS, summary

BURST_STARS = (4.0, 3.5, None, 2.0, 4.0, 1.0, None, 3.5, 0.5, 4.0)
SLOW_MS = 800
RAMP = (1, 3, 6, 10)
RAMP_TAPS = 8
SAVED_LIMIT_MS = 1000

# Every websocket message held back ``window.__mnDelay`` ms in each direction, and every socket
# reachable (``window.__mnSockets``) so a test can close it; installed before the page's scripts.
NETWORK_JS = """
(() => {
  const Native = window.WebSocket;
  window.__mnDelay = 0;
  window.__mnSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__mnSockets.push(this);
      const add = this.addEventListener.bind(this);
      const later = (fn) => (e) => {
        const d = window.__mnDelay;
        if (d) setTimeout(() => fn.call(this, e), d); else fn.call(this, e);
      };
      this.addEventListener = (type, fn, opts) =>
        add(type, type === 'message' ? later(fn) : fn, opts);
      let handler = null;
      Object.defineProperty(this, 'onmessage', {
        get: () => handler,
        set: (fn) => { handler = fn; add('message', later((e) => handler && handler(e))); },
      });
    }
    send(data) {
      const d = window.__mnDelay;
      if (d) setTimeout(() => { if (this.readyState === 1) super.send(data); }, d);
      else super.send(data);
    }
  };
})();
"""

# In the page: tap the deck ``stars.length`` times, ``gap`` ms apart (null: "haven't seen it");
# resolve with the movieIds answered, ms per tap to the frame showing the next card, and ms
# from the first tap until the server acknowledged them all.
_TAPS_JS = """([stars, gap]) => new Promise((resolve) => {
  const root = [...document.querySelectorAll('*')]
    .filter(e => e.shadowRoot && e.shadowRoot.querySelector('.deck')).map(e => e.shadowRoot).pop();
  const card = root.querySelector('.deck .card');
  const sync = root.querySelector('.deck .sync');
  const films = [], cardMs = [];
  const t0 = performance.now();
  const tapOne = (i) => {
    const before = card.dataset.movie;
    films.push(Number(before));
    const button = stars[i] === null ? root.querySelector('.deck .unseen')
      : [...root.querySelectorAll('.deck .star')].find(b => Number(b.dataset.stars) === stars[i]);
    const start = performance.now();
    button.click();
    requestAnimationFrame(() => cardMs.push(card.dataset.movie !== before
      ? performance.now() - start : -1));
    if (i + 1 < stars.length) setTimeout(() => tapOne(i + 1), gap);
    else waitSaved();
  };
  const waitSaved = () => {
    const check = () => {
      if (sync.dataset.pending === '0' && cardMs.length === stars.length)
        resolve({films, cardMs, savedMs: performance.now() - t0});
      else setTimeout(check, 20);
    };
    check();
  };
  tapOne(0);
})"""


# In the page: start ``_TAPS_JS`` without waiting for it (``evaluate`` would wait for the
# promise, and the members would tap one after another); the result lands in window.__mnRamp.
_START_JS = (
    "(args) => { window.__mnRamp = null; ("
    + _TAPS_JS
    + ")(args).then((r) => { window.__mnRamp = r; }); }"
)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle_cpu_rate(page: Any, pid: int, seconds: float = 6.0) -> float:
    """The server's CPU seconds per second while the page only keeps its live parts up to
    date (the members list and status line poll every 3 s): subtracted from a burst's CPU, so
    the figure per answer is the answer's own cost."""
    cpu0, wall0 = _cpu_seconds(pid), time.monotonic()
    page.wait_for_timeout(int(seconds * 1000))
    return (_cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)


def _phone(browser: Any, network: bool = False) -> Any:
    context = browser.new_context(
        viewport={"width": PHONE_SIZE[0], "height": PHONE_SIZE[1]}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    if network:
        page.add_init_script(NETWORK_JS)
    return page


def _join(page: Any, room_url: str, name: str) -> str:
    page.goto(room_url)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join as member").click()
    page.wait_for_url(re.compile(r"member="))
    page.locator(".deck .title:visible").last.wait_for()
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
    return re.search(r"member=([^&]+)", page.url).group(1)  # type: ignore[union-attr]


def _new_room(browser: Any, url: str, name: str) -> str:
    page = _phone(browser)
    page.goto(url)
    page.get_by_label("Room name").fill(name)
    page.get_by_role("button", name="Create room").click()
    page.wait_for_url(re.compile(r"room="))
    room = re.sub(r"&(host|member)=[^&]*", "", page.url)
    page.context.close()
    return room


def _checked_burst(page: Any, store: Any, token: str, gap_ms: int) -> dict[str, Any]:
    out = page.evaluate(_TAPS_JS, [list(BURST_STARS), gap_ms])
    saved = store.answers(token)
    expected = dict(zip(out["films"], BURST_STARS, strict=True))
    return {
        "taps": len(BURST_STARS),
        "distinct_films": len(set(out["films"])),
        "saved_right": sum(saved.get(m, "missing") == s for m, s in expected.items()),
        "extra_rows": len(set(saved) - set(expected)),
        "no_new_card": sum(float(x) < 0 for x in out["cardMs"]),
        "card_ms": summary([float(x) for x in out["cardMs"] if float(x) >= 0]),
        "all_saved_ms": round(float(out["savedMs"]), 1),
    }


def _ramp(browser: Any, url: str, pid: int) -> list[dict[str, Any]]:
    steps = []
    for members in RAMP:
        room = _new_room(browser, url, f"Ramp {members}")
        pages = [_phone(browser) for _ in range(members)]
        for i, page in enumerate(pages):
            _join(page, room, f"M{i}")
        stars = [4.0, 3.0, None, 5.0, 2.0, 4.5, 3.5, 1.0][:RAMP_TAPS]
        cpu0, wall0 = _cpu_seconds(pid), time.monotonic()
        for page in pages:  # start every member's taps, then collect: they tap at once
            page.evaluate(_START_JS, [stars, 700])
        for page in pages:
            page.wait_for_function("() => window.__mnRamp !== null", timeout=STEP_MS)
        results = [page.evaluate("() => window.__mnRamp") for page in pages]
        cpu, wall = _cpu_seconds(pid) - cpu0, time.monotonic() - wall0
        card = [float(x) for r in results for x in r["cardMs"]]
        per_tap_saved = [float(r["savedMs"]) - 700 * (RAMP_TAPS - 1) for r in results]
        steps.append(
            {
                "members": members,
                "tap": summary(card),
                "last_saved_after_last_tap": summary(per_tap_saved),
                "server_cpu_share": round(cpu / wall, 2),
            }
        )
        for page in pages:
            page.context.close()
        if steps[-1]["last_saved_after_last_tap"].get("p95_ms", 0) > SAVED_LIMIT_MS:
            break
    return steps


def run(model: str) -> dict[str, Any]:
    """The deck's figures for fresh rooms on one server; raises when the app misbehaves."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="movienight-deck-bench-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(db)
        log = Path(tmp) / "streamlit.log"
        with app_server(model, db, log) as (url, pid), sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            room = _new_room(browser, url, "Deck bench")
            page = _phone(browser, network=True)
            token = _join(page, room, "Burst")
            idle = _idle_cpu_rate(page, pid)
            cpu0, wall0 = _cpu_seconds(pid), time.monotonic()
            burst = _checked_burst(page, store, token, gap_ms=80)
            busy = _cpu_seconds(pid) - cpu0 - idle * (time.monotonic() - wall0)
            cpu_per_answer = busy / len(BURST_STARS)
            slow_page = _phone(browser, network=True)
            slow_token = _join(slow_page, room, "Slow")
            slow_page.evaluate(f"() => {{ window.__mnDelay = {SLOW_MS}; }}")
            slow = _checked_burst(slow_page, store, slow_token, gap_ms=100)
            ramp = _ramp(browser, url, pid)
            browser.close()
    return {
        "model": model,
        "burst": burst,
        "slow_socket": {**slow, "delay_ms_each_way": SLOW_MS},
        "server_cpu_ms_per_answer": round(1000 * cpu_per_answer, 1),
        "ramp": ramp,
        "saved_limit_ms": SAVED_LIMIT_MS,
    }
