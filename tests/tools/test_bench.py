"""The app bench (tools/bench.py) and protocol App's block in docs/BENCHMARKS.md
(tools/protocol_app.py): the block is replaced in place or added at the end, nothing else in the
file changes, and a real (small) bench run writes real figures with the machine and command."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from tools import browser_waits
from tools.bench import main
from tools.browser_waits import summary
from tools.protocol_app import BEGIN, END, TITLE, render_block, replace_block, write_block

RESULT = {
    "model": "hybrid",
    "model_cache": "loaded hybrid from data/models/abc/hybrid",
    "prepare_s": 0.19,
    "cold_start": {
        "import_s": 0.54,
        "room_page_first_run_s": 2.574,
        "picks_page_first_run_s": 0.091,
        "total_s": 3.506,
    },
    "picks": {
        "members": 6,
        "ratings_per_member": 10,
        "page": {"median_ms": 66.6, "p90_ms": 71.2, "min_ms": 65.2, "runs": 7},
        "engine_only": {"median_ms": 25.3, "p90_ms": 27.7, "min_ms": 19.8, "runs": 7},
    },
    "method": "AppTest script runs (server-side render, no browser paint)",
}
MACHINE = {"CPU": "Test CPU", "cores": "2 logical; torch threads 1", "Python": "3.11.7"}
WHEN = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def block(command: str = "python -m tools.bench") -> str:
    return render_block(RESULT, command, MACHINE, WHEN)


def test_block_holds_the_figures_the_machine_and_the_command():
    text = block("python -m tools.bench --repeats 3")
    assert text.startswith(BEGIN + "\n" + TITLE) and text.endswith(END)
    assert "`python -m tools.bench --repeats 3` on 2026-12-02 09:30 UTC" in text
    assert "- reproduce: `python -m tools.bench --repeats 3`" in text
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()}
    page = rows["click → rendered Picks page (AppTest script run)"]
    assert page.split(" | ")[1:] == ["66.60", "71.20", "65.20", "7 |"]
    engine = rows["services.group_picks alone (store, fold-ins, blend)"]
    assert engine.split(" | ")[1:3] == ["25.30", "27.70"]
    assert rows["total"] == "| total | 3.51 |"
    assert "6-member room, 10 real MovieLens ratings each, model `hybrid`" in text
    for name, value in MACHINE.items():
        assert f"- {name}: {value}" in text
    assert "- model: loaded hybrid from data/models/abc/hybrid (ready in 0.19 s)" in text


DOC = "# Benchmarks\n\n## E: rating prediction\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"


def test_block_is_added_at_the_end_when_absent():
    out = replace_block(DOC, block())
    assert out.startswith(DOC) and out.endswith(block() + "\n")
    assert out == DOC + "\n" + block() + "\n"
    assert replace_block("", block()) == block() + "\n"


def test_only_the_block_is_replaced_and_the_rest_kept_byte_for_byte():
    tail = "\n## Load test\n\nkept as is  \n"
    old = DOC + "\n" + BEGIN + "\nold figures\n" + END + tail
    out = replace_block(old, block())
    assert out == DOC + "\n" + block() + tail
    assert out.count(BEGIN) == 1 and "old figures" not in out
    assert replace_block(out, block()) == out  # idempotent


def test_a_block_without_its_end_marker_is_refused():
    broken = DOC + BEGIN + "\nhalf a block\n## G: groups\n"
    with pytest.raises(ValueError, match=re.escape(END)):
        replace_block(broken, block())


def test_write_block_creates_or_updates_the_file(tmp_path):
    path = tmp_path / "docs" / "BENCHMARKS.md"
    write_block(path, block())
    assert path.read_text() == block() + "\n"
    path.write_text(DOC + "\n" + path.read_text())
    write_block(path, block("python -m tools.bench --members 3"))
    text = path.read_text()
    assert text.startswith(DOC) and text.count(BEGIN) == 1 and "--members 3" in text


@pytest.mark.slow
def test_a_small_bench_run_writes_real_figures(tmp_path, monkeypatch, capsys):
    """The whole bench, small: baseline model, 3 members, 2 repeats, into a copy of the doc."""
    monkeypatch.setenv("MOVIENIGHT_DEFAULT_MODEL", "baseline")
    output = tmp_path / "BENCHMARKS.md"
    output.write_text(DOC)
    args = ["--model", "baseline", "--members", "3", "--ratings", "4", "--repeats", "2"]
    args.append("--no-browser")  # the browser part has its own test below
    assert main([*args, "--output", str(output), "--json"]) == 0
    text = output.read_text()
    assert text.startswith(DOC) and text.count(BEGIN) == 1 and text.rstrip().endswith(END)
    command = "python -m tools.bench " + " ".join([*args, "--output", str(output), "--json"])
    assert f"- reproduce: `{command}`" in text
    page = re.search(r"\| click → rendered Picks page \(AppTest script run\) \| ([\d.]+) \|", text)
    assert page and float(page.group(1)) > 0
    total = re.search(r"\| total \| ([\d.]+) \|", text)
    assert total and float(total.group(1)) > 0
    assert "model `baseline`" in text and "torch threads 1" in text  # the serving threads
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {*RESULT, "browser", "deck", "load_average", "machine", "command"}
    assert "- load average (1 min) at the start and the end: " in text
    assert printed["command"] == command and printed["browser"] == {"skipped": "--no-browser"}
    assert "Waits in a browser: not measured (--no-browser)." in text
    assert "The rating deck under stress: not measured (--no-browser)." in text
    assert printed["picks"]["page"]["runs"] == 2 and printed["picks"]["members"] == 3


BROWSER = {
    "members": "3 (two laptops, one phone)",
    "model": "hybrid",
    "waits": {
        "tap": {"median_ms": 21.0, "p95_ms": 42.5, "max_ms": 50.0, "n": 24},
        "saved": {"median_ms": 300.0, "p95_ms": 700.0, "max_ms": 800.0, "n": 24},
        "search": {"median_ms": 90.0, "p95_ms": 150.0, "max_ms": 160.0, "n": 6},
        "picks": {"median_ms": 640.0, "p95_ms": 1200.0, "max_ms": 1300.0, "n": 5},
        "tally": {"median_ms": 1500.0, "p95_ms": 2600.0, "max_ms": 2700.0, "n": 6},
    },
    "taps_by_device": {
        "tap phone": {"median_ms": 250.0, "p95_ms": 420.5, "max_ms": 500.0, "n": 8},
        "tap laptop": {"median_ms": 200.0, "p95_ms": 400.0, "max_ms": 410.0, "n": 16},
    },
    "targets_ms": {"tap": 100, "saved": 0, "search": 100, "picks": 1000, "tally": 5000},
    "method": "headless Chromium",
}


def test_block_shows_the_browser_waits_against_their_targets():
    text = render_block({**RESULT, "browser": BROWSER}, "python -m tools.bench", MACHINE, WHEN)
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in text.splitlines()}
    tap = rows["rating tap → next film's card on screen (in the browser)"]
    assert tap[1:5] == ["21.00", "42.50", "24", "< 100"] and tap[5].startswith("yes")
    saved = rows["rating tap → the server acknowledged it saved"]
    assert saved[4] == "—"  # the round trip has no target: it is shown to tell the two apart
    picks = rows["click on Picks → ten picks with their reasons shown"]
    assert picks[4] == "< 1000" and picks[5].startswith("yes")
    assert rows["last keystroke → search results shown (in the browser)"][5].startswith("yes")
    assert "phone median 250.0 ms, laptop median 200.0 ms" in text
    loaded = render_block({**RESULT, "load_average": [7.5, 6.1]}, "x", MACHINE, WHEN)
    assert "- load average (1 min) at the start and the end: 7.5 and 6.1" in loaded
    slow = {**BROWSER, "waits": {**BROWSER["waits"], "tally": {**BROWSER["waits"]["tally"],
                                                              "median_ms": 6000.0}}}  # fmt: skip
    text = render_block({**RESULT, "browser": slow}, "python -m tools.bench", MACHINE, WHEN)
    row = next(line for line in text.splitlines() if line.startswith("| a member's last vote"))
    assert row.rstrip(" |").endswith("no")


def test_percentiles_are_nearest_rank():
    ms = [float(x) for x in range(1, 21)]  # 1..20
    s = summary(ms)
    assert (s["median_ms"], s["p95_ms"], s["max_ms"], s["n"]) == (10.5, 19.0, 20.0, 20)
    assert summary([5.0])["p95_ms"] == 5.0 and summary([]) == {"n": 0}


@pytest.mark.slow
@pytest.mark.browser
def test_a_tiny_browser_waits_measures_every_wait():
    """One of each wait, with the fast model: the in-page timers resolve and the app behaves."""
    why = browser_waits.available()
    if why:
        pytest.skip(why)
    result = browser_waits.run("baseline", taps=1, searches=1, opens=1, votes=1)
    waits = result["waits"]
    assert waits["tap"]["n"] == waits["saved"]["n"] == 3 and waits["search"]["n"] == 1
    assert waits["picks"]["n"] == 1 and waits["tally"]["n"] == 2
    for name, s in waits.items():
        assert 0 < s["median_ms"] <= s["p95_ms"] <= s["max_ms"] < 120_000, name
    assert result["taps_by_device"]["tap phone"]["n"] == 1


DECK = {
    "model": "hybrid",
    "burst": {
        "taps": 10,
        "saved_right": 10,
        "extra_rows": 0,
        "no_new_card": 0,
        "card_ms": {"median_ms": 4.0, "p95_ms": 12.0, "max_ms": 12.0, "n": 10},
        "all_saved_ms": 900.0,
    },
    "slow_socket": {
        "taps": 10,
        "saved_right": 9,
        "extra_rows": 0,
        "no_new_card": 1,
        "card_ms": {"median_ms": 4.0, "p95_ms": 9.0, "max_ms": 9.0, "n": 9},
        "all_saved_ms": 3500.0,
        "delay_ms_each_way": 800,
    },
    "server_cpu_ms_per_answer": 12.5,
    "ramp": [
        {
            "members": 1,
            "tap": {"p95_ms": 10.0},
            "last_saved_after_last_tap": {"p95_ms": 300.0},
            "server_cpu_share": 0.1,
        },
        {
            "members": 3,
            "tap": {"p95_ms": 12.0},
            "last_saved_after_last_tap": {"p95_ms": 1500.0},
            "server_cpu_share": 0.9,
        },
    ],
    "saved_limit_ms": 1000,
}


def test_block_reports_the_deck_as_checked_against_the_database():
    text = render_block({**RESULT, "deck": DECK}, "python -m tools.bench", MACHINE, WHEN)
    assert "| 10 taps within 1 s | 10 of 10 | 0 | 0 | 4.0 / 12.0 | 900.00 |" in text
    assert "| 9 of 10 | 0 | 1 |" in text  # a lost answer and a tap with no card are shown
    assert "Server CPU per answer: 12.5 ms" in text
    assert "The ramp stopped at 3 members" in text
    calm = {**DECK, "ramp": DECK["ramp"][:1]}
    text = render_block({**RESULT, "deck": calm}, "python -m tools.bench", MACHINE, WHEN)
    assert "the steps ran out, not the server" in text
