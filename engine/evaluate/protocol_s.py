"""Protocol S, scale: MovieLens-25M-size synthetic data (DESIGN.md §4).

Each step runs in its own child process (``python -m engine.evaluate.protocol_s --step ...``) so
that its peak memory (the child's ``ru_maxrss``) is its own and steps don't pollute each other:

- ``generate``: ``synthetic_scale`` (162,541 × 59,047, 25M pairs), then it saves the arrays and
  writes an ml-25m-style csv folder for the load step (not timed).
- ``load``: ``engine.data.movielens.load_folder`` on the 25M-row ratings.csv.
- ``als``: our implicit ALS, 64 factors, seconds per iteration; then, on the fitted model, the
  interactive paths: fold-in, one person's scores, similar films, a 6-member group recommendation.
- ``implicit``: ``implicit.cpu.als.AlternatingLeastSquares`` (64 factors, CG) on the same matrix.
- ``mf``: explicit MF (64 factors, mini-batch Adam), seconds per epoch and ratings per second.

On CUDA, ``als`` and ``mf`` also run on the GPU, and the ALS row reports the achieved memory
traffic against the card's peak bandwidth (from a byte count of the sparse kernels; see
``als_traffic``). ``quick=True`` shrinks everything to 1/100 so CI runs it in seconds.

Reproduce one step by hand: ``python -m engine.evaluate.protocol_s --step als --data DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import Ratings
from engine.evaluate.report import BenchContext, ProtocolResult

TITLE = "scale: MovieLens-25M-size synthetic data"
FACTORS = 64
MF_BATCH = 1 << 20
STEP_TIMEOUT = 1800

# Peak DRAM bandwidth (bytes/s) by card name, for cards whose properties lack the memory clock.
KNOWN_BANDWIDTH = {
    "H100 SXM": 3.35e12,
    "H100 PCIe": 2.0e12,
    "H100": 3.35e12,
    "H200": 4.8e12,
    "A100-SXM4-80GB": 2.04e12,
    "A100": 1.56e12,
    "L4": 0.3e12,
    "T4": 0.32e12,
}


# ---------------------------------------------------------------------- child-side steps
def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _load_arrays(folder: Path) -> Ratings:
    from engine.data.synthetic_scale import _movies

    meta = json.loads((folder / "meta.json").read_text())
    return Ratings(
        users=np.load(folder / "users.npy"),
        items=np.load(folder / "items.npy"),
        values=np.load(folder / "values.npy"),
        user_ids=np.arange(1, meta["n_users"] + 1),
        movies=_movies(meta["n_items"]),
        name=meta["name"],
    )


def step_generate(folder: Path, sizes: dict[str, int]) -> dict[str, Any]:
    from engine.data.synthetic_scale import synthetic_scale, write_movielens_folder

    start = time.perf_counter()
    ratings = synthetic_scale(**sizes, seed=0)
    seconds = time.perf_counter() - start
    peak = _peak_mib()
    np.save(folder / "users.npy", ratings.users)
    np.save(folder / "items.npy", ratings.items)
    np.save(folder / "values.npy", ratings.values)
    meta = {"n_users": ratings.n_users, "n_items": ratings.n_items, "name": ratings.name}
    (folder / "meta.json").write_text(json.dumps(meta))
    start = time.perf_counter()
    write_movielens_folder(ratings, folder / "csv")
    return {
        "seconds": seconds,
        "peak_mib": peak,
        "n_ratings": len(ratings),
        "csv_write_s": time.perf_counter() - start,
        "csv_mib": (folder / "csv" / "ratings.csv").stat().st_size / 2**20,
    }


def step_load(folder: Path) -> dict[str, Any]:
    from engine.data.movielens import load_folder

    start = time.perf_counter()
    ratings = load_folder(folder / "csv")
    return {
        "seconds": time.perf_counter() - start,
        "peak_mib": _peak_mib(),
        "n_ratings": len(ratings),
    }


def als_traffic(nnz: int, rows: int, cols: int, k: int, cg_steps: int) -> tuple[float, float]:
    """(bytes, flops) one ALS iteration must move/do at minimum, both halves.

    Per half: (1 + cg_steps) matvecs, each an SDDMM (read index 8 B, gather a k-row 4k B, write
    4 B) and an SpMM (index 8 B, weight 4 B, gather 4k B), plus ~12 dense [n, k] vector passes;
    2k flops per stored cell for each of the two kernels."""
    per_matvec = nnz * (8 + 4 * k + 4 + 8 + 4 + 4 * k)
    total_bytes, total_flops = 0.0, 0.0
    for n in (rows, cols):
        total_bytes += (1 + cg_steps) * (per_matvec + 12 * n * k * 4)
        total_flops += (1 + cg_steps) * (4.0 * k * nnz + 2.0 * n * k * k)
    return total_bytes, total_flops


def peak_bandwidth(device: torch.device) -> float | None:
    """The card's DRAM bandwidth in bytes/s: from its properties, else a table by name."""
    props = torch.cuda.get_device_properties(device)
    clock = getattr(props, "memory_clock_rate", None)  # kHz
    width = getattr(props, "memory_bus_width", None)  # bits
    if clock and width:
        return 2.0 * clock * 1e3 * width / 8.0
    name = props.name
    for key, value in KNOWN_BANDWIDTH.items():
        if key in name:
            return value
    return None


