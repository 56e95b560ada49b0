"""Peers at their strongest: surprise's SVD tuned on a validation split and
item-based KNNBaseline in protocol E, implicit's logistic MF tuned in protocol R."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.splits import split_e, split_r, validation_split
from engine.data.synthetic import planted_explicit, planted_implicit
from engine.evaluate.protocols import evaluate_e, evaluate_r
from engine.evaluate.report import OURS
from engine.evaluate.run_protocols import bench

surprise = pytest.importorskip("surprise", reason="peers come from requirements-bench.txt")


@pytest.fixture(scope="module")
def planted():
    data = planted_explicit(n_users=150, n_items=120, rank=3, density=0.3, noise=0.3, seed=4)
    return split_e(data.ratings)[0]


def test_svd_tuning_picks_the_setting_that_fits_on_the_validation_split(planted):
    from engine.evaluate.peers.surprise_peers import SurprisePeer, tune_svd

    grid = [
        {"n_factors": 3, "n_epochs": 1, "lr_all": 0.005, "reg_all": 0.05},  # barely trained
        {"n_factors": 3, "n_epochs": 60, "lr_all": 0.01, "reg_all": 0.05},
    ]
    best, table = tune_svd(planted, grid)
    assert best == grid[1]
    assert list(table.columns) == ["n_factors", "n_epochs", "lr_all", "reg_all", "val_rmse"]
    assert table["val_rmse"].is_monotonic_increasing  # best first
    # the figure is RMSE on the validation part of train, fitted on the rest of train only
    fit_part, val_part = validation_split(planted, protocol="E", seed=100)
    peer = SurprisePeer("SVD", surprise.SVD(random_state=0, **grid[1])).fit(fit_part)
    assert table["val_rmse"].iloc[0] == pytest.approx(evaluate_e(peer, val_part)["rmse"])


def test_item_knn_shares_one_fit_across_k_exactly_as_separate_fits_would(planted):
    from engine.evaluate.peers.surprise_peers import ITEM_KNN_SIM, SurprisePeer, tune_item_knn

    best, table = tune_item_knn(planted, [5, 40])
    assert set(table["k"]) == {5, 40} and best["k"] == table["k"].iloc[0]
    fit_part, val_part = validation_split(planted, protocol="E", seed=100)
    for k in (5, 40):
        alone = SurprisePeer(
            "k", surprise.KNNBaseline(k=k, sim_options=ITEM_KNN_SIM, verbose=False)
        )
        alone.fit(fit_part)
        shared = table.loc[table["k"] == k, "val_rmse"].iloc[0]
        assert shared == pytest.approx(evaluate_e(alone, val_part)["rmse"])


def test_protocol_e_reports_defaults_and_strongest_peers_with_grids(embedded):
    run = bench(embedded, ["E"], quick=True, models=["baseline"], peers=True)
    (e,) = run.results
    assert e.status == "ok", e.notes
    table = e.table.set_index("model")
    assert table.loc["Surprise SVD", "params"] == "defaults"
    assert table.loc["Surprise KNNBaseline", "params"].startswith("defaults: user-based")
    assert table.loc["Surprise SVD, tuned", "params"].startswith("tuned: n_factors=")
    assert "item-based" in table.loc["Surprise KNNBaseline, item-based", "params"]
    peers = table[table["by"] != OURS]
    assert table.loc["baseline", "RMSE ÷ best peer"] == pytest.approx(
        table.loc["baseline", "RMSE"] / peers["RMSE"].min()
    )
    grids = [caption for caption in e.extra_tables if "validation grid" in caption]
    assert any(c.startswith("Surprise SVD, tuned") for c in grids)
    assert any(c.startswith("Surprise KNNBaseline, item-based") for c in grids)


def test_logistic_mf_learns_planted_clusters_and_is_tuned_in_r():
    pytest.importorskip("implicit", reason="peers come from requirements-bench.txt")
    from engine.evaluate.peers import implicit_peers as peers

    data = planted_implicit(n_users=200, n_items=120, n_clusters=4, per_user=20, seed=2)
    train, test = split_r(data)
    lmf = peers.fit_lmf(train, {"factors": 8, "iterations": 30})
    pop = peers.fit_popularity(train)
    lmf_ndcg = evaluate_r(None, train, test, score_users=lmf.model.score_users)["ndcg"]
    pop_ndcg = evaluate_r(None, train, test, score_users=pop.model.score_users)["ndcg"]
    assert lmf_ndcg > pop_ndcg + 0.1  # it sees the clusters; counts cannot
    scores = lmf.model.score_users(np.array([0]))
    assert scores.shape == (1, train.n_items)


def test_protocol_r_runs_tuned_logistic_mf(embedded):
    pytest.importorskip("implicit", reason="peers come from requirements-bench.txt")
    run = bench(embedded, ["R"], quick=True, models=["popularity"], peers=True)
    (r,) = run.results
    assert r.status == "ok", r.notes
    table = r.table.set_index("model")
    assert table.loc["implicit logistic MF", "params"].startswith("tuned: ")
    assert 0 <= table.loc["implicit logistic MF", "NDCG@10"] <= 1
    assert any("logistic MF settings" in note for note in r.notes)
