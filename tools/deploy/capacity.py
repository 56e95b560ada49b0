"""``python -m tools.deploy.capacity``: how many members a deployment holds.

Starts a deployment (``tools.deploy.Stack``; ``--pin 0`` puts its one replica on core 0 with
``taskset``), creates rooms of four members and a vote in each, then adds members in steps
(``--start``, then ``--step`` more each time). Every member, on their own link, taps a rating
every 2–5 s (*tap*: from the tap to the server's acknowledgement of that answer reaching the
page), opens the Picks page every sixth turn (*picks*: time to the group's bars), answers one
film of the vote there and goes back to the Room page.

Most members are light clients (``tools.deploy.ws_member``: Streamlit's websocket protocol, as
the browser speaks it, at a fraction of a browser's CPU); ``--browsers K`` makes the first K
members headless Chromium pages (``tools.deploy.browser_member``), so the two kinds are measured
side by side on the same load. Every step lasts ``--step-s`` seconds once its members' pages
have loaded; the run stops after the step whose tap p95 crossed ``--limit-ms``, at
``--max-members`` or after ``--budget-s``. Per step: members of each kind, taps and tap p50/p95
(all, light, browsers), picks p95, errors, the database's client connections (peak), the
replicas' CPU, this tool's own CPU (the light clients) and the browsers' CPU (% of one core, mean
over the step), and the load average.

The clients run on ``--client-cpus`` (this process's affinity, inherited by Chromium), so on a
small machine they do not take the replica's core. Figures go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import psutil

from app.store import Store
from tools.deploy.browser_member import browser_member
from tools.deploy.samples import Samples, percentile_ms
from tools.deploy.stack import Config, Stack
from tools.deploy.ws_member import LOAD_S, LightMember

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
PER_ROOM = 4
VOTE_FILMS = [318, 356, 296]


@dataclass
class Step:
    """One step's figures (milliseconds, % of one core)."""

    members: int
    browsers: int = 0
    light: int = 0
    taps: int = 0
    tap_p50_ms: float = 0.0
    tap_p95_ms: float = 0.0
    light_taps: int = 0
    light_tap_p50_ms: float = 0.0
    light_tap_p95_ms: float = 0.0
    browser_taps: int = 0
    browser_tap_p50_ms: float = 0.0
    browser_tap_p95_ms: float = 0.0
    picks_n: int = 0
    picks_p95_ms: float = 0.0
    light_picks_p95_ms: float = 0.0
    browser_picks_p95_ms: float = 0.0
    errors: int = 0
    light_errors: int = 0
    browser_errors: int = 0
    db_connections_peak: int = 0
    replica_cpu_pct: float = 0.0
    client_cpu_pct: float = 0.0  # this process: the light clients (and Playwright's Python side)
    browser_cpu_pct: float = 0.0  # its children: Playwright's driver and Chromium
    load_avg_1m: float = 0.0


class CpuMeter:
    """Mean CPU (% of one core) of some processes over a window, sampled every second; with
    ``children`` each process's descendants too."""

    def __init__(self, pids: list[int], children: bool = True) -> None:
        self.pids, self.children = pids, children
        self.values: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _procs(self) -> list[psutil.Process]:
        found = []
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                found += [root, *(root.children(recursive=True) if self.children else [])]
            except psutil.NoSuchProcess:
                pass
        return found

    def _total(self, procs: list[psutil.Process]) -> float:
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            procs = self._procs()
            before, t0 = self._total(procs), time.monotonic()
            self._stop.wait(1.0)
            self.values.append(100 * (self._total(procs) - before) / (time.monotonic() - t0))

    def start(self) -> CpuMeter:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(float(np.mean(self.values)), 1) if self.values else 0.0


def _links(stack: Stack, n: int) -> list[str]:
    store = Store(stack.db_url)
    links: list[str] = []
    while len(links) < n:
        hosted = store.tonight.create_hosted_room(f"capacity {len(links) // PER_ROOM + 1}")
        store.tonight.open_vote(hosted.code, hosted.host_token, VOTE_FILMS)
        for i in range(PER_ROOM):
            member = store.add_member(hosted.code, f"member {i + 1}")
            links.append(f"{stack.url}/?room={hosted.code}&member={member.token}")
    store.dispose()
    return links[:n]


def sizes(start: int, step: int, most: int) -> list[int]:
    """Members in each step: ``start``, then ``step`` more each time, up to ``most``."""
    first = max(1, min(start or step, most))
    if step <= 0:
        return [first]
    return list(range(first, most + 1, step)) or [first]


def _step(size: int, browsers: int, light: Samples, real: Samples) -> Step:
    """The figures of one step from what each kind measured during it."""
    taps, picks = light.tap + real.tap, light.picks + real.picks
    return Step(
        members=size,
        browsers=browsers,
        light=size - browsers,
        taps=len(taps),
        tap_p50_ms=percentile_ms(taps, 50),
        tap_p95_ms=percentile_ms(taps, 95),
        light_taps=len(light.tap),
        light_tap_p50_ms=percentile_ms(light.tap, 50),
        light_tap_p95_ms=percentile_ms(light.tap, 95),
        browser_taps=len(real.tap),
        browser_tap_p50_ms=percentile_ms(real.tap, 50),
        browser_tap_p95_ms=percentile_ms(real.tap, 95),
        picks_n=len(picks),
        picks_p95_ms=percentile_ms(picks, 95),
        light_picks_p95_ms=percentile_ms(light.picks, 95),
        browser_picks_p95_ms=percentile_ms(real.picks, 95),
        errors=light.errors + real.errors,
        light_errors=light.errors,
        browser_errors=real.errors,
        load_avg_1m=round(os.getloadavg()[0], 2),
    )


