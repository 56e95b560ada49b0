"""Protocol F, a new member: 10 % of the users with >= 25 ratings leave training. Each reveals
k ∈ {5, 10, 20} ratings, (a) at random (default_rng(2)) or (b) those the elicitation strategy asks
for (answering only films they rated), and is folded in without retraining. The hidden rest is
scored (NDCG@10, Recall@10, RMSE), and compared with a model *retrained* with all revealed ratings
added to train: fold-in should come within 5 % of retraining at a fraction of the cost.

The rule for the user count, stated once: n = round(10 % × the number of *eligible*
users, those with >= 25 ratings), drawn among them with ``default_rng(seed)``; not 10 % of all
users drawn among the eligible ones. On 60–90 people one draw moves F a lot, so F runs over
several seeded draws (``DRAWS``; draw 1 is the defined ``default_rng(1)`` split), as protocol G does
over five splits, and reports each figure's mean with its min–max over the draws. The costly
comparisons run on draw 1 only: the retrain, and variant (b), elicitation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from engine.data.ratings import Ratings
from engine.data.splits import FoldInSplit, split_f
from engine.elicit import DEFAULT_ELICITATION, elicitor
from engine.evaluate.peers import implicit_peers as peers
from engine.evaluate.protocol_r import _describe, _validation_ndcg
from engine.evaluate.protocols import (
    Reveal,
    evaluate_f,
    reveal_elicit,
    reveal_random,
    revealed_ratings,
)
from engine.evaluate.report import OURS, BenchContext, ProtocolResult, add_ratio, timed_fit

TITLE = "new member fold-in (NDCG@10 from k revealed ratings)"
K_REVEAL = (5, 10, 20)
TOLERANCE = 0.05  # "within 5 %" of retraining
RETRAIN_K = (10,)
DRAWS = (1, 2, 3, 4, 5)  # split_f seeds; draw 1 is the defined split
QUICK_DRAWS = (1, 2)
NEW_USER_FRACTION, MIN_RATINGS = 0.1, 25
RATIO = "NDCG@10 ÷ best peer"
COLUMNS = [
    "model", "by", "k", "reveal", "draws", "revealed", "NDCG@10", "NDCG@10 min", "NDCG@10 max",
    "Recall@10", "RMSE", "RMSE min", "RMSE max", "fold-in ms", RATIO, f"{RATIO}, min",
    f"{RATIO}, max",
]  # fmt: skip
RETRAIN_COLUMNS = [
    "model", "by", "k", "fold-in NDCG@10", "retrain NDCG@10", "fold-in RMSE", "retrain RMSE",
    "retrain s", "fold-in ÷ retrain NDCG", "within 5 %",
]  # fmt: skip

Maker = Callable[[Ratings], tuple[Any, float]]  # train -> (fitted model, fit seconds)


def _elicitor() -> tuple[Callable[..., list[int]], str]:
    return (
        elicitor(DEFAULT_ELICITATION),
        f"variant (b) asks engine.elicit's default strategy '{DEFAULT_ELICITATION}', 5 films at a "
        "time, at most 200 asks; on draw 1 only (it costs more than every other step together)",
    )


def retrain_ks(ctx: BenchContext) -> tuple[int, ...]:
    """The k at which fold-in is compared with a retrain (one refit of the model each): k=10 by
    default, since every extra k costs a full fit per model; ``--retrain-k 5,10,20`` for all,
    ``--retrain-k none`` (an empty tuple) for no retrain at all."""
    return RETRAIN_K if ctx.retrain_ks is None else tuple(ctx.retrain_ks)


def draws(ctx: BenchContext) -> tuple[int, ...]:
    """The seeds of the user draws: five in full runs, two in quick ones."""
    return QUICK_DRAWS if ctx.quick else DRAWS


def _within(fold: dict[str, Any], retrain: dict[str, Any]) -> tuple[float, bool]:
    ratio = fold["ndcg"] / retrain["ndcg"] if retrain["ndcg"] else float("nan")
    ok = fold["ndcg"] >= (1 - TOLERANCE) * retrain["ndcg"]
    if fold["rmse"] == fold["rmse"] and retrain["rmse"] == retrain["rmse"]:  # explicit: RMSE too
        ok = ok and fold["rmse"] <= (1 + TOLERANCE) * retrain["rmse"]
    return ratio, bool(ok)


def _figures(
    label: str, by: str, draw: int, k: int, reveal: str, out: dict[str, Any]
) -> dict[str, Any]:
    return {
        "model": label, "by": by, "draw": draw, "k": k, "reveal": reveal,
        "revealed": out["revealed"], "NDCG@10": out["ndcg"], "Recall@10": out["recall"],
        "RMSE": out["rmse"], "fold-in ms": out["foldin_ms"],
    }  # fmt: skip


def measure(
    label: str,
    by: str,
    make: Maker,
    split: FoldInSplit,
    reveals: dict[int, list[Reveal]],
    ctx: BenchContext,
    draw: int = 1,
    elicit: Callable[..., list[int]] | None = None,
    retrain_at: tuple[int, ...] = (),
    tick: Callable[[str], None] = lambda message: None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One model on one draw: per k, random reveals (fold-in), a retrain at ``retrain_at`` and,
    if given, elicitation. Returns (per-draw figure rows, retrain comparison rows)."""
    model, _ = make(split.train)
    rows, retrains = [], []
    for k, revealed in reveals.items():
        tick(f"{label} draw {draw} k={k}")
        fold = evaluate_f(model, split, reveals=revealed, k=ctx.k, threshold=ctx.threshold)
        rows.append(_figures(label, by, draw, k, "random", fold))
        if k in retrain_at:
            retrained, retrain_s = make(split.train.concat(revealed_ratings(split, revealed)))
            again = evaluate_f(
                retrained, split, reveals=revealed, k=ctx.k, threshold=ctx.threshold, fold_in=False
            )
            ratio, ok = _within(fold, again)
            retrains.append(
                {
                    "model": label, "by": by, "k": k, "fold-in NDCG@10": fold["ndcg"],
                    "retrain NDCG@10": again["ndcg"], "fold-in RMSE": fold["rmse"],
                    "retrain RMSE": again["rmse"], "retrain s": retrain_s,
                    "fold-in ÷ retrain NDCG": ratio, "within 5 %": ok,
                }
            )  # fmt: skip
        if elicit is not None:
            tick(f"{label} draw {draw} k={k} elicit")
            asked = reveal_elicit(model, split, k, elicit)
            out = evaluate_f(model, split, reveals=asked, k=ctx.k, threshold=ctx.threshold)
            rows.append(_figures(label, by, draw, k, "elicit", out))
    return rows, retrains


