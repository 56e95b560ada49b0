"""What Explore's film graph costs a phone on the wire: ``python -m tools.explore_bytes``.

A 390×844 phone opens Explore's film graph on a fresh server (the app's default model, read
from ``data/``: run ``./scripts/start`` or ``python -m app.startup`` once first), then switches
"Similar means" back and forth four times. Every websocket frame the browser receives is
counted: the first load, then each redraw. The first switch draws a graph the session has not
seen; the later ones redraw graphs Streamlit already sent (its message cache sends a reference).

Before the graph's library was loaded once into the page (``app.widgets.ego_graph.
load_vis_network``), a new graph cost ~694 KB: vis-network travelled inside every graph page.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tools.app_server import app_server
from tools.browser_waits import CHROMIUM, CHROMIUM_ARGS, PHONE_SIZE
from tools.docs_block import markers, write_named_block

STEP_MS = 120_000
BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
BASES = ["Liked by the same kind of viewer", "Watched by the same people"] * 2


def measure(data_dir: Path | None) -> list[tuple[str, int]]:
    """(what happened, KB received) for the first load and each redraw."""
    rows: list[tuple[str, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'movienight.db'}"
        with (
            app_server(None, db_url, Path(tmp) / "server.log", data_dir) as (url, _),
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            width, height = PHONE_SIZE
            page = browser.new_page(viewport={"width": width, "height": height})
            sizes: list[int] = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: sizes.append(len(f))))
            page.goto(f"{url}/explore?view=graph")
            page.locator('iframe[title="st.iframe"]').wait_for(timeout=STEP_MS)
            page.wait_for_timeout(3000)
            rows.append(("first load of Explore's graph", round(sum(sizes) / 1024)))
            for basis in BASES:
                sizes.clear()
                page.get_by_role("radio", name=basis, exact=True).click()
                page.wait_for_timeout(3000)  # the rerun and its frames, on a quiet server
                rows.append((f'redraw: "{basis}"', round(sum(sizes) / 1024)))
            browser.close()
    return rows


def block(rows: list[tuple[str, int]]) -> str:
    """The docs/BENCHMARKS.md block of these figures, with the command and the date."""
    begin, end = markers("explore_bytes")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    table = "\n".join(f"| {what} | {kb} |" for what, kb in rows)
    return (
        f"{begin}\n## App: Explore's film graph on the wire\n\n"
        f"Measured by `python -m tools.explore_bytes --write` on {when}: a 390×844 phone opens "
        'Explore\'s graph, then switches "Similar means" four times; KB received on the '
        "websocket. The first switch draws a graph new to the session; the others redraw "
        "graphs Streamlit already sent (a reference to its message cache). Before vis-network "
        "was loaded once into the page, a new graph cost 694 KB and the first load 705 KB.\n\n"
        f"| step | KB received |\n|---|---|\n{table}\n{end}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bytes a phone receives for Explore's graph")
    parser.add_argument("--data", type=Path, default=None, help="the server's data dir")
    parser.add_argument("--write", action="store_true", help="into docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    text = block(measure(args.data))
    print(text)
    if args.write:
        write_named_block(BENCHMARKS, "explore_bytes", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
