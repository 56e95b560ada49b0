"""Protocol Elicit per tap and protocol G after taps, run together (the same fitted models per
split) and written as tables, a plot and verdicts on the issue's goals.

Two ways in: ``protocol_elicit.run`` adds these tables to protocol Elicit's section
(``python -m engine bench --protocols Elicit --models hybrid``), and this module's command line
runs them alone on the embedded sample or on the MovieLens-like synthetic generator::

    python -m engine.evaluate.protocol_elicit_report --data synthetic --output /tmp/elicit-synth.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine import elicit, group
from engine.data.movielens import load_named
from engine.data.ratings import Ratings
from engine.evaluate import protocol_elicit_taps as pt
from engine.evaluate import protocol_g_taps as gt
from engine.evaluate.elicit_setup import fit_draws
from engine.evaluate.group_metrics import bootstrap_interval
from engine.evaluate.report import markdown_table
from engine.models import create, model_class
from engine.models.base import Recommender
from engine.models.config import parse_params

MEASURED = (  # the per-tap rows of a full run: the default, the new ones, and the anchors
    "popularity",
    "entropy",
    "igcn",
    "adaptive",
    "watch-uncertainty",
    "watch-entropy",
)
# scored with every fold-in (``pt.FOLD_INS``): the two anchors and the default
COMPARED = tuple(dict.fromkeys(("popularity", "adaptive", elicit.DEFAULT_ELICITATION)))
TAP_PLOT = Path("docs/elicitation-taps.png")


@dataclass
class TapResults:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    draws: list[pt.DrawResult] = field(default_factory=list)


def measure(
    ratings: Ratings,
    create: Callable[[], Recommender],
    fitted: dict[int, Recommender] | None = None,
    quick: bool = False,
    label: str = "",
    groups: bool = True,
    seeds: Sequence[int] | None = None,
    strategies: Sequence[str] = MEASURED,
    group_count: int | None = None,
) -> TapResults:
    """Per-tap draws, the "haven't seen it" comparison, goal verdicts and G after taps."""
    out = TapResults()
    seeds = seeds or (pt.DRAWS[:1] if quick else pt.DRAWS)
    taps = pt.QUICK_TAPS if quick else pt.TAPS
    models: dict[int, Recommender] = {}
    start = time.perf_counter()
    for seed, split, model in fit_draws(create, ratings, seeds, fitted):
        _echo(f"draw {seed}: fitted, {time.perf_counter() - start:.0f} s")
        models[seed] = model
        out.draws.append(
            pt.run_draw(
                model,
                split,
                seed,
                strategies,
                taps,
                COMPARED,
                limit=pt.QUICK_MEMBERS if quick else None,
                echo=_echo,
            )
        )
        _echo(f"draw {seed}: measured, {time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    per_tap = pt.per_tap_table(out.draws)
    out.tables[f"Elicit per tap{label}: every member of {len(seeds)} split(s)"] = per_tap
    out.tables[f"Does the card fold-in help, and does 'haven't seen it'?{label}"] = (
        pt.fold_in_table(out.draws)
    )
    asking = {n: sum(d.seconds.get(n, 0.0) for d in out.draws) for n in strategies}
    members = sum(d.members for d in out.draws)
    out.notes.append(
        f"Per tap{label}: {members} members over split seeds {', '.join(map(str, seeds))}; "
        f"{seconds:.0f} s with the fits (seconds asking, all members: "
        + ", ".join(f"{n} {s:.0f}" for n, s in asking.items())
        + f"; load average {os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} cores)."
    )
    out.notes += goal_notes(per_tap, out.draws, label)
    if groups:
        g_seeds = list(seeds)
        kwargs = {"taps": (3, 10), "count": 3, "sizes": (2, 4)} if quick else {}
        if group_count is not None:
            kwargs["count"] = group_count
        table, notes = gt.run_taps(ratings, create, g_seeds, models, _echo, **kwargs)
        out.tables[f"G after taps{label}: the room's nDCG@20 when every member answers T cards"] = (
            table
        )
        out.notes.append(f"G after taps{label}: " + "; ".join(notes))
        out.notes += group_goal_notes(table, label)
    return out


def _echo(text: str) -> None:
    """Progress of a long run, on stderr (the tables go to the report)."""
    print(text, file=sys.stderr, flush=True)


def goal_notes(per_tap: pd.DataFrame, draws: Sequence[pt.DrawResult], label: str = "") -> list[str]:
    """The issue's per-tap goals for the default strategy, met or not, with the figures."""
    default = elicit.DEFAULT_ELICITATION
    rows = per_tap[per_tap["elicitation"] == default].set_index("taps")
    if rows.empty:
        return []
    notes = []
    for t, goal in ((5, 1.15), (10, 1.25)):
        if t in rows.index:
            ratio = float(np.asarray(rows.loc[t, "NDCG ÷ baseline (median of draws)"]))
            verdict = "met" if ratio >= goal else "not met"
            ci = rows.loc[t, "NDCG@10 Δ [95% CI]"]
            notes.append(
                f"Goal{label}: NDCG@10 after {t} taps ≥ {goal}× the baseline: {verdict} "
                f"({default}: {ratio:.2f}×, Δ {ci})."
            )
    worse = []
    for t in rows.index:
        mine = np.concatenate([d.figures[(default, int(t))]["ndcg"] for d in draws])
        base = np.concatenate([d.figures[(pt.BASELINE, int(t))]["ndcg"] for d in draws])
        if pt.paired(mine, base)[2] < 0:
            worse.append(int(t))
    notes.append(
        f"Goal{label}: no tap count where {default} is worse than the baseline (interval below 0): "
        + ("not met at " + ", ".join(map(str, worse)) + " taps." if worse else "met.")
    )
    rate = float(np.mean(rows["ratings per tap"].to_numpy(dtype=np.float64)))
    seen = float(np.mean(rows["stars seen per tap"].to_numpy(dtype=np.float64)))
    notes.append(
        f"Goal{label}: ratings per tap ≥ 0.5 for {default}: {'met' if rate >= 0.5 else 'not met'} "
        f"({rate:.2f} over the tap counts, withheld stars included; stars the model saw per "
        f"tap {seen:.2f})."
    )
    return notes


