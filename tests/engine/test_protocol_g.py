"""Protocol G's pieces: group formation, both metric vocabularies by hand, the paired bootstrap,
distinct-list counts, novelty variants, and a small run over real splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import group
from engine.data.splits import split_f
from engine.evaluate.group_metrics import (
    Relevant,
    bootstrap_interval,
    distinct_from_base,
    graded_gain,
    group_figures,
    group_truth,
    member_figures,
    paired_table,
)
from engine.evaluate.group_setup import Pool, make_groups
from engine.evaluate.protocol_g import OWN, Variant, evaluate_groups, named, run_folds, summarise
from engine.models import create

L2 = 1 / np.log2(3)  # the discount of rank 2


def _pool(corr: np.ndarray, relevant=None, revealed=None) -> Pool:
    n = len(corr)
    revealed = revealed or [(np.array([100 + i]), np.array([4.0], np.float32)) for i in range(n)]
    relevant = relevant or [Relevant(np.array([i]), np.array([4.0])) for i in range(n)]
    return Pool(np.arange(n), revealed, relevant, corr)


def test_make_groups_respects_similar_and_divergent_definitions():
    rng = np.random.default_rng(0)
    n = 14
    corr = rng.uniform(-0.5, 0.8, (n, n))
    corr = (corr + corr.T) / 2
    corr[rng.random((n, n)) < 0.2] = np.nan  # some pairs share too few films to measure
    corr = np.where(np.isnan(corr) | np.isnan(corr.T), np.nan, corr)
    np.fill_diagonal(corr, np.nan)
    pool = _pool(corr)
    for size in (2, 3, 4):
        for g in make_groups(pool, size, "similar", 10, np.random.default_rng(1)):
            sub = np.nan_to_num(corr[np.ix_(g, g)], nan=-1)
            assert len(set(g)) == size and (sub >= 0.3).any(axis=1).all()
        for g in make_groups(pool, size, "divergent", 10, np.random.default_rng(1)):
            sub = corr[np.ix_(g, g)]
            assert not (np.nan_to_num(sub, nan=-1) >= 0.1).any()
            assert (np.nan_to_num(sub, nan=1) < 0.1).any(axis=1).all()
        a = make_groups(pool, size, "random", 5, np.random.default_rng(2))
        assert [x.tolist() for x in a] == [
            x.tolist() for x in make_groups(pool, size, "random", 5, np.random.default_rng(2))
        ]


def test_graded_gain_is_ranksys():
    # 2^(r − 4 + 1) − 1: 4★ → 1, 4.5★ → 2^1.5 − 1, 5★ → 3; below the threshold nothing
    assert np.allclose(graded_gain(np.array([3.5, 4.0, 4.5, 5.0])), [0, 1, 2**1.5 - 1, 3])


# Two members over 30 films. Member 0 loves film 0 (5★ held out) and also liked film 25 (4★);
# member 1 liked film 1 (4★). They revealed films 28 and 29. Predictions: film 0 at 5★ for
# member 0, film 1 at 4.9★ for member 1, 1★ elsewhere: the average list is 0, 1, 2, 3, …
PRED = np.ones((2, 30))
PRED[0, 0], PRED[1, 1] = 5.0, 4.9
POOL = _pool(
    np.full((2, 2), np.nan),
    relevant=[
        Relevant(np.array([0, 25]), np.array([5.0, 4.0])),
        Relevant(np.array([1]), np.array([4.0])),
    ],
    revealed=[(np.array([28]), np.array([4.0])), (np.array([29]), np.array([4.0]))],
)


def test_both_vocabularies_by_hand():
    truth = group_truth(POOL.relevant, np.array([28, 29]), 30)
    member = member_figures(np.arange(20), truth)
    # member 0: binary NDCG@10 = 1 / (1 + 1/log2 3); graded nDCG@20 = 3 / (3 + 1/log2 3);
    #           recall@20 = 1/2 (film 25 is outside the top 20); first hit at rank 1
    # member 1: hit at rank 2 → 1/log2 3 in both NDCGs and DFH; recall 1
    assert np.allclose(member["ndcg10"], [1 / (1 + L2), L2])
    assert np.allclose(member["ndcg20"], [3 / (3 + L2), L2])
    assert np.allclose(member["recall20"], [0.5, 1.0])
    assert np.allclose(member["dfh20"], [1.0, L2])
    figures = group_figures(member)
    assert figures["mean_ndcg"] == pytest.approx((1 / (1 + L2) + L2) / 2)
    assert figures["min_ndcg"] == pytest.approx(1 / (1 + L2))
    assert figures["ndcg20_min"] == pytest.approx(L2)
    assert figures["ndcg20_minmax"] == pytest.approx(L2 / (3 / (3 + L2)))
    assert figures["recall20"] == pytest.approx(0.75)
    assert figures["zrecall20"] == 0.0 and figures["zero_recall"] == 0.0
    assert figures["dfh20_mean"] == pytest.approx((1 + L2) / 2)
    # a list with nothing relevant: zero recall for both, DFH 0, min/max 0 (not NaN)
    none = group_figures(member_figures(np.arange(2, 22), truth))
    assert none["zrecall20"] == 1.0 and none["dfh20_mean"] == 0.0 and none["ndcg20_minmax"] == 0.0


def test_evaluate_groups_scores_shared_and_own_lists():
    records = evaluate_groups(PRED, POOL, {("random", 2): [np.array([0, 1])]}, named(["average"]))
    rows = records.per_group.set_index("strategy")
    assert rows.loc["average", "ndcg20_mean"] == pytest.approx((3 / (3 + L2) + L2) / 2)
    assert rows.loc["average", "disagreement"] == pytest.approx(L2 - 1 / (1 + L2))
    # each member's own list puts their film first: member 1 gets a perfect nDCG@20
    assert rows.loc[OWN, "ndcg20_min"] == pytest.approx(3 / (3 + L2))
    assert records.tops[(0, "average")] == tuple(range(10))


def test_a_group_whose_films_were_all_revealed_is_not_scored():
    pool = _pool(
        np.full((2, 2), np.nan),
        relevant=[
            Relevant(np.array([29]), np.array([5.0])),
            Relevant(np.array([28]), np.array([4.0])),
        ],
        revealed=[(np.array([28]), np.array([4.0])), (np.array([29]), np.array([4.0]))],
    )
    records = evaluate_groups(PRED, pool, {("random", 2): [np.array([0, 1])]}, named(["average"]))
    assert records.per_group.empty


def test_novelty_variant_picks_less_popular_films():
    rng = np.random.default_rng(3)
    pred = rng.uniform(2.0, 5.0, (2, 200))
    seen = np.tile(np.linspace(0.9, 0.0, 200), (2, 1))  # film 0 surely seen, film 199 never
    rank = np.arange(1, 201, dtype=float)  # film 0 the most rated
    variants = {"average": Variant(group.STRATEGIES["average"].select)}
    variants["average, novelty 1"] = Variant(group.STRATEGIES["average"].select, 1.0)
    pool = _pool(
        np.full((2, 2), np.nan), revealed=[(np.array([i]), np.array([4.0])) for i in (150, 151)]
    )
    records = evaluate_groups(
        pred, pool, {("random", 2): [np.array([0, 1])]}, variants, seen=seen, popularity_rank=rank
    )
    pop = records.per_group.set_index("strategy")["pop_rank"]
    assert pop["average, novelty 1"] > pop["average"] + 30


def test_bootstrap_interval():
    assert bootstrap_interval(np.full(50, 0.2)) == pytest.approx((0.2, 0.2))
    diff = np.random.default_rng(1).normal(0.1, 0.05, 400)
    lo, hi = bootstrap_interval(diff)
    se = diff.std() / np.sqrt(len(diff))
    assert lo == pytest.approx(diff.mean() - 1.96 * se, abs=0.002)
    assert hi == pytest.approx(diff.mean() + 1.96 * se, abs=0.002)
    assert (lo, hi) == bootstrap_interval(diff)  # seeded


def test_paired_table_calls_a_win_only_outside_the_noise():
    rng = np.random.default_rng(2)
    rows = []
    for g in range(200):
        base = rng.uniform(0.1, 0.5)
        kind = ["random", "divergent"][g % 2]
        rows += [
            {"group_id": g, "kind": kind, "strategy": "average", "x": base, "z": 0.3},
            {"group_id": g, "kind": kind, "strategy": "better", "x": base + 0.05, "z": 0.2},
            {
                "group_id": g,
                "kind": kind,
                "strategy": "noise",
                "x": base + rng.normal(0, 0.05),
                "z": 0.3,
            },
        ]
    table = paired_table(pd.DataFrame(rows), {"x": True, "z": False}).set_index(
        ["cell", "strategy"]
    )
    assert table.loc[("all", "better"), "x verdict"] == "win"
    assert table.loc[("all", "better"), "z verdict"] == "win"  # lower zRecall-like is better
    assert table.loc[("all", "better"), "x Δ"] == pytest.approx(0.05)
    assert table.loc[("all", "noise"), "x verdict"] == "—"
    assert table.loc[("divergent", "better"), "groups"] == 100


def test_distinct_lists_counted_against_the_average():
    tops = {
        (0, "average"): (1, 2, 3), (1, "average"): (4, 5, 6),
        (0, "same"): (1, 2, 3), (1, "same"): (4, 5, 6),
        (0, "reordered"): (2, 1, 3), (1, "reordered"): (4, 5, 7),
    }  # fmt: skip
    table = distinct_from_base(tops, k=3).set_index("strategy")
    assert table.loc["same", "top-3 differs from average"] == 0
    assert table.loc["reordered", "top-3 differs from average"] == 2
    assert table.loc["reordered", "differs as a set"] == 1
    assert table.loc["average", "distinct lists"] == 2


def test_run_folds_pools_independent_splits_and_scores_named_selectors(embedded):
    def worst_first(pred: np.ndarray, k: int, tiebreak=None):  # the opposite of average
        chosen = group.top_k(-pred.mean(0), k)
        return group.Selection(chosen, pred.mean(0)[chosen], np.full(len(chosen), -1))

    runs = run_folds(
        embedded,
        ["popularity"],
        create,
        {"average": group.STRATEGIES["average"].select, "worst": worst_first},
        fold_seeds=(1, 2),
        count=3,
        sizes=(2, 5),
    )
    table = runs.per_group("popularity")
    assert sorted(table["fold"].unique()) == [1, 2]
    assert set(table["strategy"]) == {"average", "worst", OWN}
    assert set(table["size"]) == {2, 5}
    assert table["group_id"].nunique() == len(table) // 3  # ids never repeat across splits
    assert np.array_equal(runs.first_split.new_users, split_f(embedded, seed=1).new_users)
    by = summarise(table).set_index("strategy")
    assert by.loc["average", "mean_ndcg"] > by.loc["worst", "mean_ndcg"]
    assert by.loc["worst", "zero_recall"] > by.loc["average", "zero_recall"]