def _interactive(model: Any, ratings: Ratings) -> dict[str, float]:
    """Milliseconds (median of 5) of the paths a room uses, on the fitted model."""
    from engine.group import Member, recommend

    rng = np.random.default_rng(0)
    people = rng.choice(ratings.n_users, size=6, replace=False)
    members = []
    for n, u in enumerate(people):
        items, values = ratings.user_items(int(u))
        pick = rng.permutation(len(items))[:10]
        members.append(Member(f"m{n}", items[pick].astype(np.int64), values[pick]))

    def median_ms(fn: Any, repeat: int = 5) -> float:
        fn()  # warm caches (the group engine builds a per-catalogue cache once)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            _sync(model.device)
            times.append((time.perf_counter() - start) * 1e3)
        return float(np.median(times))

    return {
        "fold_in_ms": median_ms(lambda: model.fold_in(members[0].items, members[0].values)),
        "score_ms": median_ms(lambda: model.score(0)),
        "similar_ms": median_ms(lambda: model.similar_items(0, 10)),
        "group6_ms": median_ms(lambda: recommend(model, ratings, members, k=10)),
    }


def step_als(folder: Path, device: str, iterations: int) -> dict[str, Any]:
    from engine.models import create

    ratings = _load_arrays(folder)
    dev = torch.device(device)
    model = create("als", device=dev, factors=FACTORS, epochs=iterations)
    start = time.perf_counter()
    model.fit(ratings)
    _sync(dev)
    fit_s = time.perf_counter() - start
    per_iter = model.info["seconds_per_iteration"]
    out: dict[str, Any] = {
        "seconds_per_iteration": float(np.median(per_iter)),
        "iterations": per_iter,
        "fit_s": fit_s,
        "peak_mib": _peak_mib(),
        "nnz": len(ratings),
    }
    if dev.type == "cuda":
        out["gpu_peak_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
        nbytes, flops = als_traffic(
            len(ratings), ratings.n_users, ratings.n_items, FACTORS, model.config.cg_steps
        )
        out["bytes_per_s"] = nbytes / out["seconds_per_iteration"]
        out["flop_per_s"] = flops / out["seconds_per_iteration"]
        out["peak_bytes_per_s"] = peak_bandwidth(dev)
    else:
        out.update(_interactive(model, ratings))
    return out


def step_implicit(folder: Path, iterations: int) -> dict[str, Any]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    ratings = _load_arrays(folder)
    matrix = ratings.csr()
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(*_: Any) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    model = AlternatingLeastSquares(
        factors=FACTORS,
        iterations=iterations,
        use_cg=True,
        num_threads=torch.get_num_threads(),
        random_state=0,
        calculate_training_loss=False,
    )
    with threadpool_limits(1, "blas"):  # implicit's own advice: its threads, single-threaded BLAS
        start = time.perf_counter()
        last[0] = start
        model.fit(matrix, show_progress=False, callback=tick)
        fit_s = time.perf_counter() - start
    per_iter = times or [fit_s / iterations]
    return {
        "seconds_per_iteration": float(np.median(per_iter)),
        "iterations": per_iter,
        "fit_s": fit_s,
        "peak_mib": _peak_mib(),
    }


def step_mf(folder: Path, device: str) -> dict[str, Any]:
    from engine.models import create

    ratings = _load_arrays(folder)
    dev = torch.device(device)
    model = create("mf", device=dev, factors=FACTORS, epochs=1, batch_size=MF_BATCH)
    start = time.perf_counter()
    model.fit(ratings)
    _sync(dev)
    seconds = time.perf_counter() - start
    out = {
        "seconds_per_epoch": seconds,
        "ratings_per_s": len(ratings) / seconds,
        "peak_mib": _peak_mib(),
    }
    if dev.type == "cuda":
        out["gpu_peak_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


# ---------------------------------------------------------------------- parent side
def _child(args: list[str], threads: int) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, "-m", "engine.evaluate.protocol_s", "--threads", str(threads), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"step {' '.join(args[:2])} failed: {' | '.join(tail)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(
    measure: str, device: str, value: float, unit: str, peak: float | None, note: str = ""
) -> dict[str, Any]:
    return {
        "measure": measure,
        "device": device,
        "value": value,
        "unit": unit,
        "peak RSS MiB": peak,
        "note": note,
    }


def run(ctx: BenchContext) -> ProtocolResult:
    from engine.data.synthetic_scale import quick_sizes
    from engine.device import describe

    start = time.perf_counter()
    sizes = quick_sizes(0.01) if ctx.quick else {}
    iterations = 2 if ctx.quick else 3
    threads = torch.get_num_threads()
    wanted = set(ctx.models) if ctx.models is not None else {"als", "mf"}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    cpu = f"cpu ({threads} threads)"
    progress = ctx.progress_factory("S")

    def attempt(label: str, fn: Any) -> dict[str, Any] | None:
        try:
            return fn()
        except Exception as err:  # one failing step must not hide the others
            notes.append(f"{label}: not measured ({type(err).__name__}: {err})")
            return None

    with tempfile.TemporaryDirectory(prefix="protocol-s-") as tmp:
        size_args = ["--sizes", json.dumps(sizes)]
        gen = _child(["--step", "generate", "--data", tmp, *size_args], threads)
        progress(1, 6, "generated")
        rows.append(
            _row(
                "generate synthetic data",
                cpu,
                gen["seconds"],
                "s",
                gen["peak_mib"],
                f"{gen['n_ratings']:,} ratings",
            )
        )
        notes.append(
            f"ratings.csv written in {gen['csv_write_s']:.1f} s ({gen['csv_mib']:.0f} MiB)"
        )

        load = attempt("csv load", lambda: _child(["--step", "load", "--data", tmp], threads))
        if load:
            rows.append(
                _row("load ratings.csv into Ratings", cpu, load["seconds"], "s", load["peak_mib"])
            )
        progress(2, 6, "loaded")

        ours = implicit = None
        if "als" in wanted:
            ours = attempt(
                "ALS (ours)",
                lambda: _child(
                    [
                        "--step",
                        "als",
                        "--data",
                        tmp,
                        "--device",
                        "cpu",
                        "--iterations",
                        str(iterations),
                    ],
                    threads,
                ),
            )
            if ctx.peers:
                implicit = attempt(
                    "implicit ALS",
                    lambda: _child(
                        ["--step", "implicit", "--data", tmp, "--iterations", str(iterations)],
                        threads,
                    ),
                )
            if ours:
                ratio = ""
                if implicit:
                    ratio = (
                        f"{ours['seconds_per_iteration'] / implicit['seconds_per_iteration']:.2f}× "
                        f"implicit's time, {ours['peak_mib'] / implicit['peak_mib']:.2f}× its memory"
                    )
                rows.append(
                    _row(
                        f"ALS {FACTORS} factors, s/iteration (ours)",
                        cpu,
                        ours["seconds_per_iteration"],
                        "s",
                        ours["peak_mib"],
                        ratio,
                    )
                )
                for key, label in [
                    ("fold_in_ms", "fold-in (10 ratings)"),
                    ("score_ms", "score all films, one person"),
                    ("similar_ms", "similar films"),
                    ("group6_ms", "6-member group recommendation"),
                ]:
                    rows.append(_row(label, cpu, ours[key], "ms", None, "on the fitted ALS model"))
            if implicit:
                rows.append(
                    _row(
                        f"ALS {FACTORS} factors, s/iteration (implicit 0.7 CPU, CG)",
                        cpu,
                        implicit["seconds_per_iteration"],
                        "s",
                        implicit["peak_mib"],
                    )
                )
        progress(3, 6, "ALS")

        if "mf" in wanted:
            mf = attempt(
                "MF (CPU)",
                lambda: _child(["--step", "mf", "--data", tmp, "--device", "cpu"], threads),
            )
            if mf:
                rows.append(
                    _row(
                        f"MF {FACTORS} factors, s/epoch",
                        cpu,
                        mf["seconds_per_epoch"],
                        "s",
                        mf["peak_mib"],
                        f"{mf['ratings_per_s']:,.0f} ratings/s, batch {MF_BATCH:,}",
                    )
                )
        progress(4, 6, "MF")

        if torch.cuda.is_available():
            gpu = describe(torch.device("cuda"))
            if "als" in wanted:
                g = attempt(
                    "ALS (GPU)",
                    lambda: _child(
                        [
                            "--step",
                            "als",
                            "--data",
                            tmp,
                            "--device",
                            "cuda",
                            "--iterations",
                            str(iterations + 2),
                        ],
                        threads,
                    ),
                )
                if g:
                    note = f"GPU peak {g['gpu_peak_mib']:.0f} MiB; {g['bytes_per_s'] / 1e9:.0f} GB/s, {g['flop_per_s'] / 1e12:.2f} TFLOP/s"
                    if g.get("peak_bytes_per_s"):
                        note += f" = {100 * g['bytes_per_s'] / g['peak_bytes_per_s']:.0f} % of peak bandwidth"
                    rows.append(
                        _row(
                            f"ALS {FACTORS} factors, s/iteration (ours)",
                            gpu,
                            g["seconds_per_iteration"],
                            "s",
                            g["peak_mib"],
                            note,
                        )
                    )
            if "mf" in wanted:
                g = attempt(
                    "MF (GPU)",
                    lambda: _child(["--step", "mf", "--data", tmp, "--device", "cuda"], threads),
                )
                if g:
                    rows.append(
                        _row(
                            f"MF {FACTORS} factors, s/epoch",
                            gpu,
                            g["seconds_per_epoch"],
                            "s",
                            g["peak_mib"],
                            f"{g['ratings_per_s']:,.0f} ratings/s, GPU peak {g['gpu_peak_mib']:.0f} MiB",
                        )
                    )
        else:
            notes.append("no CUDA device here: GPU rows not measured")
        progress(6, 6, "done")

    size = "1/100 of " if ctx.quick else ""
    notes.insert(
        0,
        f"data: {size}MovieLens-25M size, seed 0, {threads} CPU threads; each step in its own "
        "process, peak RSS = that process's ru_maxrss (includes loading the arrays)",
    )
    notes.append(
        "reproduce: python -m engine bench --protocols S" + (" --quick" if ctx.quick else "")
    )
    return ProtocolResult(
        name="S",
        title=TITLE,
        table=pd.DataFrame(rows),
        notes=notes,
        seconds=time.perf_counter() - start,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one protocol S step, in its own process")
    parser.add_argument(
        "--step", required=True, choices=["generate", "load", "als", "implicit", "mf"]
    )
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--sizes", default="{}")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("MOVIENIGHT_DEVICE", args.device)
    if args.step == "generate":
        result = step_generate(args.data, json.loads(args.sizes))
    elif args.step == "load":
        result = step_load(args.data)
    elif args.step == "als":
        result = step_als(args.data, args.device, args.iterations)
    elif args.step == "implicit":
        result = step_implicit(args.data, args.iterations)
    else:
        result = step_mf(args.data, args.device)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
