"""Protocol scorers E, R, F on tiny data with fake models whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.splits import split_f
from engine.data.synthetic import catalogue
from engine.evaluate.protocols import (
    evaluate_e,
    evaluate_f,
    evaluate_r,
    reveal_elicit,
    reveal_random,
    revealed_ratings,
)
from engine.models.base import UserState
from engine.models.baselines import BiasBaseline


def _ratings(rows: list[tuple[int, int, float]], n_items: int) -> Ratings:
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, catalogue(n_items), name="tiny")


class FixedScores:
    """Scores every user with row ``table[u]``; fold-in scores by a fixed item order."""

    kind = "implicit"
    name = "fixed"

    def __init__(self, table: np.ndarray, explicit: bool = False):
        self.table = torch.as_tensor(table, dtype=torch.float32)
        self.kind = "explicit" if explicit else "implicit"
        self.folded: list[tuple[np.ndarray, np.ndarray]] = []

    def score_users(self, users):
        return self.table[torch.as_tensor(np.asarray(users), dtype=torch.long)]

    def score(self, user):
        if isinstance(user, UserState):
            return self.table[0]
        return self.table[int(user)]

    def fold_in(self, items, values):
        self.folded.append((np.asarray(items), np.asarray(values)))
        return UserState(items=np.asarray(items), values=np.asarray(values))

    def predict(self, users, items):
        u, i = (torch.tensor(np.array(x), dtype=torch.long) for x in (users, items))
        return self.table[u, i].numpy()


def test_evaluate_e_matches_known_offset():
    r = _ratings([(1, 1, 4.0), (1, 2, 3.0), (2, 1, 5.0), (2, 3, 1.0)], n_items=3)
    truth = np.zeros((2, 3), np.float32)
    truth[r.users, r.items] = r.values
    model = FixedScores(truth + np.array([[0.5, -0.5, 0.5], [0.5, 0.5, -0.5]]), explicit=True)
    out = evaluate_e(model, r)
    assert out["rmse"] == pytest.approx(0.5) and out["mae"] == pytest.approx(0.5)
    assert out["n_ratings"] == 4
    with pytest.raises(ValueError, match="explicit"):
        evaluate_e(FixedScores(truth), r)


def test_evaluate_r_excludes_train_and_counts_only_users_with_liked_test():
    # 3 users, 6 films. user 0 liked film 2 in test, trained on films 0, 1.
    train = _ratings([(1, 1, 5.0), (1, 2, 5.0), (2, 1, 3.0), (3, 1, 4.0), (3, 6, 4.0)], 6)
    test_rows = [(1, 3, 5.0), (2, 4, 2.0), (3, 5, 4.5), (3, 4, 1.0)]
    test = Ratings.from_frames(
        pd.DataFrame(test_rows, columns=["userId", "movieId", "rating"]), catalogue(6)
    )
    # train films score highest for user 0: they must be skipped, so film 2 ranks first
    table = np.array(
        [
            [9, 8, 7, 1, 1, 1],
            [0, 0, 0, 0, 0, 0],
            [9, 3, 0, 5, 1, 2],  # user 2: films 0, 5 in train; order 3, 1, 4 -> liked 4 third
        ],
        dtype=np.float32,
    )
    out = evaluate_r(FixedScores(table), train, test, k=2, per_user=True)
    assert out["n_users"] == 2  # user 1 has no test rating >= 4
    ndcg = out["per_user"]["ndcg"]
    assert ndcg[0] == pytest.approx(1.0)
    assert ndcg[1] == 0.0  # liked film 4 is ranked 3rd, outside the top 2
    assert out["recall"] == pytest.approx(0.5)
    # user 2's candidates: films 1,2,3,4 with scores 3,0,5,1 -> liked film 4 beats only film 2
    # -> 1/3; user 0's liked film 2 (score 7) beats films 3, 4, 5 -> 1
    assert out["auc"] == pytest.approx((1 + 1 / 3) / 2)
    np.testing.assert_array_equal(out["per_user"]["topk"], [[2, 3], [3, 1]])
    assert out["coverage"] == pytest.approx(3 / 6)


def test_evaluate_r_batches_give_the_same_answer():
    rng = np.random.default_rng(3)
    rows = {
        (u, i): float(rng.integers(1, 6))
        for u in range(1, 41)
        for i in rng.choice(30, 8, replace=False) + 1
    }
    r = _ratings([(u, i, v) for (u, i), v in rows.items()], 30)
    test_mask = np.random.default_rng(0).random(len(r)) < 0.3
    train, test = r.subset(~test_mask), r.subset(test_mask)
    model = FixedScores(rng.normal(size=(r.n_users, 30)))
    one = evaluate_r(model, train, test, batch=1000)
    many = evaluate_r(model, train, test, batch=3)
    for key in ("recall", "ndcg", "map", "auc", "coverage", "n_users"):
        assert one[key] == pytest.approx(many[key]), key
    assert 0 < one["n_users"] <= 40


@pytest.fixture
def fold_split(planted):
    return split_f(planted.ratings)


def test_reveal_random_is_seeded_and_partitions_each_users_ratings(fold_split):
    a, b = reveal_random(fold_split, 5), reveal_random(fold_split, 5)
    assert [x.user for x in a] == fold_split.new_users.tolist()
    for ra, rb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ra.shown, rb.shown)
        rows = fold_split.held.user_rows(ra.user)
        assert len(ra.shown) == 5
        assert sorted(np.concatenate([ra.shown, ra.hidden]).tolist()) == sorted(rows.tolist())
    other = reveal_random(fold_split, 5, seed=7)
    assert any(not np.array_equal(x.shown, y.shown) for x, y in zip(a, other, strict=True))


def test_evaluate_f_folds_in_exactly_the_revealed_ratings_and_scores_the_hidden(fold_split):
    held = fold_split.held
    n = held.n_items
    # explicit model predicting 3.0 everywhere: rmse is the pooled RMS of (hidden - 3)
    model = FixedScores(np.full((1, n), 3.0), explicit=True)
    reveals = reveal_random(fold_split, 10)
    out = evaluate_f(model, fold_split, k_reveal=10, reveals=reveals)
    assert len(model.folded) == len(fold_split.new_users)
    for (items, values), rv in zip(model.folded, reveals, strict=True):
        np.testing.assert_array_equal(items, held.items[rv.shown])
        np.testing.assert_array_equal(values, held.values[rv.shown])
    hidden = np.concatenate([held.values[r.hidden] for r in reveals])
    assert out["rmse"] == pytest.approx(float(np.sqrt(np.mean((hidden - 3.0) ** 2))), rel=1e-5)
    assert out["revealed"] == 10 and out["foldin_ms"] >= 0
    assert out["auc"] == pytest.approx(0.5)  # a constant scorer
    # the oracle: score = the member's own hidden ratings -> every liked film first
    oracle_rows = []
    for r in reveals:
        row = np.zeros(n, np.float32)
        row[held.items[r.hidden]] = held.values[r.hidden] + 1
        oracle_rows.append(row)

    class Oracle(FixedScores):
        def fold_in(self, items, values):
            state = super().fold_in(items, values)
            state.extra["row"] = len(self.folded) - 1
            return state

        def score(self, user):
            return self.table[user.extra["row"]]

    best = evaluate_f(Oracle(np.stack(oracle_rows)), fold_split, reveals=reveals)
    assert best["ndcg"] == pytest.approx(1.0) and best["auc"] == pytest.approx(1.0)
    assert np.isnan(best["rmse"])  # implicit: no star RMSE


def test_reveal_elicit_answers_only_rated_films_and_stops(fold_split):
    held = fold_split.held
    calls = []

    def by_index(model, catalogue, rated, unseen, n):
        calls.append(n)
        assert catalogue is fold_split.train
        asked = set(rated) | unseen
        return [i for i in range(catalogue.n_items) if i not in asked][:n]

    reveals = reveal_elicit(None, fold_split, 5, by_index, ask_batch=4, max_asks=60)
    for rv in reveals:
        items = held.user_items(rv.user)[0]
        rated_sorted = np.sort(items)
        first = rated_sorted[rated_sorted < 60][:5]  # index order, at most 60 asks
        assert sorted(held.items[rv.shown].tolist()) == first.tolist()
        assert rv.asked <= 60
        if len(first) == 5:
            assert rv.asked == first[-1] + 1  # stops right after the 5th answer
        assert len(np.intersect1d(rv.shown, rv.hidden)) == 0
    assert max(calls) <= 4
    extra = revealed_ratings(fold_split, reveals)
    assert len(extra) == sum(len(r.shown) for r in reveals)
    assert set(np.unique(extra.users)) <= set(fold_split.new_users.tolist())


def test_evaluate_f_with_elicit_mode_and_real_model(fold_split):
    model = BiasBaseline().fit(fold_split.train)

    def popular(model, catalogue, rated, unseen, n):
        order = np.argsort(-catalogue.item_counts(), kind="stable")
        asked = set(rated) | unseen
        return [int(i) for i in order if i not in asked][:n]

    out = evaluate_f(model, fold_split, k_reveal=5, mode="elicit", elicit=popular)
    assert 0 <= out["ndcg"] <= 1 and 0 <= out["recall"] <= 1
    assert 0.1 < out["rmse"] < 1.5
    with pytest.raises(ValueError, match="elicit"):
        evaluate_f(model, fold_split, mode="elicit")
