"""Protocol Elicit per tap and G after taps: one card per tap, answers only from the answerable
half, tables checked by hand, and a model that ignores answers scoring exactly the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.splits import split_f
from engine.evaluate import elicit_setup as es
from engine.evaluate import protocol_elicit_taps as pt
from engine.evaluate import protocol_g_taps as gt
from engine.evaluate.elicit_setup import Member
from engine.evaluate.group_setup import build_pool
from engine.models import create


@pytest.fixture(scope="module")
def split(embedded):
    return split_f(embedded, seed=1)


def test_one_card_per_tap_and_test_films_are_withheld_not_unseen(monkeypatch):
    member = Member(0, {5: 4.0, 7: 2.5}, np.array([6]), np.array([5.0]))
    calls = []

    def next_films(model, catalogue, rated, unseen, n, strategy, passed):
        calls.append((dict(rated), set(unseen), set(passed), n))
        order = [6, 5, 9, 7, 1]
        return [i for i in order if i not in rated and i not in unseen and i not in passed][:n]

    monkeypatch.setattr(es.elicit, "next_films", next_films)
    taps = es.tap_sequence(None, None, member, "any", 4)  # type: ignore[arg-type]
    # test film 6: seen and rated, its stars withheld; 9: "haven't seen it"
    assert taps == [es.Tap(6, None, True), es.Tap(5, 4.0), es.Tap(9, None), es.Tap(7, 2.5)]
    assert [c[3] for c in calls] == [1, 1, 1, 1]
    # the strategy is never told the withheld film was unseen: only not to ask it again
    assert calls[2] == ({5: 4.0}, set(), {6}, 1)
    assert calls[3] == ({5: 4.0}, {9}, {6}, 1)
    assert [t.rated for t in taps] == [True, True, False, True]


def test_a_model_sees_stars_and_unseen_answers_never_withheld_films():
    taps = [es.Tap(6, None, True), es.Tap(5, 4.0), es.Tap(9, None), es.Tap(7, 2.5)]
    seen = es.answers_after(taps)
    assert seen.items.tolist() == [5, 7] and seen.values.tolist() == [4.0, 2.5]
    assert seen.unseen.tolist() == [9]  # 6 is a test film: neither stars nor "unseen"
    assert seen.seen.tolist() == []


def test_paired_difference_by_hand():
    delta, lo, hi = pt.paired(np.array([1.0, 0.5, np.nan]), np.array([0.5, 0.5, 0.2]))
    assert delta == pytest.approx(0.25)  # the NaN member is left out
    assert 0.0 <= lo <= delta <= hi <= 0.5


def test_tables_by_hand():
    base = {
        "ndcg": np.array([0.2, 0.4]),
        "recall": np.array([0.1, 0.1]),
        "ratings": np.zeros(2),
        "stars": np.zeros(2),
    }
    mine = {
        "ndcg": np.array([0.3, 0.6]),
        "recall": np.array([0.2, 0.1]),
        "ratings": np.array([2.0, 2.0]),
        "stars": np.array([1.0, 2.0]),
    }
    own = {**mine, "ndcg": np.array([0.2, 0.6])}
    draw = pt.DrawResult(
        1, 2, {(pt.BASELINE, 2): base, ("s", 2): mine, ("s" + pt.RATINGS_ONLY, 2): own}, {}
    )
    table = pt.per_tap_table([draw]).set_index("elicitation")
    assert table.loc["s", "ratings per tap"] == pytest.approx(1.0)  # 2 ratings / 2 taps
    assert table.loc["s", "stars seen per tap"] == pytest.approx(0.75)  # 1.5 seen / 2 taps
    assert table.loc["s", "NDCG ÷ baseline (median of draws)"] == pytest.approx(1.5)
    assert str(table.loc["s", "NDCG@10 Δ [95% CI]"]).startswith("+0.1500")
    ways = pt.fold_in_table([draw])
    row = ways[ways["figure"] == "NDCG@10"].iloc[0]
    assert row["elicitation"] == "s" and row["that way"] == pytest.approx(0.4)
    assert row["card fold-in"] == pytest.approx(0.45)
    assert str(row["Δ [95% CI]"]).startswith("+0.0500")  # the card fold-in minus the own one


def test_a_model_that_ignores_answers_scores_exactly_the_baseline(split):
    model = create("popularity")
    model.fit(split.train)
    draw = pt.run_draw(model, split, 1, ("popularity", "adaptive"), (1, 5), ("adaptive",), limit=6)
    for name in ("popularity", "adaptive", "adaptive" + pt.NO_UNSEEN, "adaptive" + pt.RATINGS_ONLY):
        for t in (1, 5):
            got, base = draw.figures[(name, t)], draw.figures[(pt.BASELINE, t)]
            assert np.allclose(got["ndcg"], base["ndcg"], equal_nan=True)
            assert np.all(got["ratings"] <= t) and np.all(got["stars"] <= got["ratings"])
    assert np.all(
        draw.figures[("adaptive", 5)]["ratings"] >= draw.figures[("adaptive", 1)]["ratings"]
    )


def test_group_members_answer_only_from_their_non_evaluation_part(split):
    pool = build_pool(split)
    known = gt.known_parts(split, pool)
    assert len(known.answerable) == len(pool.users)
    for r, u in enumerate(pool.users):
        rows = split.held.user_rows(int(u))
        answerable, evaluated = set(known.answerable[r]), set(known.evaluation[r].tolist())
        assert not answerable & evaluated
        assert len(answerable) + len(evaluated) == len(rows)
        assert set(pool.revealed[r][0].tolist()) <= answerable  # the 10 revealed are answerable
        assert set(pool.relevant[r].items.tolist()) <= evaluated


def test_group_table_by_hand():
    rows = []
    for gid, (full, crowd, taps) in enumerate([(0.4, 0.2, 0.3), (0.6, 0.2, 0.5)]):
        for condition, value in ((gt.FULL, full), (gt.CROWD, crowd), ("3 taps", taps)):
            rows.append(
                {
                    "fold": 1,
                    "group_id": gid,
                    "condition": condition,
                    "strategy": "gfar",
                    "ndcg20_mean": value,
                    "ndcg20_min": value / 2,
                }
            )
    table = gt.taps_table(pd.DataFrame(rows), {"3 taps": 2.5}).set_index("condition")
    assert table.loc["3 taps", "nDCG@20"] == pytest.approx(0.4)
    assert table.loc["3 taps", "nDCG@20 ÷ full"] == pytest.approx(0.8)
    assert str(table.loc["3 taps", "nDCG@20 Δ vs full profile"]).startswith("-0.1000")
    assert str(table.loc["3 taps", "nDCG@20 Δ vs non-personalised"]).startswith("+0.2000")
    assert table.loc["3 taps", "ratings per member"] == pytest.approx(2.5)


def test_each_way_of_folding_in_gets_what_it_should(monkeypatch):
    got = []

    class Model:
        def fold_in(self, items, values):
            got.append(("own", items.tolist(), values.tolist()))

        def fold_in_answers(self, answers):
            got.append(("cards", answers.items.tolist(), answers.unseen.tolist()))

    taps = [es.Tap(6, None, True), es.Tap(5, 4.0), es.Tap(9, None), es.Tap(7, 2.5)]
    for way in pt.FOLD_INS:
        pt.fold_in(Model(), taps, way)  # type: ignore[arg-type]
    assert got == [
        ("cards", [5, 7], [9]),  # the app's: stars and "haven't seen it"; never the withheld 6
        ("cards", [5, 7], []),
        ("own", [5, 7], [4.0, 2.5]),
    ]
