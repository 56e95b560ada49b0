"""Elicitation strategies compared on the same test films (docs/PROTOCOLS.md, protocol F's change).

Scoring each strategy on whatever ratings it did not reveal compares strategies on different
test sets (asking popular films removes popular hits from the test). Instead, per new member of
protocol F's split (``split_f``, seed 1) and before any elicitation:

- a fixed, seeded **test half** of their ratings (``default_rng(TEST_SEED)``, one draw per
  member in order) is set aside; the other half is what they can **answer**;
- every strategy asks in batches of 5 (at most 200 films); a film in the answerable half gets
  its rating, any other film (the test half included) "haven't seen";
  ``random`` reveals draw from the answerable half in a seeded random order;
- after n ∈ ``ANSWERS`` answers the member is folded in from their first n answers and scored on
  the test half only: NDCG@10 among all films outside the answerable half (relevant = test
  films rated ≥ 4; the same candidates for every strategy), and RMSE of the predicted stars on
  the test films (explicit models' scores, the hybrid's expected stars);
- the **non-personalised baseline** ranks by popularity (training rating counts) and predicts
  each film's damped mean plus the member's damped mean offset from it over their first n random
  answers (a user-item baseline).

Anchor: Kluver & Konstan (RecSys 2014): the best CF algorithms need 2–3 ratings to beat the
non-personalised baseline. The plot of the curves is written by ``write_plot`` (matplotlib,
``requirements-bench.txt``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import torch

from engine import elicit
from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings
from engine.data.splits import FoldInSplit, split_f
from engine.evaluate.elicit_setup import (
    ASKING,
    BASELINE,
    TEST_SEED,
    Member,
    candidates,
    members_of,
)
from engine.evaluate.group_metrics import bootstrap_interval
from engine.evaluate.protocol_elicit_report import curves, measure, write_tap_plot
from engine.evaluate.report import BenchContext, ProtocolResult
from engine.metrics import topn_metrics
from engine.models.base import Recommender

TITLE = "Elicitation on the same test films (NDCG@10 and RMSE against the number of answers)"
ANSWERS = (1, 2, 3, 5, 10, 20)
STRATEGIES = ("random", *ASKING)
SPLIT_SEED = 1  # protocol F's own split
RANDOM_SEED = 7
ELICIT_MODELS = ("hybrid", "mf")  # the app's default, and the plain explicit model
QUICK_MEMBERS = 12
QUICK_ANSWERS = (1, 3, 10)
ASK_BATCH, MAX_ASKS = 5, 200
OFFSET_DAMPING = 3.0  # pseudo-answers at offset 0 in the baseline's member offset
PLOT = Path("docs/elicitation.png")


def answers_of(
    model: Recommender, train: Ratings, member: Member, strategy: str, limit: int
) -> tuple[list[tuple[int, float]], int]:
    """The member's answers in the order given (at most ``limit``) and how many films were
    asked. ``random`` draws from the answerable half; the others ask ``engine.elicit``."""
    if strategy == "random":
        items = sorted(member.answerable)
        order = np.random.default_rng([RANDOM_SEED, member.user]).permutation(len(items))
        chosen = [items[i] for i in order[:limit]]
        return [(i, member.answerable[i]) for i in chosen], len(chosen)
    ask = elicit.elicitor(strategy)
    rated: dict[int, float] = {}
    unseen: set[int] = set()
    answers: list[tuple[int, float]] = []
    asked = 0
    while len(answers) < limit and asked < MAX_ASKS:
        films = ask(model, train, dict(rated), set(unseen), min(ASK_BATCH, MAX_ASKS - asked))
        if not films:
            break
        for item in films:
            asked += 1
            if item in member.answerable:
                rated[item] = member.answerable[item]
                answers.append((item, rated[item]))
                if len(answers) >= limit:
                    break
            else:
                unseen.add(item)
    return answers, asked


def _stars(model: Recommender, state, scores: torch.Tensor) -> np.ndarray | None:
    if model.kind == "explicit":
        return scores.detach().cpu().numpy()
    stars = model.expected_stars(state)
    return None if stars is None else stars.detach().cpu().numpy()


def curve(
    model: Recommender,
    split: FoldInSplit,
    members: list[Member],
    strategies: tuple[str, ...] = STRATEGIES,
    answers: tuple[int, ...] = ANSWERS,
) -> pd.DataFrame:
    """One row per (strategy, number of answers): NDCG@10 and RMSE on the test halves, the
    answers actually obtained (a member may run out), films asked, and per-member NDCG values
    (``ndcg_members``) for paired intervals."""
    train = split.train
    stats = train.stats
    prior = np.asarray(stats.prior, dtype=np.float64)
    exclude, relevant = candidates(members)
    popular = torch.as_tensor(np.asarray(stats.counts, dtype=np.float32))
    rows = []
    sequences: dict[str, list[tuple[list[tuple[int, float]], int]]] = {}
    for name in strategies:
        start = time.perf_counter()
        sequences[name] = [answers_of(model, train, m, name, max(answers)) for m in members]
        seconds = time.perf_counter() - start
        for n in answers:
            scores, errors, got = [], [], []
            for m, (seq, _) in zip(members, sequences[name], strict=True):
                first = seq[:n]
                got.append(len(first))
                if not first:  # nothing answered yet: nothing learned, the baseline's guess
                    scores.append(popular)
                    errors.append(np.asarray(prior[m.test_items]) - m.test_stars)
                    continue
                items = np.array([i for i, _ in first], np.int64)
                values = np.array([v for _, v in first], np.float32)
                state = model.fold_in(items, values)
                row = torch.as_tensor(model.score(state)).float().cpu()
                scores.append(row)
                stars = _stars(model, state, row)
                if stars is not None:
                    errors.append(
                        np.clip(stars[m.test_items], MIN_RATING, MAX_RATING) - m.test_stars
                    )
            out = topn_metrics(torch.stack(scores), exclude, relevant, k=10)
            rows.append(
                _row(name, n, out["ndcg"], errors, got, [a for _, a in sequences[name]], seconds)
            )
    # the non-personalised baseline: popularity ranking; damped mean + the member's offset
    out = topn_metrics(popular.expand(len(members), -1).clone(), exclude, relevant, k=10)
    randoms = sequences.get("random") or [
        answers_of(model, train, m, "random", max(answers)) for m in members
    ]
    for n in answers:
        errors, got = [], []
        for m, (seq, _) in zip(members, randoms, strict=True):
            first = seq[:n]
            got.append(len(first))
            errors.append(baseline_stars(prior, first, m.test_items) - m.test_stars)
        rows.append(_row(BASELINE, n, out["ndcg"], errors, got, [0] * len(members), 0.0))
    return pd.DataFrame.from_records(rows)


def baseline_stars(
    prior: np.ndarray, answers: list[tuple[int, float]], items: np.ndarray
) -> np.ndarray:
    """The non-personalised guess for ``items``: each film's damped mean plus the member's
    offset from it over their answers, damped by ``OFFSET_DAMPING`` pseudo-answers at 0."""
    offset = sum(v - prior[i] for i, v in answers) / (len(answers) + OFFSET_DAMPING)
    return np.clip(prior[items] + offset, MIN_RATING, MAX_RATING)


def _row(
    name: str,
    n: int,
    ndcg: np.ndarray,
    errors: list[np.ndarray],
    got: list[int],
    asked: list[int],
    seconds: float,
) -> dict[str, object]:
    err = np.concatenate(errors) if errors else np.empty(0)
    return {
        "elicitation": name,
        "answers": n,
        "NDCG@10": float(np.nanmean(ndcg)),
        "RMSE": float(np.sqrt(np.mean(err**2))) if len(err) else float("nan"),
        "answers obtained": float(np.mean(got)),
        "films asked (for 20)": float(np.mean(asked)),
        "elicit s": seconds,
        "ndcg_members": np.asarray(ndcg, dtype=np.float64),
    }


def beats_baseline(table: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """Per number of answers: ``strategy``'s NDCG@10 minus the baseline's, paired by member,
    with a bootstrap 95 % interval (``win`` only when it excludes 0)."""
    rows = []
    for n in sorted(table["answers"].unique()):
        at = table[table["answers"] == n].set_index("elicitation")
        if strategy not in at.index or BASELINE not in at.index:
            continue
        mine = np.asarray(at.loc[strategy, "ndcg_members"], dtype=np.float64)
        base = np.asarray(at.loc[BASELINE, "ndcg_members"], dtype=np.float64)
        diff = (mine - base)[np.isfinite(mine) & np.isfinite(base)]
        lo, hi = bootstrap_interval(diff)
        rows.append(
            {
                "answers": int(n),
                "NDCG@10 Δ vs baseline": float(diff.mean()),
                "95% CI": f"[{lo:+.4f}, {hi:+.4f}]",
                "verdict": "win" if lo > 0 else ("loss" if hi < 0 else "—"),
            }
        )
    return pd.DataFrame.from_records(rows)


def write_plot(tables: dict[str, pd.DataFrame], path: Path = PLOT) -> Path | None:
    """NDCG@10 and RMSE against the number of answers, one panel pair per model (PNG).
    None when matplotlib is not installed (it is a bench requirement, not an app one)."""
    try:
        import matplotlib  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt  # noqa: PLC0415  optional: requirements-bench.txt only  # pyright: ignore[reportMissingImports]
    except ImportError:
        return None
    fig, axes = plt.subplots(len(tables), 2, figsize=(10, 3.6 * len(tables)), squeeze=False)
    for row, (model, table) in zip(axes, tables.items(), strict=True):
        for ax, metric in zip(row, ("NDCG@10", "RMSE"), strict=True):
            for name, part in table.groupby("elicitation", sort=False):
                style = "--" if name == BASELINE else "-"
                ax.plot(part["answers"], part[metric], style, marker="o", label=str(name))
            ax.set_xscale("log")
            ax.set_xticks(list(ANSWERS), [str(a) for a in ANSWERS])
            ax.set_xlabel("answers (rated films)")
            ax.set_title(f"{model}: {metric}")
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _shrink(members: list[Member], n: int) -> list[Member]:
    return members[:n]


def _models(ctx: BenchContext) -> list[str]:
    wanted = [m for m in ELICIT_MODELS if ctx.models is None or m in ctx.models]
    return wanted or (ctx.models or ["mf"])[:1]


def _per_tap(
    ctx: BenchContext, fitted: dict[str, Recommender], extra: dict[str, pd.DataFrame]
) -> list[str]:
    """Protocol Elicit per tap and G after taps (``protocol_elicit_report``) for the hybrid,
    reusing its fit on this split; adds the tables to ``extra`` and returns the notes."""
    if "hybrid" not in fitted:
        return ["Per tap: not measured (the hybrid, the app's default model, was not asked for)."]
    result = measure(
        ctx.ratings, lambda: ctx.create("hybrid"), {SPLIT_SEED: fitted["hybrid"]}, ctx.quick
    )
    extra.update(result.tables)
    written = None if ctx.quick else write_tap_plot(curves(result.draws, ctx.ratings.name))
    return [*result.notes, f"Per-tap plot: {written}" if written else "Per-tap plot: not written."]


def run(ctx: BenchContext, plot: Path | None = PLOT) -> ProtocolResult:
    start = time.perf_counter()
    split = split_f(ctx.ratings, seed=SPLIT_SEED)
    members = members_of(split)
    if ctx.quick:
        members = _shrink(members, QUICK_MEMBERS)
    answers = QUICK_ANSWERS if ctx.quick else ANSWERS
    tables: dict[str, pd.DataFrame] = {}
    extra: dict[str, pd.DataFrame] = {}
    notes = []
    fitted: dict[str, Recommender] = {}
    for name in _models(ctx):
        model = ctx.create(name)
        model.fit(split.train, progress=ctx.progress_factory(f"Elicit: fitting {name}"))
        fitted[name] = model
        table = curve(model, split, members, answers=answers)
        tables[name] = table.drop(columns="ndcg_members")
        check = beats_baseline(table, elicit.DEFAULT_ELICITATION)
        extra[f"Elicitation: default ({elicit.DEFAULT_ELICITATION}) minus the baseline, {name}"] = (
            check
        )
        first = [r for r in check.to_dict("records") if r["verdict"] == "win"]
        notes.append(
            f"{name}: the default elicitation ({elicit.DEFAULT_ELICITATION}) beats the "
            "non-personalised baseline on NDCG@10 (interval excluding 0) from "
            + (f"{first[0]['answers']} answer(s)" if first else "no number of answers measured")
            + "."
        )
    taps_notes = _per_tap(ctx, fitted, extra)
    joined = pd.concat([t.assign(model=m) for m, t in tables.items()], ignore_index=True)
    table = cast(pd.DataFrame, joined[["model", *[c for c in joined.columns if c != "model"]]])
    written = write_plot(tables, plot) if plot is not None and not ctx.quick else None
    notes = [
        f"{len(members)} new members of protocol F's split (seed {SPLIT_SEED}); each member's "
        f"test half is fixed before elicitation (seed {TEST_SEED}) and every strategy (random "
        "included) reveals only from the other half; asked films outside it answer 'haven't "
        f"seen'; batches of {ASK_BATCH}, at most {MAX_ASKS} films asked. NDCG@10 ranks every "
        "film outside the answerable half (the same candidates for every strategy); RMSE is on "
        "the test half. 'answers obtained' < answers where members ran out of answerable films.",
        "Non-personalised baseline: most-rated films first; stars = damped film mean + the "
        f"member's damped offset over their first random answers (damping {OFFSET_DAMPING:g}).",
        "Anchor: Kluver & Konstan (RecSys 2014): the best CF needs 2–3 ratings to beat the "
        "non-personalised baseline.",
        *notes,
        f"Plot: {written}" if written else "Plot: not written (quick run or no matplotlib).",
        *taps_notes,
    ]
    return ProtocolResult(
        name="Elicit",
        title=TITLE,
        table=table,
        notes=notes,
        seconds=time.perf_counter() - start,
        extra_tables=extra,
    )


__all__ = [
    "ANSWERS",
    "BASELINE",
    "answers_of",
    "baseline_stars",
    "beats_baseline",
    "curve",
    "run",
    "write_plot",
]
