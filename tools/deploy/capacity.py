"""``python -m tools.deploy.capacity``: how many members a deployment holds, measured in Chromium.

Starts a deployment (``tools.deploy.Stack``; ``--pin 0`` puts its one replica on core 0 with
``taskset``), creates rooms of four members and a vote in each, then adds members in steps:
each member is a headless Chromium page on their own link that taps a rating every 2–5 s (the
time from the tap to the next film taking its place is the *tap* latency), opens the Picks
page every sixth tap (time to the group's bars: *picks*), answers one film of the vote there
and goes back to the Room page. Every step lasts ``--step-s`` seconds; the run stops after the
step whose tap p95 crossed ``--limit-ms``, at ``--max-members`` or after ``--budget-s``. Per
step: members, taps, tap p50/p95, picks p95, the database's client connections (peak), and
the replicas' and the browsers' CPU (% of one core, mean over the step).

The browsers run on ``--browser-cpus`` (the launcher's own affinity, inherited by Chromium), so
on a small machine they do not take the replica's core. Figures go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import psutil

from app.store import Store
from tools.deploy.stack import Config, Stack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
WAIT_MS = 60_000  # a tap or the Picks page slower than this counts as an error
LOAD_MS = 180_000  # a member's first page load (the catalogue, the model, on busy cores)
PHONE = {"viewport": {"width": 390, "height": 844}}
PER_ROOM = 4
VOTE_FILMS = [318, 356, 296]


@dataclass
class Step:
    members: int
    taps: int = 0
    tap_p50_ms: float = 0.0
    tap_p95_ms: float = 0.0
    picks_n: int = 0
    picks_p95_ms: float = 0.0
    errors: int = 0
    db_connections_peak: int = 0
    replica_cpu_pct: float = 0.0
    browser_cpu_pct: float = 0.0


@dataclass
class Samples:
    tap: list[float] = field(default_factory=list)
    picks: list[float] = field(default_factory=list)
    errors: int = 0
    ready: int = 0  # members whose page has loaded (not reset by take)

    def take(self) -> Samples:
        out = Samples(self.tap, self.picks, self.errors, self.ready)
        self.tap, self.picks, self.errors = [], [], 0
        return out


async def _tap(page, rng: random.Random) -> float:
    title = await page.locator(".mn-card .mn-title").first.inner_text(timeout=WAIT_MS)
    stars = rng.choice(["1★", "2★", "3★", "3½★", "4★", "4½★", "5★"])
    group = page.locator('[data-testid="stButtonGroup"]').first
    started = time.perf_counter()
    await group.get_by_role("radio", name=stars, exact=True).click(timeout=WAIT_MS)
    await page.wait_for_function(
        "t => { const e = document.querySelector('.mn-card .mn-title');"
        " return e && e.textContent !== t; }",
        arg=title,
        timeout=WAIT_MS,
    )
    return time.perf_counter() - started


async def _picks(page, link: str, rng: random.Random) -> float:
    started = time.perf_counter()
    await page.get_by_text("See the group's picks").first.click(timeout=WAIT_MS)
    await page.locator(".mn-bars").first.wait_for(timeout=WAIT_MS)
    took = time.perf_counter() - started
    ballot = page.locator('[class*="st-key-mn_ballot"]')
    if await ballot.count():
        card = ballot.nth(rng.randrange(await ballot.count()))
        await card.get_by_role("radio", name=rng.choice(["Yes", "Not tonight"]), exact=True).click()
        await page.wait_for_timeout(1500)
    await page.goto(link)
    await page.locator(".mn-card").first.wait_for(timeout=WAIT_MS)
    return took


async def _member(browser, link: str, samples: Samples, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        try:
            await page.goto(link, timeout=LOAD_MS)
            await page.locator(".mn-card").first.wait_for(timeout=LOAD_MS)
        except Exception as exc:  # the page never loaded: counted, and this member stops
            samples.errors += 1
            print(f"member {seed}: page did not load: {str(exc).splitlines()[0]}", file=sys.stderr)
            return
        samples.ready += 1
        n = 0
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(2.0, 5.0))
            if stop.is_set():
                break
            try:
                n += 1
                if n % 6 == 0:
                    samples.picks.append(await _picks(page, link, rng))
                else:
                    samples.tap.append(await _tap(page, rng))
            except Exception:  # a timeout is a failed tap: counted, and the member goes on
                samples.errors += 1
                await page.goto(link)
    finally:
        await context.close()


class CpuMeter:
    """Mean CPU (% of one core) of some process trees over a window, sampled every second."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.values, self._stop = pids, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[psutil.Process]:
        found = []
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
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
            procs = self._tree()
            before, t0 = self._total(procs), time.monotonic()
            self._stop.wait(1.0)
            self.values.append(100 * (self._total(procs) - before) / (time.monotonic() - t0))

    def start(self) -> CpuMeter:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return float(np.mean(self.values)) if self.values else 0.0


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


