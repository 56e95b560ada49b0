"""App timings (protocol App): ``python -m tools.bench``.

Three sets of figures (docs/PROTOCOLS.md, "App"):

* **picks**: a 6-member room (each member's 10 ratings taken from a real MovieLens user), the Picks
  page open; the time from a click that asks for picks (a strategy change) to the rendered page,
  measured with Streamlit's AppTest (the whole script run: store reads, fold-ins, the group
  blend, building the table and cards), plus the engine call alone.
* **cold start**: a fresh Python process opening the app as a member, with trained models
  already cached under data/: imports, catalogue and model loading, and the first page run.
* **browser**: what people wait for in a real browser (``tools.browser_waits``): three members,
  one on a phone, tapping ratings, searching, opening Picks and voting, median and p95 of each
  (skipped, and said so, where Chromium or Playwright is missing; ``--no-browser`` skips it).

The database is a throwaway SQLite file; models come from (and, first time, are trained into) the
data dir, so the cold start measures loading, not training. The figures go into
docs/BENCHMARKS.md between ``<!-- BEGIN tools.bench -->`` and ``<!-- END tools.bench -->``
(``tools.protocol_app``) with the machine and the command; ``--json`` also prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

from app import services
from engine.data import load_embedded
from engine.evaluate.report import machine_info
from engine.train import load_or_train
from tools import browser_waits, deck_load
from tools.protocol_app import render_block, write_block

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
STRATEGY_CYCLE = ("average", "least_misery", "borda", "fair")


def _summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[min(len(ms) - 1, int(0.9 * len(ms)))], 1),
        "min_ms": round(ms[0], 1),
        "runs": len(ms),
    }


def _ensure_model(name: str) -> str:
    """Train (first time) and cache the model under the data dir; returns load_or_train's message."""
    _, message = load_or_train(name, load_embedded())
    return message


def _seed_room(n_members: int, per_member: int, seed: int = 0) -> tuple[str, list[str]]:
    """A room whose members rated what real MovieLens users rated (deterministic)."""
    cat = services.get_catalogue()
    store = services.get_store()
    rng = np.random.default_rng(seed)
    counts = cat.user_counts()
    users = rng.choice(np.flatnonzero(counts >= 2 * per_member), n_members, replace=False)
    room = store.create_room(f"Bench room ({n_members})")
    tokens = []
    for i, user in enumerate(users):
        token = store.add_member(room.code, f"Member {i + 1}").token
        items, values = cat.user_items(int(user))
        pick = rng.choice(len(items), per_member, replace=False)
        for item, value in zip(items[pick], values[pick], strict=True):
            store.set_rating(token, int(cat.item_ids[item]), float(value))
        tokens.append(token)
    return room.code, tokens


def bench_picks(model: str, n_members: int, per_member: int, repeats: int) -> dict[str, Any]:
    code, _ = _seed_room(n_members, per_member)
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.query_params["room"] = code
    at.run()
    at.switch_page("app/pages/picks.py").run()  # warm-up: loads catalogue and model
    if at.exception:
        raise RuntimeError(f"picks page failed: {at.exception[0].message}")
    page = []
    for i in range(repeats):
        at.selectbox(key="strategy").set_value(STRATEGY_CYCLE[i % len(STRATEGY_CYCLE)])
        started = time.perf_counter()
        at.run()
        page.append(time.perf_counter() - started)
        if at.exception or not at.dataframe:
            raise RuntimeError("picks page did not render its table")
    engine = []
    for i in range(repeats):
        started = time.perf_counter()
        services.group_picks(code, model, STRATEGY_CYCLE[i % len(STRATEGY_CYCLE)])
        engine.append(time.perf_counter() - started)
    return {
        "members": n_members,
        "ratings_per_member": per_member,
        "page": _summary(page),
        "engine_only": _summary(engine),
    }


def cold_start(model: str, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "tools.cold_start"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_deck(model: str, enabled: bool) -> dict[str, Any]:
    """The rating deck's burst, slow-socket, CPU and ramp figures, or why there are none."""
    if not enabled:
        return {"skipped": "--no-browser"}
    why = browser_waits.available()
    if why:
        return {"skipped": why}
    return deck_load.run(model)


def bench_browser(model: str, enabled: bool, rounds: tuple[int, int, int, int]) -> dict[str, Any]:
    """The browser figures, or why there are none; ``rounds``: taps per member, searches,
    Picks openings and votes."""
    if not enabled:
        return {"skipped": "--no-browser"}
    why = browser_waits.available()
    if why:
        return {"skipped": why}
    taps, searches, opens, votes = rounds
    return browser_waits.run(model, taps=taps, searches=searches, opens=opens, votes=votes)


def measure(
    model: str | None,
    members: int,
    ratings: int,
    repeats: int,
    browser: bool = True,
    rounds: tuple[int, int, int, int] = (8, 6, 5, 3),
) -> dict[str, Any]:
    """Run protocol App against a throwaway database; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="movienight-bench-") as tmp:
        os.environ["MOVIENIGHT_DB_URL"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        model = model or services.default_model_name()
        os.environ[services.DEFAULT_MODEL_ENV] = model
        load_before = os.getloadavg()[0]  # others' work on the machine colours every figure
        started = time.perf_counter()
        message = _ensure_model(model)
        prepare_s = time.perf_counter() - started
        # This process stands in for the server: its own calls (the engine-only figure) use the
        # serving threads, as the app's page runs do.
        services.use_serving_threads()
        return {
            "model": model,
            "model_cache": message,
            "prepare_s": round(prepare_s, 2),
            "cold_start": cold_start(model, dict(os.environ)),
            "picks": bench_picks(model, members, ratings, repeats),
            "browser": bench_browser(model, browser, rounds),
            "deck": bench_deck(model, browser),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "method": "AppTest script runs (server-side render, no browser paint)",
        }


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=doc.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--model", default=None, help="model family (default: the app's default)")
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--ratings", type=int, default=10, help="ratings per member")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--taps", type=int, default=8, help="browser: rating taps per member")
    parser.add_argument("--searches", type=int, default=6, help="browser: searches")
    parser.add_argument("--opens", type=int, default=5, help="browser: Picks openings")
    parser.add_argument("--votes", type=int, default=3, help="browser: votes run")
    parser.add_argument(
        "--output", type=Path, default=DOCS, help="the file whose tools.bench block is replaced"
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write the block")
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the real-browser (Playwright) waits"
    )
    args = parser.parse_args(argv)

    when = datetime.now(UTC)
    result = measure(
        args.model,
        args.members,
        args.ratings,
        args.repeats,
        browser=not args.no_browser,
        rounds=(args.taps, args.searches, args.opens, args.votes),
    )
    given = argv if argv is not None else sys.argv[1:]
    command = shlex.join(["python", "-m", "tools.bench", *given])
    result["command"] = command
    if not args.no_docs:
        write_block(args.output, render_block(result, command, machine_info(), when))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        c, p = result["cold_start"], result["picks"]
        print(f"model {result['model']}: {result['model_cache']}")
        print(f"cold start (models cached): {c['total_s']:.2f} s  {c}")
        print(f"picks for {p['members']} members: page {p['page']}, engine {p['engine_only']}")
        b = result["browser"]
        if "skipped" in b:
            print(f"browser: skipped ({b['skipped']})")
        else:
            for name, s in b["waits"].items():
                print(f"browser {name}: {s}")
        if not args.no_docs:
            print(f"written to {args.output} (the tools.bench block)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
