"""Protocol S's measured steps, each run in a fresh interpreter by ``protocol_s``.

``python -m engine.evaluate.scale_steps --step STEP --data DIR`` prints one JSON object (its last
line): a step's own peak memory is then the process's ``ru_maxrss``, untouched by other steps.

- ``generate``: ``synthetic_scale`` at MovieLens-25M size, saved as arrays, plus an ml-25m-style
  csv folder for ``load`` (the csv write is not timed);
- ``load``: ``engine.data.movielens.load_folder`` on the 25M-row ratings.csv;
- ``als``: our implicit ALS on any device, seconds per epoch, the memory traffic it achieved
  (``als_traffic``) against the card's peak, and the interactive paths a room uses on the fitted
  model (fold-in, one person's scores, similar films, a 6-member group recommendation);
- ``implicit``: ``implicit.cpu.als.AlternatingLeastSquares`` on the same matrix (the peer);
- ``mf``: explicit MF, mini-batch Adam, seconds per epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.data.movielens import load_folder
from engine.data.ratings import Ratings
from engine.data.synthetic_scale import scale_movies, synthetic_scale, write_movielens_folder
from engine.group import Member, recommend
from engine.models import create
from engine.models.als import ALSConfig, ImplicitALS
from engine.models.base import Recommender

FACTORS = 64
MF_BATCH = 1 << 20
STEPS = ("generate", "load", "als", "implicit", "mf")

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


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _device_memory(device: torch.device) -> dict[str, float]:
    """The accelerator's own peak memory, where the device has one apart from the process's."""
    if device.type == "cuda":
        return {"gpu_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20}
    return {}


def _timed_fit(model: Recommender, ratings: Ratings) -> float:
    start = time.perf_counter()
    model.fit(ratings)
    _sync(model.device)
    return time.perf_counter() - start


def _load_arrays(folder: Path) -> Ratings:
    meta = json.loads((folder / "meta.json").read_text())
    return Ratings(
        users=np.load(folder / "users.npy"),
        items=np.load(folder / "items.npy"),
        values=np.load(folder / "values.npy"),
        user_ids=np.arange(1, meta["n_users"] + 1),
        movies=scale_movies(meta["n_items"]),
        name=meta["name"],
    )


def step_generate(folder: Path, sizes: dict[str, int]) -> dict[str, Any]:
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
    start = time.perf_counter()
    ratings = load_folder(folder / "csv")
    return {
        "seconds": time.perf_counter() - start,
        "peak_mib": _peak_mib(),
        "n_ratings": len(ratings),
    }


def als_traffic(nnz: int, rows: int, cols: int, k: int, cg_steps: int) -> tuple[float, float]:
    """(bytes, flops) one ALS epoch must move/do at minimum, both halves.

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
    """The device's DRAM bandwidth in bytes/s: a card's from its properties, else a table by
    name; None for a CPU (no figure we could trust)."""
    if device.type != "cuda":
        return None
    props = torch.cuda.get_device_properties(device)
    clock, width = props.memory_clock_rate, props.memory_bus_width  # kHz, bits; 0 if unknown
    if clock and width:
        return 2.0 * clock * 1e3 * width / 8.0
    for key, value in KNOWN_BANDWIDTH.items():
        if key in props.name:
            return value
    return None


def _interactive(model: Recommender, ratings: Ratings) -> dict[str, float]:
    """Milliseconds (median of 5) of the paths a room uses, on the fitted model."""
    rng = np.random.default_rng(0)
    people = rng.choice(ratings.n_users, size=6, replace=False)
    members = []
    for n, u in enumerate(people):
        items, values = ratings.user_items(int(u))
        pick = rng.permutation(len(items))[:10]
        members.append(Member(f"m{n}", items[pick].astype(np.int64), values[pick]))

    def median_ms(fn: Callable[[], object], repeat: int = 5) -> float:
        fn()  # warm caches (the catalogue's statistics are built once)
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


def step_als(folder: Path, device: str, epochs: int) -> dict[str, Any]:
    """Our ALS on ``device``: the same measurements whatever the device."""
    ratings = _load_arrays(folder)
    config = ALSConfig(factors=FACTORS, epochs=epochs)
    model = ImplicitALS(config, device=torch.device(device))
    fit_s = _timed_fit(model, ratings)
    per_epoch = model.info["seconds_per_iteration"]
    seconds = float(np.median(per_epoch))
    nbytes, flops = als_traffic(
        len(ratings), ratings.n_users, ratings.n_items, FACTORS, config.cg_steps
    )
    return {
        "seconds_per_iteration": seconds,
        "iterations": per_epoch,
        "fit_s": fit_s,
        "peak_mib": _peak_mib(),
        "nnz": len(ratings),
        **_device_memory(model.device),
        "bytes_per_s": nbytes / seconds,
        "flop_per_s": flops / seconds,
        "peak_bytes_per_s": peak_bandwidth(model.device),
        **_interactive(model, ratings),
    }


def step_implicit(folder: Path, epochs: int) -> dict[str, Any]:
    from implicit.cpu.als import AlternatingLeastSquares  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]
    from threadpoolctl import threadpool_limits  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

    ratings = _load_arrays(folder)
    matrix = ratings.csr()
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(*_: object) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    model = AlternatingLeastSquares(
        factors=FACTORS,
        iterations=epochs,
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
    per_epoch = times or [fit_s / epochs]
    return {
        "seconds_per_iteration": float(np.median(per_epoch)),
        "iterations": per_epoch,
        "fit_s": fit_s,
        "peak_mib": _peak_mib(),
    }


def step_mf(folder: Path, device: str) -> dict[str, Any]:
    ratings = _load_arrays(folder)
    model = create(
        "mf", device=torch.device(device), factors=FACTORS, epochs=1, batch_size=MF_BATCH
    )
    seconds = _timed_fit(model, ratings)
    return {
        "seconds_per_epoch": seconds,
        "ratings_per_s": len(ratings) / seconds,
        "peak_mib": _peak_mib(),
        **_device_memory(model.device),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one protocol S step, in its own process")
    parser.add_argument("--step", required=True, choices=STEPS)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sizes", default="{}")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("MOVIENIGHT_DEVICE", args.device)
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "generate": lambda: step_generate(args.data, json.loads(args.sizes)),
        "load": lambda: step_load(args.data),
        "als": lambda: step_als(args.data, args.device, args.epochs),
        "implicit": lambda: step_implicit(args.data, args.epochs),
        "mf": lambda: step_mf(args.data, args.device),
    }
    print(json.dumps(steps[args.step]()))


if __name__ == "__main__":
    main()