def _ms(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(xs) * 1000, q)), 1) if xs else 0.0


async def ramp(stack: Stack, args: argparse.Namespace) -> list[Step]:
    from playwright.async_api import async_playwright

    links = _links(stack, args.max_members)
    samples, stop, steps = Samples(), asyncio.Event(), []
    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        replica_pids = [r.pid for r in stack.replicas if r.pid]
        for size in range(args.step, args.max_members + 1, args.step):
            for i in range(len(tasks), size):
                tasks.append(asyncio.create_task(_member(browser, links[i], samples, stop, i)))
            deadline = time.monotonic() + LOAD_MS / 1000  # new members load their page first
            while samples.ready < size and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            await asyncio.sleep(args.warm_s)  # and settle into their pace
            samples.take()
            cpu = CpuMeter(replica_pids).start()
            own = CpuMeter([os.getpid()]).start()
            peak, until = 0, time.monotonic() + args.step_s
            while time.monotonic() < until:
                if stack.cluster is not None:
                    peak = max(peak, await asyncio.to_thread(stack.cluster.connections))
                await asyncio.sleep(2.0)
            got = samples.take()
            step = Step(
                members=size,
                taps=len(got.tap),
                tap_p50_ms=_ms(got.tap, 50),
                tap_p95_ms=_ms(got.tap, 95),
                picks_n=len(got.picks),
                picks_p95_ms=_ms(got.picks, 95),
                errors=got.errors,
                db_connections_peak=peak,
                replica_cpu_pct=round(cpu.stop(), 1),
                browser_cpu_pct=round(own.stop(), 1),
            )
            steps.append(step)
            print(json.dumps(asdict(step)), flush=True)
            if step.tap_p95_ms > args.limit_ms or time.monotonic() - started > args.budget_s:
                break
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await browser.close()
    return steps


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.deploy.capacity", description=__doc__)
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--pin", default="0", help="CPU lists for the replicas ('' for none)")
    p.add_argument("--browser-cpus", default="1", help="CPUs for Chromium and this tool")
    p.add_argument("--model", help="MOVIENIGHT_DEFAULT_MODEL (default: the app's, the hybrid)")
    p.add_argument("--step", type=int, default=4, help="members added per step")
    p.add_argument("--max-members", type=int, default=40)
    p.add_argument("--step-s", type=float, default=25.0)
    p.add_argument("--warm-s", type=float, default=8.0)
    p.add_argument("--limit-ms", type=float, default=1000.0)
    p.add_argument("--budget-s", type=float, default=170.0, help="stop ramping after this")
    p.add_argument("--run-dir", type=Path, default=Path(tempfile.gettempdir()) / "mn-capacity")
    p.add_argument("--out", type=Path, default=Path("data/capacity.json"))
    args = p.parse_args(argv)
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
    signal.signal(signal.SIGTERM, _interrupt)  # a timeout's SIGTERM still stops the stack
    stack = Stack(cfg)
    stack.start()
    try:
        if args.browser_cpus:
            cpus = {int(c) for c in args.browser_cpus.split(",")}
            psutil.Process().cpu_affinity(sorted(cpus))  # Chromium inherits it
        steps = asyncio.run(ramp(stack, args))
    finally:
        stack.stop()
    report: dict[str, Any] = {
        "command": "python -m tools.deploy.capacity " + " ".join(argv or sys.argv[1:]),
        "replicas": args.replicas,
        "pin": args.pin,
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "steps": [asdict(s) for s in steps],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
