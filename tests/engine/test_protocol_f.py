"""Protocol F's options: ``--retrain-k none`` (issue 18 item 5)."""

from __future__ import annotations

import pytest

from engine.data.synthetic_movielens import synthetic_movielens
from engine.evaluate import protocol_f
from engine.evaluate.bench import parse_ks, run_protocol
from engine.evaluate.report import BenchContext


@pytest.fixture(scope="module")
def small():
    return synthetic_movielens(seed=5, n_users=200, n_items=800, n_ratings=12_000)


def test_retrain_k_none_runs_no_retrain(small):
    ctx = BenchContext(
        ratings=small, quick=True, models=["popularity"], peers=False, retrain_ks=parse_ks("none")
    )
    assert protocol_f.retrain_ks(ctx) == ()
    result = run_protocol("F", ctx)
    assert result.status == "ok", result.notes
    assert result.table["retrain NDCG@10"].isna().all()
    assert "k ∈ none" in result.notes[0]


def test_cli_retrain_k_none_reaches_protocol_f(tmp_path, monkeypatch):
    """The documented option end to end: argparse → parse_ks → BenchContext → protocol F."""
    from engine.cli import main

    monkeypatch.chdir(tmp_path)
    outputs = {}
    for flag in ("none", "10"):
        target = tmp_path / f"{flag}.md"
        argv = ["bench", "--quick", "--protocols", "F", "--models", "popularity", "--no-peers"]
        argv += ["--no-progress", "--retrain-k", flag, "--output", str(target)]
        assert main(argv) == 0
        outputs[flag] = target.read_text()
    assert "k ∈ none" in outputs["none"] and "k ∈ [10]" in outputs["10"]


def test_empty_retrain_k_is_an_error_not_a_silent_default():
    with pytest.raises(ValueError, match="retrain-k"):
        parse_ks("")
    with pytest.raises(ValueError, match="retrain-k"):
        parse_ks(" , ")
    assert parse_ks("none") == () and parse_ks("NONE") == ()
