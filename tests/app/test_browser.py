"""Real-browser test: a live ``streamlit run`` server driven by headless Chromium (Playwright).

Two people in two browser contexts (two phones) join one room, rate films, and see the group's
picks; then the Explore page's ego graph must draw its canvas. Screenshots go to test-artifacts/.
Skipped, with the reason, where Debian's /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_S = 120  # server start; the first page also loads the catalogue and trains the model
STEP_MS = 90_000  # one Streamlit rerun on 2 shared cores
TRAIN_MS = 420_000  # first-run training of the mf model for the Explore page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """``streamlit run streamlit_app.py`` on a free port with a private database; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "MOVIENIGHT_DB_URL": f"sqlite:///{tmp_path / 'movienight.db'}",
        "MOVIENIGHT_DEFAULT_MODEL": os.environ.get("MOVIENIGHT_DEFAULT_MODEL", "baseline"),
    }
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text())
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def settle(page, timeout_ms: int = STEP_MS) -> None:
    """Wait until Streamlit finished the current rerun (its status widget goes away)."""
    page.wait_for_timeout(1000)  # the status widget appears a moment after a rerun starts
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def join_as(page, name: str) -> str:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join as member").click()
    page.wait_for_url(re.compile(r"member="), timeout=STEP_MS)
    page.get_by_text(f"Rating as {name}").wait_for(timeout=STEP_MS)
    settle(page)
    return page.url


def rate_first_cards(page, stars: list[str]) -> None:
    """Click a rating pill on each of the first rating cards, waiting for each save."""
    for n, label in enumerate(stars, start=1):
        group = page.locator('[data-testid="stButtonGroup"]').first  # answered cards disappear
        group.get_by_role("radio", name=label, exact=True).click()
        page.get_by_text(re.compile(rf"Your answers: {n} rated")).wait_for(timeout=STEP_MS)
        settle(page)


def test_two_phones_rate_and_get_picks(server, browser):
    host = browser.new_context(viewport={"width": 1280, "height": 2200}).new_page()
    host.goto(server)
    host.get_by_role("heading", name="Start a room").wait_for(timeout=STEP_MS)
    shot(host, "01-start")
    host.get_by_label("Room name").fill("Browser <b>night</b>")
    host.get_by_role("button", name="Create room").click()
    host.wait_for_url(re.compile(r"room="), timeout=STEP_MS)
    host.get_by_role("heading", name="Browser <b>night</b>").wait_for(timeout=STEP_MS)
    room_url = host.url.split("&")[0]
    join_as(host, "Ann")
    host.locator('[data-testid="stButtonGroup"]').first.wait_for(timeout=STEP_MS)
    rate_first_cards(host, ["4½★", "5★", "1★"])
    shot(host, "02-ann-rated")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone.goto(room_url)
    phone.get_by_label("Your name").wait_for(timeout=STEP_MS)
    bob_url = join_as(phone, "Bob")
    assert "room=" in bob_url and bob_url != host.url
    rate_first_cards(phone, ["2★", "3½★"])
    shot(phone, "03-bob-rated-phone")

    # The host's member list updates by itself (st.fragment(run_every=...)).
    host.get_by_role("heading", name="Members (2)").wait_for(timeout=STEP_MS)
    shot(host, "04-host-sees-bob")

    host.get_by_role("link", name="Picks").first.click()
    host.get_by_role("heading", name="Tonight's picks").wait_for(timeout=STEP_MS)
    host.locator(".mn-bars").first.wait_for(timeout=STEP_MS)
    sync_api.expect(host.locator(".mn-card")).to_have_count(10, timeout=STEP_MS)
    settle(host)
    assert host.locator(".mn-bars").first.get_by_text("Bob").count() == 1
    # Titles are text: the room name's markup was not interpreted anywhere.
    assert host.locator("b", has_text="night").count() == 0
    shot(host, "05-picks")

    host.get_by_role("link", name="Explore").first.click()
    host.get_by_role("heading", name=re.compile("Explore")).wait_for(timeout=STEP_MS)
    # The first use of a film-vector model (mf) trains it with a visible progress bar.
    try:
        host.locator('[data-testid="stProgress"]').first.wait_for(timeout=15_000)
        shot(host, "06-first-run-training")
    except sync_api.TimeoutError:
        pass  # already trained and cached under the data dir
    settle(host, TRAIN_MS)
    host.get_by_text("Film neighbourhood", exact=True).first.click()  # the ego graph view
    host.locator("iframe").first.wait_for(timeout=TRAIN_MS)
    settle(host)
    frame = host.frame_locator("iframe").first
    frame.locator("canvas").first.wait_for(timeout=STEP_MS)
    box = frame.locator("canvas").first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    shot(host, "07-ego-graph")
