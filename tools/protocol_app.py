"""Protocol App (docs/PROTOCOLS.md): how the app bench's figures are reported.

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
    "tap": "rating tap → next film's card on screen (in the browser)",
    "saved": "rating tap → the server acknowledged it saved",
    "search": "last keystroke → search results shown (in the browser)",
    "picks": "click on Picks → ten picks with their reasons shown",
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
        if key not in browser["waits"]:
            continue
        s = browser["waits"][key]
        target = browser["targets_ms"].get(key, 0)
        rows.append(
            {
                "wait": what,
                "median ms": s["median_ms"],
                "p95 ms": s["p95_ms"],
                "runs": s["n"],
                "target ms": f"< {target}" if target else "—",
                "median on target": ("yes" if s["median_ms"] < target else "no") if target else "—",
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
        f"{taps['tap laptop']['median_ms']} ms. Tap p95 target: < "
        f"{browser.get('tap_p95_target_ms', 200)} ms.",
        "",
    ]


def deck_lines(deck: Mapping[str, Any] | None) -> list[str]:
    """The rating deck under stress (``tools.deck_load``): each figure checked against the
    database."""
    if not deck:
        return []
    if "skipped" in deck:
        return [f"The rating deck under stress: not measured ({deck['skipped']}).", ""]
    rows = []
    for key, what in (
        ("burst", "10 taps within 1 s"),
        (
            "slow_socket",
            f"the same, socket delayed {deck['slow_socket']['delay_ms_each_way']} ms each way",
        ),
    ):
        b = deck[key]
        rows.append(
            {
                "burst": what,
                "answers saved right": f"{b['saved_right']} of {b['taps']}",
                "other rows": b["extra_rows"],
                "taps with no new card": b.get("no_new_card", 0),
                "tap → card median / p95 ms": f"{b['card_ms']['median_ms']} / {b['card_ms']['p95_ms']}",
                "first tap → all saved ms": b["all_saved_ms"],
            }
        )
    ramp = [
        {
            "members tapping at once": step["members"],
            "tap → card p95 ms": step["tap"].get("p95_ms"),
            "last tap → saved p95 ms": step["last_saved_after_last_tap"].get("p95_ms"),
            "server CPU (cores)": step["server_cpu_share"],
        }
        for step in deck["ramp"]
    ]
    last = deck["ramp"][-1] if deck["ramp"] else None
    stop = (
        f"The ramp stopped at {last['members']} members: the last tap's save took longer than "
        f"{deck['saved_limit_ms']} ms at p95."
        if last and last["last_saved_after_last_tap"].get("p95_ms", 0) > deck["saved_limit_ms"]
        else "Every step kept the last tap's save under "
        f"{deck['saved_limit_ms']} ms at p95 (the steps ran out, not the server)."
    )
    return [
        "The rating deck under stress (`tools.deck_load`), every answer checked in the database:",
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
        f"Server CPU per answer: {deck['server_cpu_ms_per_answer']} ms (the server process's "
        "CPU time over the burst, less the idle page's polling for as long, divided by the "
        "answers saved).",
        "",
        "Members per process, each tapping every 0.7 s on a phone in one browser:",
        "",
        markdown_table(pd.DataFrame(ramp)),
        "",
        stop,
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
        *deck_lines(result.get("deck")),
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
