"""``python -m tools.startup_timing``: how long ``./scripts/start`` takes to a usable room, fresh
and cached, and how long a member waits from their first answers to personal picks.

Runs the real ``./scripts/start`` of a checkout (``--repo``, default this one) on a free port and
drives it with headless Chromium (Debian's, as the browser tests do):

1. ``--fresh`` first deletes the checkout's ``data/`` (the default model is trained by the start);
2. start → the room page drawn in the browser ("to a usable room");
3. create a room, join, rate three films, open Picks → the picks drawn ("first answers to
   personal picks").

It prints one line per figure and, unless ``--no-docs``, writes them with the machine, its load
average and the command into docs/BENCHMARKS.md's ``tools.startup_timing`` block (which the
engine's bench keeps). ``--fresh`` measures a first start *and then* a cached start. The checkout
needs its ``.venv`` (the start's pip step is then a no-op when requirements.txt is unchanged).
Offline; nothing is written outside the checkout and that one file.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engine.evaluate.report import machine_info
from tools.app_server import free_port, wait_healthy
from tools.docs_block import markers, write_named_block

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
STEP_MS = 180_000


def settle(page: Page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=STEP_MS)


def run(repo: Path, fresh: bool) -> dict[str, float]:
    """One start of ``repo``'s ``./scripts/start`` (``fresh``: its data/ deleted first), timed
    to the server answering, the room page drawn, and a member's first answers to their picks."""
    if fresh:
        shutil.rmtree(repo / "data", ignore_errors=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIENIGHT_")}
    log = (repo / "startup-timing.log").open("w")
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            "./scripts/start",
            "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        ],
        cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, lambda: server.poll() is None, poll_s=0.2):
            raise RuntimeError(f"the start failed; see {repo / 'startup-timing.log'}")
        figures = {"start → server answering (s)": time.perf_counter() - started}
        figures |= _in_the_browser(url, started)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
    return figures


def _in_the_browser(url: str, started: float) -> dict[str, float]:
    """The room page drawn (seconds since ``started``), then a new room, a member, three
    answers and Picks: the seconds from the third answer saved to the picks drawn."""
    from playwright.sync_api import sync_playwright

    figures: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.get_by_role("heading", name="Start a room").wait_for(timeout=STEP_MS)
        figures["start → room page drawn (s)"] = time.perf_counter() - started
        page.get_by_label("Room name").fill("Timing night")
        page.get_by_role("button", name="Create room").click()
        page.wait_for_url(re.compile(r"room="), timeout=STEP_MS)
        page.get_by_label("Your name").fill("Ann")
        page.get_by_role("button", name="Join as member").click()
        page.locator(".mn-status").get_by_text("Ann").wait_for(timeout=STEP_MS)
        _answer_three(page)
        answered = time.perf_counter()
        page.get_by_role("link", name="Picks").first.click()
        page.get_by_role("heading", name="Tonight's picks").wait_for(timeout=STEP_MS)
        page.locator(".mn-why").first.wait_for(timeout=STEP_MS)  # Picks' own cards
        figures["third answer → personal picks drawn (s)"] = time.perf_counter() - answered
        waited = page.locator('[data-testid="stProgress"]').count()
        figures["training progress bars seen on Picks"] = float(waited)
        browser.close()
    return figures


def _answer_three(page: Page) -> None:
    """Three star ratings on the deck, until the server has saved them all."""
    from playwright.sync_api import expect

    card = page.locator(".deck .card:visible").last
    card.wait_for(timeout=STEP_MS)
    settle(page)
    for label in ["4.5 stars", "2 stars", "5 stars"]:
        # the deck shows the next film in the browser; the answer follows to the server
        movie = card.get_attribute("data-movie")
        stars = page.locator(".deck .stars:visible").last
        stars.get_by_role("radio", name=label, exact=True).click()
        expect(card).not_to_have_attribute("data-movie", movie or "", timeout=STEP_MS)
    expect(page.locator(".deck .sync:visible").last).to_have_attribute(
        "data-pending", "0", timeout=STEP_MS
    )  # saved on the server


def render_block(runs: dict[str, dict[str, float]], command: str, load: str) -> str:
    """The docs block: one column per start (first, cached), one row per figure."""
    begin, end = markers("startup_timing")
    names = list(dict.fromkeys(name for figures in runs.values() for name in figures))
    lines = [
        begin,
        "## App: start-up (first start on a fresh checkout, cached start, answers → picks)",
        "",
        f"Measured by `{command}` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
        f"load average before the run {load}; machine: "
        + ", ".join(f"{k} {v}" for k, v in machine_info().items())
        + ". Not part of `python -m engine bench`.",
        "",
        "| figure | " + " | ".join(runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for name in names:
        cells = [f"{runs[start][name]:.1f}" if name in runs[start] else "" for start in runs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(end)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.startup_timing")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to start")
    parser.add_argument(
        "--fresh", action="store_true", help="delete its data/ first, then also time a cached start"
    )
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    runs: dict[str, dict[str, float]] = {}
    if args.fresh:
        runs["first start"] = run(args.repo.resolve(), fresh=True)
    runs["cached start"] = run(args.repo.resolve(), fresh=False)
    for start, figures in runs.items():
        for name, value in figures.items():
            print(f"{start}: {name}: {value:.1f}")
    if not args.no_docs:
        command = "python -m tools.startup_timing" + (" --fresh" if args.fresh else "")
        write_named_block(args.docs, "startup_timing", render_block(runs, command, load))
        print(f"wrote {args.docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
