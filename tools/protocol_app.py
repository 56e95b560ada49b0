"""Protocol App (DESIGN.md section 4): how the app bench's figures are reported.

``python -m tools.bench`` measures; this module turns its result into a section of
docs/BENCHMARKS.md, between the lines ``BEGIN`` and ``END``. Only that block is replaced (or
added at the end when the file has none), so the engine's report writer, which rewrites the
rest of the file, can keep it as it is. The block records the date, the machine and the exact
command next to the figures, as every section of that file does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from engine.evaluate.report import markdown_table
from tools.docs_block import markers, replace_named_block, write_named_block

BEGIN, END = markers("bench")
TITLE = "## App: app timings (get picks, cold start, waits in a browser)"
BROWSER_WAITS = {
    "tap": "rating tap → next film's card rendered",
    "search": "last keystroke → search results shown",
    "picks": "click on Picks → ten picks with bars shown",
    "tally": "a member's last vote answer → host's tally updated",
}


def picks_table(picks: Mapping[str, Any]) -> pd.DataFrame:
    """One row per picks figure: the whole page run, and the engine call alone."""
    rows = []
    for key, what in (
        ("page", "click → rendered Picks page (AppTest script run)"),
        ("engine_only", "services.group_picks alone (store, fold-ins, blend)"),
    ):
        s = picks[key]
        rows.append(
            {
                "measure": what,
                "median ms": s["median_ms"],
                "p90 ms": s["p90_ms"],
                "min ms": s["min_ms"],
                "runs": s["runs"],
            }
        )
    return pd.DataFrame(rows)


def cold_table(cold: Mapping[str, Any]) -> pd.DataFrame:
    """One row per stage of a cold start (a fresh process, models already saved)."""
    stages = {
        "import_s": "imports (streamlit's test harness)",
        "room_page_first_run_s": "first Room page run (catalogue, model load, page)",
        "picks_page_first_run_s": "first Picks page run",
        "total_s": "total",
    }
    return pd.DataFrame({"stage": list(stages.values()), "time s": [cold[k] for k in stages]})


def browser_table(browser: Mapping[str, Any]) -> pd.DataFrame:
    """One row per wait people have in the browser, with its target."""
    rows = []
    for key, what in BROWSER_WAITS.items():
        s = browser["waits"][key]
        target = browser["targets_ms"][key]
        rows.append(
            {
                "wait": what,
                "median ms": s["median_ms"],
                "p95 ms": s["p95_ms"],
                "runs": s["n"],
                "target ms": f"< {target}",
                "median on target": "yes" if s["median_ms"] < target else "no",
            }
        )
    return pd.DataFrame(rows)


def browser_lines(browser: Mapping[str, Any] | None) -> list[str]:
    if not browser:
        return []
    if "skipped" in browser:
        return [f"Waits in a browser: not measured ({browser['skipped']}).", ""]
    taps = browser["taps_by_device"]
    return [
        f"Waits in a real browser: {browser['members']}, model `{browser['model']}`; "
        f"{browser['method']}.",
        "",
        markdown_table(browser_table(browser)),
        "",
        f"Taps by device: phone median {taps['tap phone']['median_ms']} ms, laptop median "
        f"{taps['tap laptop']['median_ms']} ms. The search figure includes the search box's "
        "150 ms typing pause.",
        "",
    ]


def render_block(
    result: Mapping[str, Any], command: str, machine: Mapping[str, str], when: datetime
) -> str:
    """The docs/BENCHMARKS.md block for one bench run, markers included."""
    picks, cold = result["picks"], result["cold_start"]
    lines = [
        BEGIN,
        TITLE,
        "",
        f"Measured by `{command}` on {when:%Y-%m-%d %H:%M} UTC; not part of "
        "`python -m engine bench` (run it separately, on the same machine).",
        "",
        f"Picks for a {picks['members']}-member room, {picks['ratings_per_member']} real "
        f"MovieLens ratings each, model `{result['model']}`; each run follows a change of the "
        "group strategy.",
        "",
        markdown_table(picks_table(picks)),
        "",
        "Cold start: a fresh Python process opens the app as a member, trained models already "
        "saved under data/.",
        "",
        markdown_table(cold_table(cold)),
        "",
        *browser_lines(result.get("browser")),
        f"- model: {result['model_cache']} (ready in {result['prepare_s']} s)",
        f"- method: {result['method']}",
        *(
            [
                f"- load average (1 min) at the start and the end: "
                f"{result['load_average'][0]} and {result['load_average'][1]} "
                f"(the machine's other work, on {machine.get('cores', '?')})"
            ]
            if "load_average" in result
            else []
        ),
        *(f"- {name}: {value}" for name, value in machine.items()),
        f"- reproduce: `{command}`",
        END,
    ]
    return "\n".join(lines)


def replace_block(document: str, block: str) -> str:
    """``document`` with its tools.bench block replaced by ``block`` (appended when absent);
    everything outside the block is kept byte for byte (``tools.docs_block``)."""
    return replace_named_block(document, "bench", block)


def write_block(path: Path, block: str) -> None:
    """Put ``block`` into the file at ``path`` (created when missing)."""
    write_named_block(path, "bench", block)