def group_goal_notes(table: pd.DataFrame, label: str = "") -> list[str]:
    """Group nDCG@20 after 10 taps within 10 % of the full profiles (default group strategy)."""
    mask = (table["strategy"] == group.DEFAULT_STRATEGY) & (table["condition"] == "10 taps")
    shares = np.asarray(table.loc[mask, "nDCG@20 ÷ full"], dtype=np.float64)
    if len(shares) == 0:
        return []
    share = float(shares[0])
    return [
        f"Goal{label}: group nDCG@20 after 10 taps each within 10 % of full profiles: "
        f"{'met' if share >= 0.9 else 'not met'} ({share:.2f} of the full-profile figure, "
        f"{group.DEFAULT_STRATEGY})."
    ]


def curve_with_intervals(draws: Sequence[pt.DrawResult], name: str) -> pd.DataFrame:
    """NDCG@10 per tap count for one row name, with a bootstrap 95 % interval of the mean."""
    rows = []
    for t in sorted({k[1] for k in draws[0].figures}):
        values = np.concatenate([d.figures[(name, t)]["ndcg"] for d in draws])
        values = values[np.isfinite(values)]
        lo, hi = bootstrap_interval(values)
        rows.append({"taps": t, "NDCG@10": float(values.mean()), "lo": lo, "hi": hi})
    return pd.DataFrame.from_records(rows)


def curves(draws: Sequence[pt.DrawResult], dataset: str) -> pd.DataFrame:
    """Every measured row's NDCG@10 curve with intervals, labelled with ``dataset``."""
    names = [
        n
        for n in dict.fromkeys(k[0] for k in draws[0].figures)
        if not any(way and n.endswith(way) for way in pt.FOLD_INS)
    ]
    frames = [
        curve_with_intervals(draws, name).assign(dataset=dataset, elicitation=name)
        for name in names
    ]
    return pd.concat(frames, ignore_index=True)


def write_tap_plot(curves: pd.DataFrame, path: Path = TAP_PLOT) -> Path | None:
    """NDCG@10 against taps with 95 % intervals, one panel per dataset (PNG); None without
    matplotlib (a bench requirement, not an app one)."""
    try:
        import matplotlib  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]
    except ImportError:
        return None
    datasets = list(dict.fromkeys(curves["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for name, c in curves[curves["dataset"] == dataset].groupby("elicitation", sort=False):
            style = "--" if name == pt.BASELINE else "-"
            ax.plot(c["taps"], c["NDCG@10"], style, marker="o", label=name)
            ax.fill_between(c["taps"], c["lo"], c["hi"], alpha=0.12)
        ax.set_xscale("log")
        ax.set_xticks(list(pt.TAPS), [str(t) for t in pt.TAPS])
        ax.set_xlabel("taps (cards shown)")
        ax.set_ylabel("NDCG@10")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Protocol Elicit per tap and G after taps")
    parser.add_argument("--data", default="embedded", help="embedded, synthetic or a folder")
    parser.add_argument("--output", required=True, help="markdown file to write")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-groups", action="store_true", help="per tap only")
    parser.add_argument("--draws", help="split seeds, e.g. 1,2 (default 1,2,3)")
    parser.add_argument("--strategies", help="comma-separated (default: the measured set)")
    parser.add_argument("--groups-per-cell", type=int, help="G after taps: groups per cell")
    parser.add_argument(
        "--set",
        nargs="*",
        metavar="KEY=VALUE",
        help="hybrid hyperparameters, e.g. the calibration a fit on the same split found",
    )
    args = parser.parse_args(argv)
    ratings = load_named(args.data)
    params = model_class("hybrid").config_class.quick_overrides() if args.quick else {}
    params.update(parse_params(args.set))
    result = measure(
        ratings,
        lambda: create("hybrid", **params),
        quick=args.quick,
        groups=not args.no_groups,
        seeds=[int(x) for x in args.draws.split(",")] if args.draws else None,
        strategies=args.strategies.split(",") if args.strategies else MEASURED,
        group_count=args.groups_per_cell,
    )
    lines = [f"Dataset: {ratings.name} ({len(ratings):,} ratings), model hybrid", ""]
    for caption, table in result.tables.items():
        lines += [f"**{caption}**", "", markdown_table(table), ""]
    lines += [f"- {n}" for n in result.notes]
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    curves(result.draws, ratings.name).to_csv(Path(args.output).with_suffix(".curves.csv"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