async def ramp(
    stack: Stack, args: argparse.Namespace, record: Callable[[list[Step]], None]
) -> list[Step]:
    """Add members step by step and measure each step; stops as the module says. ``record``
    gets the steps so far after each one (a run cut short keeps what it measured)."""
    plan = sizes(args.start, args.step, args.max_members)
    links = _links(stack, plan[-1])
    light, real = Samples(), Samples()
    stop, steps = asyncio.Event(), []
    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    replica_pids = [r.pid for r in stack.replicas if r.pid]
    playwright, browser = None, None
    if args.browsers:
        from playwright.async_api import async_playwright  # only with --browsers

        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        for size in plan:
            for i in range(len(tasks), size):
                if i < args.browsers and browser is not None:
                    member = browser_member(browser, links[i], real, stop, i)
                else:
                    member = LightMember(links[i], light, seed=i).run(stop)
                tasks.append(asyncio.create_task(member))
            deadline = time.monotonic() + LOAD_S  # new members load their page first
            while light.ready + real.ready < size and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            await asyncio.sleep(args.warm_s)  # and settle into their pace
            light.take()  # what the warm-up measured is dropped
            real.take()
            replicas = CpuMeter(replica_pids).start()
            own = CpuMeter([os.getpid()], children=False).start()
            deployment = {c.pid for c in stack.children()}
            kids = [c.pid for c in psutil.Process().children() if c.pid not in deployment]
            browsers = CpuMeter(kids).start()  # Playwright's driver, Chromium under it
            peak, until = 0, time.monotonic() + args.step_s
            while time.monotonic() < until:
                if stack.cluster is not None:
                    peak = max(peak, await asyncio.to_thread(stack.cluster.connections))
                await asyncio.sleep(2.0)
            step = _step(size, min(args.browsers, size), light.take(), real.take())
            step.db_connections_peak = peak
            step.replica_cpu_pct = replicas.stop()
            step.client_cpu_pct = own.stop()
            step.browser_cpu_pct = browsers.stop()
            steps.append(step)
            record(steps)
            print(json.dumps(asdict(step)), flush=True)
            if step.tap_p95_ms > args.limit_ms or time.monotonic() - started > args.budget_s:
                break
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if browser is not None:
            await browser.close()
        if playwright is not None:
            await playwright.stop()
    return steps


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.deploy.capacity", description=__doc__)
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--pin", default="0", help="CPU lists for the replicas ('' for none)")
    p.add_argument(
        "--client-cpus", "--browser-cpus", dest="client_cpus", default="1",
        help="CPUs for this tool, its light clients and Chromium ('' for any)",
    )  # fmt: skip
    p.add_argument("--browsers", type=int, default=0, help="members in Chromium (the first K)")
    p.add_argument("--model", help="MOVIENIGHT_DEFAULT_MODEL (default: the app's, the hybrid)")
    p.add_argument("--start", type=int, default=0, help="members in the first step (0: --step)")
    p.add_argument("--step", type=int, default=4, help="members added per step")
    p.add_argument("--max-members", type=int, default=40)
    p.add_argument("--step-s", type=float, default=25.0)
    p.add_argument("--warm-s", type=float, default=8.0)
    p.add_argument("--limit-ms", type=float, default=1000.0)
    p.add_argument("--budget-s", type=float, default=170.0, help="stop ramping after this")
    p.add_argument("--run-dir", type=Path, default=Path(tempfile.gettempdir()) / "mn-capacity")
    p.add_argument("--out", type=Path, default=Path("data/capacity.json"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    args.run_dir.chmod(0o755)
    cfg = Config(
        replicas=args.replicas,
        port=0,
        first_replica_port=0,
        stats_port=0,
        pg_port=0,
        run_dir=args.run_dir,
        pin=[c for c in args.pin.split(";") if c],
        model=args.model,
        worker=False,
    )
    load_before = os.getloadavg()
    command = "python -m tools.deploy.capacity " + " ".join(argv or sys.argv[1:])

    def record(steps: list[Step]) -> None:
        report: dict[str, Any] = {
            "command": command,
            "replicas": args.replicas,
            "pin": args.pin,
            "client_cpus": args.client_cpus,
            "browsers": args.browsers,
            "model": args.model or "the app's default (hybrid)",
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "steps": [asdict(s) for s in steps],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))

    signal.signal(signal.SIGTERM, _interrupt)  # a timeout's SIGTERM still stops the stack
    stack = Stack(cfg)
    stack.start()
    try:
        if args.client_cpus:
            cpus = {int(c) for c in args.client_cpus.split(",")}
            psutil.Process().cpu_affinity(sorted(cpus))  # Chromium inherits it
        steps = asyncio.run(ramp(stack, args, record))
    finally:
        stack.stop()
    record(steps)  # load_after: once the deployment has stopped
    print(f"wrote {args.out}")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    raise SystemExit(main())
