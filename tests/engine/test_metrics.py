"""Metrics against hand-computed values and against a plain per-user reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.metrics import coverage, list_metrics, mae, rmse, topn_metrics


def test_rmse_mae_hand_computed():
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    assert rmse(torch.tensor([0.5, 1.5]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    assert math.isnan(rmse([], []))
    with pytest.raises(ValueError, match="predictions"):
        rmse([1, 2], [1])


def test_topn_hand_computed_case():
    # ranking 0,1,2,3,4; relevant 1 and 3; top 3 = [0, 1, 2] -> one hit at rank 2
    out = topn_metrics(
        np.array([[0.9, 0.8, 0.7, 0.6, 0.5]]), [np.array([], int)], [np.array([1, 3])], k=3
    )
    assert out["topk"].tolist() == [[0, 1, 2]]
    assert out["recall"][0] == pytest.approx(1 / 2)
    assert out["ndcg"][0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert out["map"][0] == pytest.approx((1 / 2) / 2)  # precision@2 · 1 / min(2, 3)
    # pairs (pos > neg): item1 beats 2,4; item3 beats 4 -> 3 of 6
    assert out["auc"][0] == pytest.approx(3 / 6)


def test_excluded_items_are_never_ranked_nor_relevant():
    scores = np.array([[5.0, 4, 3, 2, 1]])
    out = topn_metrics(scores, [np.array([0])], [np.array([2])], k=2)
    assert out["topk"].tolist() == [[1, 2]]
    assert out["recall"][0] == pytest.approx(1.0)
    assert out["ndcg"][0] == pytest.approx(1 / math.log2(3))
    assert out["map"][0] == pytest.approx(0.5)
    assert out["auc"][0] == pytest.approx(2 / 3)  # beats items 3, 4; loses to 1; item 0 excluded
    # a relevant item that is also excluded does not count: this user has nothing relevant
    out = topn_metrics(scores, [np.array([0])], [np.array([0])], k=2)
    assert np.isnan(out["recall"][0]) and np.isnan(out["ndcg"][0]) and np.isnan(out["auc"][0])


def test_ties_broken_by_item_index_and_auc_counts_ties_half():
    out = topn_metrics(np.array([[1.0, 1, 1, 1]]), [np.array([], int)], [np.array([2])], k=2)
    assert out["topk"].tolist() == [[0, 1]]
    assert out["recall"][0] == 0 and out["ndcg"][0] == 0 and out["map"][0] == 0
    assert out["auc"][0] == pytest.approx(0.5)  # a constant scorer is uninformative
    out = topn_metrics(np.array([[1.0, 2, 2, 0]]), [np.array([], int)], [np.array([2])], k=1)
    assert out["topk"].tolist() == [[1]]  # items 1 and 2 tie; the lower index wins
    assert out["recall"][0] == 0
    # relevant item 1 ties item 0 (half), beats items 2 and 3 -> 2.5 / 3
    out = topn_metrics(np.array([[1.0, 1, 0, 0]]), [np.array([], int)], [np.array([1])], k=2)
    assert out["auc"][0] == pytest.approx(2.5 / 3)


def test_user_without_relevant_item_is_nan_not_zero():
    scores = np.array([[3.0, 2, 1], [3.0, 2, 1]])
    out = topn_metrics(scores, [np.array([], int)] * 2, [np.array([0]), np.array([], int)], k=2)
    assert out["recall"][0] == 1 and out["ndcg"][0] == pytest.approx(1) and out["auc"][0] == 1
    for key in ("recall", "ndcg", "map", "auc"):
        assert np.isnan(out[key][1]), key


def test_perfect_and_worst_rankings():
    n = 20
    scores = np.arange(n, 0, -1, dtype=np.float32)[None, :]  # item 0 best
    out = topn_metrics(scores, [np.array([], int)], [np.arange(5)], k=10)
    assert (
        out["recall"][0] == 1
        and out["ndcg"][0] == pytest.approx(1)
        and out["map"][0] == pytest.approx(1)
    )
    assert out["auc"][0] == 1
    out = topn_metrics(scores, [np.array([], int)], [np.arange(15, 20)], k=10)
    assert out["recall"][0] == 0 and out["ndcg"][0] == 0 and out["auc"][0] == 0


def _reference(scores, exclude, relevant, k):
    """Plain per-user loops: the definitions written out, to check the vectorised version."""
    result = {"recall": [], "ndcg": [], "map": [], "auc": [], "topk": []}
    for row, ex, rel in zip(scores, exclude, relevant, strict=True):
        cand = [i for i in range(len(row)) if i not in set(ex)]
        ranked = sorted(cand, key=lambda i: (-row[i], i))[:k]
        rel = set(rel) - set(ex)
        result["topk"].append(ranked)
        if not rel:
            for key in ("recall", "ndcg", "map", "auc"):
                result[key].append(np.nan)
            continue
        hits = [1.0 if i in rel else 0.0 for i in ranked]
        result["recall"].append(sum(hits) / len(rel))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        result["ndcg"].append(dcg / idcg)
        ap = sum(sum(hits[: r + 1]) / (r + 1) for r, h in enumerate(hits) if h)
        result["map"].append(ap / min(len(rel), k))
        neg = [i for i in cand if i not in rel]
        pairs = [(row[p] > row[q]) + 0.5 * (row[p] == row[q]) for p in rel for q in neg]
        result["auc"].append(np.mean(pairs) if neg else np.nan)
    return result


def test_matches_reference_on_random_data_with_many_ties():
    rng = np.random.default_rng(0)
    b, n, k = 30, 40, 7
    scores = rng.integers(0, 6, size=(b, n)).astype(np.float32)  # lots of ties
    exclude = [rng.choice(n, size=rng.integers(0, 10), replace=False) for _ in range(b)]
    relevant = [rng.choice(n, size=rng.integers(0, 8), replace=False) for _ in range(b)]
    got = topn_metrics(torch.from_numpy(scores), exclude, relevant, k=k)
    want = _reference(scores, exclude, relevant, k)
    assert got["topk"].tolist() == want["topk"]
    for key in ("recall", "ndcg", "map", "auc"):
        np.testing.assert_allclose(
            got[key], np.array(want[key], dtype=float), rtol=1e-9, err_msg=key
        )


def test_k_larger_than_catalogue_and_bad_input():
    out = topn_metrics(np.array([[0.1, 0.3]]), [np.array([], int)], [np.array([0])], k=10)
    assert out["topk"].shape == (1, 2) and out["recall"][0] == 1
    with pytest.raises(ValueError, match="NaN"):
        topn_metrics(np.array([[np.nan, 1.0]]), [np.array([], int)], [np.array([0])])
    with pytest.raises(ValueError, match="out of range"):
        topn_metrics(np.array([[0.0, 1.0]]), [np.array([5])], [np.array([0])])
    with pytest.raises(ValueError, match="score rows"):
        topn_metrics(np.array([[0.0, 1.0]]), [], [])


def test_coverage():
    assert coverage(np.array([[0, 1], [1, 2]]), 10) == pytest.approx(0.3)
    assert coverage(np.empty((0, 10), int), 10) == 0.0


def test_list_metrics_equal_topn_metrics_on_the_same_lists():
    rng = np.random.default_rng(7)
    n, k = 60, 10
    lists, exclude, relevant, rows = [], [], [], []
    for _ in range(40):
        order = rng.permutation(n)
        ex = order[k : k + rng.integers(0, 6)]  # excluded films never in the list
        rel = rng.choice(n, size=rng.integers(0, 12), replace=False)  # may overlap ex or be empty
        scores = np.zeros(n)
        scores[order[:k]] = np.arange(k, 0, -1)
        lists.append(order[:k])
        exclude.append(ex)
        relevant.append(rel)
        rows.append(scores)
    want = topn_metrics(np.stack(rows), exclude, relevant, k=k)
    got = list_metrics(lists, exclude, relevant, k=k)
    for key in ("recall", "ndcg"):
        assert np.array_equal(np.isnan(got[key]), np.isnan(want[key]))
        assert np.allclose(got[key][~np.isnan(got[key])], want[key][~np.isnan(want[key])])
    assert np.isnan(got["ndcg"]).any() and (got["ndcg"] > 0).any()  # both cases exercised


def test_list_metrics_by_hand():
    # hits at positions 1 and 3 of a 3-film list; 2 relevant films besides the excluded one
    out = list_metrics([np.array([5, 1, 7])], [np.array([9])], [np.array([5, 7, 9])], k=3)
    ideal = 1 + 1 / np.log2(3)
    assert out["ndcg"][0] == pytest.approx((1 + 1 / np.log2(4)) / ideal)
    assert out["recall"][0] == 1.0
