"""Watch one phone session's websocket through a burst of taps: ``python -m tools.live_frames URL``.

The diagnosis behind docs/KNOWN_ISSUES.md KI-2: a member joins a new room on a 390×844 phone
context, waits, taps ten ratings ~80 ms apart on the rating deck, and waits again, while every
websocket frame is decoded with Streamlit's own protobufs and printed with its time:
``> rerun frag=… auto=True`` is a live fragment's ``run_every`` tick leaving the browser,
``< finished 3`` a fragment run that completed, ``< STOP`` the server cancelling a timer. Live
parts that keep ticking after the burst print a tick every few seconds to the end.

Events are read with Playwright's own waits (``page.wait_for_timeout``): its sync API delivers
websocket events only while it runs, so a ``time.sleep`` would bunch them up.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tools.browser_waits import CHROMIUM, CHROMIUM_ARGS, PHONE_SIZE

STEP_MS = 120_000
FINISHED = {0: "script", 1: "compile error", 2: "early for rerun", 3: "fragment"}


def describe_sent(payload: bytes) -> str:
    msg = BackMsg()
    msg.ParseFromString(payload)
    kind = msg.WhichOneof("type")
    if kind == "rerun_script":
        state = msg.rerun_script
        return f"rerun frag={state.fragment_id[:8] or '-'} auto={state.is_auto_rerun}"
    return str(kind)


def describe_received(payload: bytes) -> str | None:
    msg = ForwardMsg()
    msg.ParseFromString(payload)
    kind = msg.WhichOneof("type")
    if kind == "auto_rerun":
        return f"timer frag={msg.auto_rerun.fragment_id[:8]} every {msg.auto_rerun.interval} s"
    if kind == "stop_auto_rerun":
        return f"STOP {[f[:8] for f in msg.stop_auto_rerun.fragment_ids]}"
    if kind == "script_finished":
        return f"finished {FINISHED.get(msg.script_finished, msg.script_finished)}"
    return None


def watch(url: str, taps: int = 10, before_ms: int = 8000, after_ms: int = 25000) -> list[str]:
    """The frames of one session, as lines ``seconds direction what``."""
    from playwright.sync_api import sync_playwright

    lines: list[str] = []
    start = time.monotonic()

    def note(direction: str, what: str | None) -> None:
        if what:
            lines.append(f"{time.monotonic() - start:7.2f} {direction} {what}")

    def on_socket(ws: Any) -> None:
        ws.on("framesent", lambda p: isinstance(p, bytes) and note(">", describe_sent(p)))
        ws.on("framereceived", lambda p: isinstance(p, bytes) and note("<", describe_received(p)))
        ws.on("close", lambda _: note("!", "socket closed"))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": PHONE_SIZE[0], "height": PHONE_SIZE[1]},
            is_mobile=True,
            has_touch=True,
        )
        page = context.new_page()
        page.set_default_timeout(STEP_MS)
        page.on("websocket", on_socket)
        page.goto(url)
        page.get_by_label("Room name").fill("Frames")
        page.get_by_role("button", name="Create room").click()
        page.wait_for_url(re.compile(r"room="))
        page.get_by_label("Your name").fill("Watcher")
        page.get_by_role("button", name="Join as member").click()
        page.locator(".deck .title:visible").last.wait_for()
        page.wait_for_timeout(before_ms)
        note("-", f"burst of {taps} taps (page {page.evaluate('document.visibilityState')})")
        for _ in range(taps):
            page.locator(".deck .stars:visible").last.get_by_role("radio", name="4 stars").click()
            page.wait_for_timeout(80)
        page.wait_for_timeout(after_ms)
        note("-", f"end (page {page.evaluate('document.visibilityState')})")
        browser.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Watch one phone session's websocket frames.")
    parser.add_argument("url", help="a running app, e.g. http://localhost:8501")
    parser.add_argument("--taps", type=int, default=10)
    args = parser.parse_args()
    print("\n".join(watch(args.url, args.taps)))


if __name__ == "__main__":
    main()
