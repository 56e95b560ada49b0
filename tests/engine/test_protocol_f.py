"""Protocol F over several seeded user draws and ``--retrain-k none``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.data.splits import split_f
from engine.data.synthetic_movielens import synthetic_movielens
from engine.evaluate import protocol_f
from engine.evaluate.protocols import evaluate_f, reveal_random
from engine.evaluate.report import OURS, BenchContext
from engine.evaluate.run_protocols import parse_ks, run_protocol
from engine.models import create


@pytest.fixture(scope="module")
def small():
    return synthetic_movielens(seed=5, n_users=200, n_items=800, n_ratings=12_000)


@pytest.fixture(scope="module")
def quick_f(small):
    ctx = BenchContext(ratings=small, quick=True, models=["baseline", "popularity"], peers=False)
    result = run_protocol("F", ctx)
    assert result.status == "ok", result.notes
    return result


def test_summary_is_the_mean_and_range_of_the_draws_by_hand():
    per_draw = pd.DataFrame(
        {
            "model": ["ours", "peer", "ours", "peer", "ours"],
            "by": [OURS, "lib", OURS, "lib", OURS],
            "draw": [1, 1, 2, 2, 1],
            "k": [10, 10, 10, 10, 10],
            "reveal": ["random", "random", "random", "random", "elicit"],
            "revealed": [10.0, 10.0, 10.0, 10.0, 8.0],
            "NDCG@10": [0.30, 0.20, 0.10, 0.25, 0.40],
            "Recall@10": [0.1, 0.1, 0.3, 0.1, 0.2],
            "RMSE": [0.9, math.nan, 1.1, math.nan, 0.8],
            "fold-in ms": [1.0, 2.0, 3.0, 2.0, 5.0],
        }
    )
    table, notes = protocol_f.summarise(per_draw)
    ours = table[(table["model"] == "ours") & (table["reveal"] == "random")].iloc[0]
    assert ours["draws"] == 2
    assert ours["NDCG@10"] == pytest.approx(0.20)
    assert (ours["NDCG@10 min"], ours["NDCG@10 max"]) == pytest.approx((0.10, 0.30))
    assert (ours["RMSE"], ours["RMSE min"], ours["RMSE max"]) == pytest.approx((1.0, 0.9, 1.1))
    assert ours["fold-in ms"] == pytest.approx(2.0)
    # ratio of the means (0.20 / 0.225), and per draw against that draw's best peer: 1.5 and 0.4
    assert ours["NDCG@10 ÷ best peer"] == pytest.approx(0.20 / 0.225)
    assert ours["NDCG@10 ÷ best peer, min"] == pytest.approx(0.4)
    assert ours["NDCG@10 ÷ best peer, max"] == pytest.approx(1.5)
    elicit = table[table["reveal"] == "elicit"].iloc[0]
    assert elicit["draws"] == 1 and elicit["NDCG@10"] == pytest.approx(0.40)
    assert math.isnan(elicit["NDCG@10 min"]) and math.isnan(elicit["NDCG@10 max"])  # one draw
    assert any("peer" in note for note in notes)


def test_quick_f_reports_every_draw_and_their_spread(quick_f):
    table = quick_f.table
    random_rows = table[table["reveal"] == "random"].set_index("model")
    assert list(random_rows.index) == ["baseline", "popularity"]
    assert (random_rows["draws"] == len(protocol_f.QUICK_DRAWS)).all()
    per_draw = quick_f.extra_tables["NDCG@10 per draw (random reveals, k=10)"].set_index("model")
    draws = per_draw[[f"draw {d}" for d in protocol_f.QUICK_DRAWS]]
    assert random_rows["NDCG@10"].to_numpy() == pytest.approx(draws.mean(axis=1).to_numpy())
    assert random_rows["NDCG@10 min"].to_numpy() == pytest.approx(draws.min(axis=1).to_numpy())
    assert random_rows["NDCG@10 max"].to_numpy() == pytest.approx(draws.max(axis=1).to_numpy())
    assert (draws.max(axis=1) > draws.min(axis=1)).all()  # the draws really differ


def test_draw_1_is_designs_split(quick_f, small):
    """Draw 1's figure is protocol F on split_f(seed=1) with reveals from default_rng(2)."""
    split = split_f(small, seed=1)
    model = create("popularity")
    model.fit(split.train)
    expected = evaluate_f(model, split, reveals=reveal_random(split, 10))["ndcg"]
    per_draw = quick_f.extra_tables["NDCG@10 per draw (random reveals, k=10)"].set_index("model")
    assert per_draw.loc["popularity", "draw 1"] == pytest.approx(expected)


def test_the_rule_for_the_user_count_is_stated_with_its_numbers(quick_f, small):
    eligible = int((small.user_counts() >= 25).sum())
    n_new = len(split_f(small, seed=2).new_users)
    assert n_new == round(0.1 * eligible)
    note = quick_f.notes[0]
    assert f"{n_new} new users per draw = 10 % of the {eligible} users with >= 25 ratings" in note
    assert "the rule: 10 % of the eligible users" in note


def test_retrain_runs_on_draw_1_at_k_10_by_default(quick_f):
    retrain = quick_f.extra_tables["Fold-in vs retrain (draw 1, the defined split)"]
    assert retrain["model"].tolist() == ["baseline", "popularity"]
    assert (retrain["k"] == 10).all() and retrain["retrain NDCG@10"].between(0, 1).all()


def test_retrain_k_none_runs_no_retrain(small):
    ctx = BenchContext(
        ratings=small,
        quick=True,
        models=["popularity"],
        peers=False,
        retrain_ks=parse_ks("none"),
    )
    assert protocol_f.retrain_ks(ctx) == ()
    result = run_protocol("F", ctx)
    assert result.status == "ok", result.notes
    assert not any(caption.startswith("Fold-in vs") for caption in result.extra_tables)
    assert "k ∈ none" in result.notes[0]


def test_cli_retrain_k_none_reaches_protocol_f(tmp_path, monkeypatch):
    """The documented option end to end: argparse → parse_ks → BenchContext → protocol F."""
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for flag in ("none", "10"):
        target = tmp_path / f"{flag}.md"
        argv = ["bench", "--quick", "--protocols", "F", "--models", "popularity", "--no-peers"]
        argv += ["--no-progress", "--retrain-k", flag, "--output", str(target)]
        assert main(argv) == 0
        outputs[flag] = target.read_text()
    assert "Fold-in vs retrain" not in outputs["none"] and "k ∈ none" in outputs["none"]
    assert "Fold-in vs retrain" in outputs["10"]


def test_empty_retrain_k_is_an_error_not_a_silent_default():
    with pytest.raises(ValueError, match="retrain-k"):
        parse_ks("")
    with pytest.raises(ValueError, match="retrain-k"):
        parse_ks(" , ")
    assert parse_ks("none") == () and parse_ks("NONE") == ()


def test_f_split_seeds_differ_but_share_the_rule(small):
    splits = [split_f(small, seed=s) for s in protocol_f.DRAWS]
    sizes = {len(s.new_users) for s in splits}
    assert len(sizes) == 1  # the same count on every draw
    assert len({tuple(s.new_users.tolist()) for s in splits}) == len(protocol_f.DRAWS)
    assert all(
        np.isin(s.new_users, np.flatnonzero(small.user_counts() >= 25)).all() for s in splits
    )
