"""The quick benchmark (what CI runs) in-process on the embedded data, plus the CLI's rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from engine import group
from engine.cli import main
from engine.cli.bench import output_path
from engine.data.splits import split_e
from engine.evaluate import run_protocols
from engine.evaluate.protocol_elicit import BASELINE, QUICK_ANSWERS, STRATEGIES
from engine.evaluate.report import (
    OURS,
    TOOLS_BEGIN,
    TOOLS_END,
    BenchContext,
    ProtocolResult,
    add_ratio,
    markdown_table,
    render,
    write_report,
)
from engine.evaluate.run_protocols import (
    bench,
    parse_models,
    parse_protocols,
    quick_sample,
    run_protocol,
)
from engine.metrics import rmse


@pytest.fixture(scope="module")
def quick_run(embedded):
    return bench(
        embedded, ["E", "R"], quick=True, models=["mf", "baseline", "popularity"], peers=False
    )


def _table(run, name: str) -> pd.DataFrame:
    (result,) = [r for r in run.results if r.name == name]
    assert result.status == "ok", result.notes
    return result.table.set_index("model")


def test_quick_sample_is_small_and_reindexed(embedded):
    sample = quick_sample(embedded)
    assert sample.n_users == run_protocols.QUICK_USERS
    assert 500 < sample.n_items < embedded.n_items
    assert (
        sample.item_counts().min() >= run_protocols.QUICK_MIN_RATERS
    )  # every kept film has raters
    assert set(sample.item_ids) <= set(embedded.item_ids)


def test_quick_e_rows_and_ranges(quick_run):
    e = _table(quick_run, "E")
    assert list(e.index) == ["mf", "baseline"]  # the order asked for; popularity is not explicit
    assert e["RMSE"].between(0.6, 1.2).all() and e["MAE"].between(0.4, 1.0).all()
    assert (e["MAE"] < e["RMSE"]).all()  # MAE <= RMSE always; equality would mean constant error
    assert (e["fit s"] >= 0).all()


def test_quick_baseline_beats_the_global_mean(quick_run, embedded):
    train, test = split_e(quick_sample(embedded))
    mean_rmse = rmse(np.full(len(test), train.values.mean()), test.values)
    assert _table(quick_run, "E").loc["baseline", "RMSE"] < mean_rmse - 0.02


def test_quick_r_rows_and_ranges(quick_run):
    r = _table(quick_run, "R")
    assert list(r.index) == ["mf", "baseline", "popularity"]
    for column in ("Recall@10", "NDCG@10", "MAP@10", "coverage"):
        assert r[column].between(0, 1).all(), column
    assert (r["AUC"] > 0.5).all()  # every model ranks liked films above random
    # the classic: ranking by predicted stars surfaces obscure films; popularity wins top-N
    assert r.loc["popularity", "NDCG@10"] > r.loc["baseline", "NDCG@10"]
    assert r.loc["popularity", "coverage"] < r.loc["mf", "coverage"]


def test_report_has_tables_machine_and_times(quick_run):
    doc = quick_run.document
    assert "## E: rating prediction" in doc and "## R: top-N" in doc
    assert "| baseline | Movie Night |" in doc
    for key in ("CPU:", "RAM:", "cores:", "libraries:", "torch", "quick run"):
        assert key in doc, key


def test_quick_peers_run_on_the_same_split(embedded):
    pytest.importorskip("surprise", reason="peers come from requirements-bench.txt")
    pytest.importorskip("implicit", reason="peers come from requirements-bench.txt")
    run = bench(embedded, ["E", "R"], quick=True, models=["baseline", "popularity"], peers=True)
    e, r = _table(run, "E"), _table(run, "R")
    assert {"Surprise BaselineOnly", "Surprise SVD", "Surprise KNNBaseline"} <= set(e.index)
    assert "Surprise SVD++" not in e.index  # quick runs skip the slow peer and say so
    best = e[e["by"] != OURS]["RMSE"].min()
    assert e.loc["baseline", "RMSE ÷ best peer"] == pytest.approx(e.loc["baseline", "RMSE"] / best)
    assert {"implicit ALS", "implicit BPR", "popularity (counts)"} <= set(r.index)
    # our popularity and the peer's counts are the same ranking scored by the same code
    assert r.loc["popularity", "NDCG@10"] == pytest.approx(r.loc["popularity (counts)", "NDCG@10"])
    assert r.loc["implicit ALS", "NDCG@10"] > r.loc["popularity", "NDCG@10"] * 0.8


def test_missing_and_failing_protocols_are_reported(monkeypatch, embedded):
    monkeypatch.setitem(run_protocols.PROTOCOLS, "G", "engine.evaluate.no_such_protocol")
    ctx = BenchContext(ratings=quick_sample(embedded), quick=True)
    missing = run_protocol("G", ctx)  # a protocol that does not import fails, loudly
    assert missing.status == "failed" and "ModuleNotFoundError" in missing.notes[0]
    assert "no_such_protocol" in missing.notes[0]
    monkeypatch.setitem(run_protocols.PROTOCOLS, "G", "engine.metrics")  # has no run()
    failed = run_protocol("G", ctx)
    assert failed.status == "failed" and "AttributeError" in failed.notes[0]


def test_parse_options():
    assert parse_protocols("e, r,g") == ["E", "R", "G"]
    with pytest.raises(ValueError, match="unknown protocol 'App'"):
        parse_protocols("App")  # the app's timings are tools' bench, not the engine's
    assert parse_protocols(None) == list(run_protocols.PROTOCOLS)
    with pytest.raises(ValueError, match="unknown protocol 'X'"):
        parse_protocols("E,X")
    assert parse_models("mf,baseline") == ["mf", "baseline"]
    with pytest.raises(ValueError, match="unknown model"):
        parse_models("mf,nope")


def test_add_ratio_and_markdown():
    table = pd.DataFrame(
        {"model": ["ours", "p1", "p2"], "by": [OURS, "lib", "lib"], "RMSE": [0.9, 0.8, 1.0]}
    )
    notes = add_ratio(table, "RMSE", lower_is_better=True)
    assert table.loc[0, "RMSE ÷ best peer"] == pytest.approx(0.9 / 0.8)
    assert math.isnan(table.loc[1, "RMSE ÷ best peer"])
    assert "p1" in notes[0]
    text = markdown_table(table)
    assert (
        "| ours | Movie Night | 0.9000 | 1.1250 |" in text and "| p1 | lib | 0.8000 | — |" in text
    )


def test_cli_quick_writes_only_where_told(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "bench.md"
    code = main(
        [
            "bench",
            "--quick",
            "--protocols",
            "E",
            "--models",
            "baseline",
            "--no-peers",
            "--no-progress",
            "--output",
            str(target),
        ]
    )
    assert code == 0
    text = target.read_text()
    assert (
        "python -m engine bench --protocols E --models baseline" in text and "| baseline |" in text
    )
    assert not (tmp_path / "docs" / "BENCHMARKS.md").exists()

    class Args:
        output = None
        quick = True
        protocols = ",".join(run_protocols.PROTOCOLS)
        models = None

    assert output_path(Args) is None  # a quick run never overwrites docs/BENCHMARKS.md
    Args.quick = False
    assert str(output_path(Args)) == "docs/BENCHMARKS.md"
    Args.models = "mf"
    assert output_path(Args) is None  # nor does a partial one


def test_render_marks_failed_protocols(embedded):
    result = ProtocolResult(
        "S", "scale", pd.DataFrame(), ["failed: RuntimeError: x"], 0.0, status="failed"
    )

    doc = render(
        [result], "python -m engine bench", embedded, datetime(2026, 1, 1, tzinfo=UTC), 1.0
    )
    assert "| S — scale | 0.0 | failed |" in doc and "- failed: RuntimeError: x" in doc


def test_the_report_keeps_the_tools_bench_block_untouched(tmp_path):
    target = tmp_path / "BENCHMARKS.md"
    block = (
        f"{TOOLS_BEGIN}\n## App\n\n| measure | value |\n|---|---|\n| picks | 12 ms |\n{TOOLS_END}"
    )
    target.write_text(f"# Benchmarks\n\nold engine figures\n\n{block}\n\nold tail\n")
    write_report(target, "# Benchmarks\n\nnew engine figures\n")
    text = target.read_text()
    assert "new engine figures" in text and "old engine figures" not in text
    assert "old tail" not in text  # only the marked block survives, nothing else of the old file
    assert text.count(block) == 1 and text.endswith(block + "\n")
    write_report(target, "# Benchmarks\n\nnewer\n")  # and again: still exactly once
    assert target.read_text().count(block) == 1
    fresh = tmp_path / "fresh.md"
    write_report(fresh, "# Benchmarks\n")  # no old file, no block: the document alone
    assert fresh.read_text() == "# Benchmarks\n"
    target.write_text(f"# Benchmarks\n{TOOLS_BEGIN}\nhalf a block")
    with pytest.raises(ValueError, match="without"):
        write_report(target, "# Benchmarks\n")
    assert target.read_text().endswith("half a block")  # refused, not overwritten


def test_the_report_keeps_every_tools_block_each_to_its_own_end(tmp_path):
    bench = "<!-- BEGIN tools.bench -->\n## App\n<!-- END tools.bench -->"
    start = "<!-- BEGIN tools.startup_timing -->\n## Start\n<!-- END tools.startup_timing -->"
    target = tmp_path / "BENCHMARKS.md"
    target.write_text(f"# old\n\n{bench}\n\nbetween\n\n{start}\n")
    write_report(target, "# new\n")
    assert target.read_text() == f"# new\n\n{bench}\n\n{start}\n"
    target.write_text(f"# old\n<!-- BEGIN tools.startup_timing -->\n{bench}\n")  # wrong END
    with pytest.raises(ValueError, match=r"tools\.startup_timing"):
        write_report(target, "# new\n")


def test_quick_f_folds_in_and_compares_with_a_retrain(embedded):
    run = bench(embedded, ["F"], quick=True, models=["baseline", "popularity"], peers=False)
    (f,) = run.results
    assert f.status == "ok", f.notes
    table = f.table
    random_rows = table[table["reveal"] == "random"].set_index("model")
    assert list(random_rows.index) == ["baseline", "popularity"]
    assert (random_rows["k"] == 10).all() and (random_rows["revealed"] == 10).all()
    assert random_rows["NDCG@10"].between(0, 1).all() and (random_rows["draws"] == 2).all()
    (retrain,) = [t for caption, t in f.extra_tables.items() if caption.startswith("Fold-in vs")]
    retrain = retrain.set_index("model")
    assert retrain["retrain NDCG@10"].between(0, 1).all()
    # popularity ignores the member, so fold-in and retrain rank almost the same list
    assert retrain.loc["popularity", "fold-in ÷ retrain NDCG"] == pytest.approx(1, abs=0.1)
    assert 0.5 < random_rows.loc["baseline", "RMSE"] < 1.3
    assert math.isnan(random_rows.loc["popularity", "RMSE"])  # implicit: no stars
    if (table["reveal"] == "elicit").any():  # engine.elicit is importable
        elicit = table[table["reveal"] == "elicit"]
        assert (elicit["revealed"] <= 10).all() and elicit["NDCG@10"].between(0, 1).all()


def test_quick_elicitation_comparison_is_its_own_protocol(embedded):
    result = run_protocol(
        "Elicit", BenchContext(ratings=quick_sample(embedded), quick=True, models=["mf"])
    )
    assert result.status == "ok", result.notes
    table = result.table
    assert list(table["model"].unique()) == ["mf"]
    assert set(table["elicitation"]) == {*STRATEGIES, BASELINE}
    assert sorted(table["answers"].unique()) == list(QUICK_ANSWERS)
    assert table["NDCG@10"].between(0, 1).all() and (table["RMSE"] > 0).all()
    assert (table["answers obtained"] <= table["answers"]).all()
    # random reveals draw from the answerable half: it always gets its answers
    random = table[table["elicitation"] == "random"]
    assert (random["answers obtained"] == random["answers"]).all()
    # the baseline's ranking does not depend on answers: the same test films, the same NDCG
    assert table[table["elicitation"] == BASELINE]["NDCG@10"].nunique() == 1


def test_quick_g_reports_both_vocabularies_and_the_novelty_trade(embedded):
    result = run_protocol(
        "G", BenchContext(ratings=quick_sample(embedded), quick=True, models=["mf"])
    )
    assert result.status == "ok", result.notes
    table = result.table
    assert set(group.STRATEGIES) <= set(table["strategy"])
    for column in ("mean_ndcg", "min_ndcg", "zero_recall", "nDCG@20", "min nDCG@20", "zRecall@20"):
        assert table[column].between(0, 1).all(), column
    assert (table.loc[table["strategy"] == "average", "top-10 ≠ average"] == 0).all()
    names = list(result.extra_tables)
    paper = result.extra_tables[next(n for n in names if "paper's terms" in n)]
    assert {"nDCG@20", "min nDCG@20", "zRecall@20", "DFH@20", "Recall@20"} <= set(paper.columns)
    assert set(paper["cell"]) >= {"all", "random"}
    novelty = result.extra_tables[next(n for n in names if "novelty" in n)]
    assert len(novelty) == 4  # novelty 0 and the three measured settings
    assert any("the goal" in note for note in result.notes)


def test_jobs_run_the_protocols_in_processes_with_the_same_figures(embedded):
    models = ["baseline", "popularity"]
    one = bench(embedded, ["R", "E"], quick=True, models=models, peers=False)
    two = bench(embedded, ["R", "E"], quick=True, models=models, peers=False, jobs=2)
    assert [r.name for r in two.results] == [r.name for r in one.results]  # the order asked for
    for a, b in zip(one.results, two.results, strict=True):
        assert a.status == b.status == "ok"
        timed = [c for c in a.table.columns if "fit" in str(c) or "second" in str(c)]
        pd.testing.assert_frame_equal(a.table.drop(columns=timed), b.table.drop(columns=timed))
    with pytest.raises(ValueError, match="jobs"):
        bench(embedded, ["E"], quick=True, models=models, peers=False, jobs=0)