def summarise(per_draw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per (model, k, reveal): means over the draws, min–max of NDCG@10 and RMSE (only
    where there is more than one draw), and the ratio to the best peer: of the means, and its
    min–max over the draws (the best peer taken within each draw). Returns the notes naming the
    best peers."""
    keys = ["model", "by", "k", "reveal"]
    per_draw = per_draw.copy()
    add_ratio(per_draw, "NDCG@10", lower_is_better=False, by=["draw", "k", "reveal"])
    grouped = per_draw.groupby(keys, sort=False, dropna=False)
    table = grouped.agg(
        **{
            "draws": ("draw", "nunique"),
            "revealed": ("revealed", "mean"),
            "NDCG@10": ("NDCG@10", "mean"),
            "NDCG@10 min": ("NDCG@10", "min"),
            "NDCG@10 max": ("NDCG@10", "max"),
            "Recall@10": ("Recall@10", "mean"),
            "RMSE": ("RMSE", "mean"),
            "RMSE min": ("RMSE", "min"),
            "RMSE max": ("RMSE", "max"),
            "fold-in ms": ("fold-in ms", "mean"),
            f"{RATIO}, min": (RATIO, "min"),
            f"{RATIO}, max": (RATIO, "max"),
        }
    ).reset_index()
    single = table["draws"] < 2  # a range over one draw says nothing
    for column in (
        "NDCG@10 min",
        "NDCG@10 max",
        "RMSE min",
        "RMSE max",
        f"{RATIO}, min",
        f"{RATIO}, max",
    ):
        table.loc[single, column] = float("nan")
    notes = add_ratio(table, "NDCG@10", lower_is_better=False, by=["k", "reveal"])
    return table.loc[:, COLUMNS], notes


def per_draw_table(per_draw: pd.DataFrame, k: int) -> pd.DataFrame:
    """NDCG@10 per model and draw for random reveals at ``k``: the spread behind the summary."""
    rows = per_draw[(per_draw["reveal"] == "random") & (per_draw["k"] == k)]
    table = rows.pivot_table(index=["model", "by"], columns="draw", values="NDCG@10", sort=False)
    table.columns = [f"draw {d}" for d in table.columns]
    return table.reset_index()


def _ours(ctx: BenchContext, name: str) -> Maker:
    def make(train: Ratings) -> tuple[Any, float]:
        model = ctx.create(name)
        return model, timed_fit(model, train)

    return make


def _peer_makers(
    ctx: BenchContext, split: FoldInSplit, notes: list[str]
) -> list[tuple[str, str, Maker]]:
    out: list[tuple[str, str, Maker]] = []
    if peers.version("implicit"):
        grid = peers.QUICK_ALS_GRID if ctx.quick else peers.ALS_GRID
        iterations = 4 if ctx.quick else 15
        best, _ = peers.tune(
            lambda t, p: peers.fit_als(t, p, iterations),
            grid,
            split.train,
            _validation_ndcg(ctx.k, ctx.threshold),
        )
        notes.append(
            f"implicit ALS tuned once, on a validation split of draw 1's train set "
            f"({_describe(best)}), and refitted with that setting on every draw; its fold-in is "
            "implicit's recalculate_user (a least-squares solve with items fixed)."
        )

        def als(train: Ratings) -> tuple[Any, float]:
            fitted = peers.fit_als(train, best, iterations)
            return fitted.model, fitted.fit_s

        out.append(("implicit ALS", f"implicit {peers.version('implicit')}", als))
    else:
        notes.append(peers.missing_note("implicit"))

    def popularity(train: Ratings) -> tuple[Any, float]:
        fitted = peers.fit_popularity(train)
        return fitted.model, fitted.fit_s

    out.append(("popularity (counts)", "numpy", popularity))
    return out


def _rule_note(
    ratings: Ratings, splits: dict[int, FoldInSplit], ks: tuple[int, ...], ctx: BenchContext
) -> str:
    eligible = int((ratings.user_counts() >= MIN_RATINGS).sum())
    sizes = sorted({len(s.new_users) for s in splits.values()})
    first = min(splits)
    other_reading = round(NEW_USER_FRACTION * ratings.n_users)
    retrain = sorted(set(retrain_ks(ctx)) & set(ks)) or "none"
    return (
        f"split: {'/'.join(map(str, sizes))} new users per draw = 10 % of the {eligible} users with "
        f">= {MIN_RATINGS} ratings (the rule: 10 % of the eligible users; 10 % of all "
        f"{ratings.n_users} users drawn among the eligible would be {other_reading}), drawn with "
        f"split_f(seed) for the {len(splits)} draws {list(splits)} (draw {first} = the defined "
        "default_rng(1) split); figures are means over the draws with min and max. Random reveals: "
        f"one default_rng(2) over each draw's users in order, k ∈ {sorted(ks)}. Candidates: all "
        "films the member did not reveal; relevant = hidden films rated >= 4; RMSE pools every "
        f"hidden rating (explicit models). Retrain (draw {first}, k ∈ {retrain}) = the same model "
        "refitted on train plus every member's revealed ratings, scoring the members as training "
        "users; 'within 5 %' = fold-in NDCG@10 >= 0.95 × retrain NDCG@10 (and RMSE <= 1.05 × "
        "retrain RMSE for explicit models)."
    )


Planned = tuple[str, str, Maker, Callable[..., list[int]] | None]  # label, by, make, elicit


def _measure_plan(
    plan: Sequence[Planned],
    splits: dict[int, FoldInSplit],
    reveals: dict[int, dict[int, list[Reveal]]],
    ctx: BenchContext,
    tick: Callable[[str], None],
    notes: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """``measure`` for every planned model on every draw (elicitation and the retrain on the
    first draw only): (figure rows, retrain rows, seconds the extra draws took). A failure is
    a note, and the other models' figures still come."""
    first = next(iter(splits))
    rows: list[dict[str, Any]] = []
    retrains: list[dict[str, Any]] = []
    extra_s = 0.0
    for label, by, make, elicit_fn in plan:
        for seed in splits:
            began = time.perf_counter()
            try:
                figures, compared = measure(
                    label, by, make, splits[seed], reveals[seed], ctx, draw=seed,
                    elicit=elicit_fn if seed == first else None,
                    retrain_at=retrain_ks(ctx) if seed == first else (), tick=tick,
                )  # fmt: skip
            except Exception as err:  # one broken model must not hide the others' figures
                notes.append(f"{label}, draw {seed}: FAILED ({type(err).__name__}: {err})")
                continue
            rows += figures
            retrains += compared
            if seed != first:
                extra_s += time.perf_counter() - began
    return rows, retrains, extra_s


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    seeds = draws(ctx)
    first = seeds[0]
    splits = {seed: split_f(ctx.ratings, seed=seed) for seed in seeds}
    names, notes = ctx.model_names()
    ks = (10,) if ctx.quick else K_REVEAL
    notes.insert(0, _rule_note(ctx.ratings, splits, ks, ctx))
    elicit, note = _elicitor()
    notes.append(note)
    reveals = {seed: {k: reveal_random(split, k) for k in ks} for seed, split in splits.items()}
    plan = [(name, OURS, _ours(ctx, name), elicit) for name in names]
    progress = ctx.progress_factory("F")
    done, total = 0, 1

    def tick(message: str) -> None:
        nonlocal done
        progress(min(done, total), total, message)
        done += 1

    if ctx.peers:
        tick("tuning implicit ALS")
        plan += [
            (label, by, make, None) for label, by, make in _peer_makers(ctx, splits[first], notes)
        ]
    steps_first = sum(len(ks) * (2 if e else 1) for *_, e in plan)
    total = done + steps_first + len(plan) * len(ks) * (len(seeds) - 1)
    rows, retrains, extra_s = _measure_plan(plan, splits, reveals, ctx, tick, notes)
    progress(total, total, "done")
    per_draw = pd.DataFrame(rows)
    table, ratio_notes = summarise(per_draw) if rows else (pd.DataFrame(columns=COLUMNS), [])
    notes += ratio_notes
    notes.append(
        f"the {len(seeds) - 1} extra draws (fits and random fold-ins only) took {extra_s:.0f} s of "
        f"this protocol's {time.perf_counter() - start:.0f} s."
    )
    extra: dict[str, pd.DataFrame] = {}
    if retrains:
        extra[f"Fold-in vs retrain (draw {first}, the defined split)"] = pd.DataFrame(
            retrains, columns=RETRAIN_COLUMNS
        )
    if rows and 10 in ks:
        extra["NDCG@10 per draw (random reveals, k=10)"] = per_draw_table(per_draw, 10)
    return ProtocolResult("F", TITLE, table, notes, time.perf_counter() - start, extra_tables=extra)
