"""The published fair re-rankers (GFAR, GreedyLM, SPGreedy, XPO) on small hand-computed
examples, and the rule that ties never fall to catalogue position in any strategy."""

from __future__ import annotations

import numpy as np
import pytest

from engine import group
from engine.group.fairness import borda_relevance, member_top_lists
from engine.group.xpo import dominated_counts, pareto_candidates, xpo_probability

# Two members, five films (the worked example for GFAR, GreedyLM and SPGreedy):
#   A: stars [5, 4, 3, 1, 2]      → A's top-3 list: film 0, film 1, film 2
#   B: stars [1.5, 4.5, 2, 5, 3.5] → B's top-3 list: film 3, film 1, film 4
#   group means: [3.25, 4.25, 2.5, 3.0, 2.75]
PAIR = np.array([[5.0, 4.0, 3.0, 1.0, 2.0], [1.5, 4.5, 2.0, 5.0, 3.5]])


def test_borda_relevance_is_points_over_the_members_total():
    # N = 20: points 19, 18, ..., 0 (rank 1 → N − 1), total 190; each member's sum is 1
    rel = borda_relevance(np.arange(40).reshape(2, 20), top_n=20)
    assert rel[0, 0] == pytest.approx(19 / 190) and rel[0, 1] == pytest.approx(18 / 190)
    assert rel[0, 19] == 0.0
    assert np.allclose(rel.sum(axis=1), 1.0)
    # N = 3: points 2, 1, 0 over a total of 3
    assert np.allclose(borda_relevance(np.array([[7, 8, 9]]), top_n=3), [[2 / 3, 1 / 3, 0.0]])


def test_gfar_hand_computed_example():
    # top_n = 3: p(rel) for A: film 0 → 2/3, film 1 → 1/3, film 2 → 0;
    #            for B: film 3 → 2/3, film 1 → 1/3, film 4 → 0.     p(u|g) = 1/2.
    # step 1 gains: film 0 ½·⅔ = 1/3, film 1 ½(⅓ + ⅓) = 1/3, film 3 ½·⅔ = 1/3, films 2, 4: 0.
    #   Three-way tie at 1/3 → the group mean decides: film 1 (4.25).
    #   Π(1 − p): A 2/3, B 2/3.
    # step 2: film 0 ½·⅔·⅔ = 2/9, film 3 ½·⅔·⅔ = 2/9 → tie → mean: film 0 (3.25 > 3.0).
    #   Π: A 2/3·(1 − 2/3) = 2/9, B 2/3.
    # step 3: film 3 ½·⅔·⅔ = 2/9; films 2 and 4 gain nothing → film 3.
    # steps 4–5: every gain is 0 → the average order: film 4 (2.75), then film 2 (2.5), not
    #   the catalogue order (2, 4).
    picked = group.gfar_selector(top_n=3)(PAIR, 5, None)
    assert picked.positions.tolist() == [1, 0, 3, 4, 2]
    assert np.allclose(picked.scores, [1 / 3, 2 / 9, 2 / 9, 0, 0])
    assert picked.filled.tolist() == [False, False, False, True, True]
    assert picked.served.tolist()[1:] == [0, 1, -1, -1]  # film 0 is A's, film 3 is B's
    assert picked.lists[:, 0].tolist() == [True, True]  # film 1 is in both lists


def test_gfar_with_published_n20_prefers_films_in_several_lists():
    # 3 members, 61 films. Film 0 is everyone's 2nd (4.5★); member r's own films are
    # 1 + 20r … 20 + 20r: their #1 at 5★, the rest 4.4★ falling; other members' films 1★.
    # Each list: own #1, film 0, 18 own films; the lists share only film 0.
    pred = np.full((3, 61), 1.0)
    pred[:, 0] = 4.5
    for r in range(3):
        own = np.arange(1 + 20 * r, 21 + 20 * r)
        pred[r, own] = np.concatenate([[5.0], np.linspace(4.4, 3.0, 19)])
    picked = group.gfar_selector()(pred, 4, None)
    # film 0: ⅓·(18 + 18 + 18)/190 = 18/190 beats any #1's ⅓·19/190
    assert picked.positions[0] == 0
    assert picked.scores[0] == pytest.approx(18 / 190)
    # then each member's own #1 at ⅓·19/190·(1 − 18/190), above any rank-3 film's ⅓·17/190·…
    assert set(picked.positions[1:].tolist()) == {1, 21, 41}
    assert np.allclose(picked.scores[1:], 19 / 190 * (1 - 18 / 190) / 3)


def test_greedy_lm_hand_computed_example():
    # utilities start at (0, 0); a film's gain is how much it raises min(u_A, u_B).
    # step 1: film 1 raises both by 1/3 → gain 1/3; films 0 and 3 raise one member → gain 0.
    # step 2: u = (1/3, 1/3): no film raises both → all gains 0 → the average order: film 0.
    # step 3: u = (1, 1/3): film 3 lifts B to 1 → gain 2/3.
    # steps 4–5: u = (1, 1): zero gains, average order: film 4, film 2.
    # score = the least-served member's utility after each pick: 1/3, 1/3, 1, 1, 1
    picked = group.greedy_lm_selector(top_n=3)(PAIR, 5, None)
    assert picked.positions.tolist() == [1, 0, 3, 4, 2]
    assert np.allclose(picked.scores, [1 / 3, 1 / 3, 1, 1, 1])
    assert picked.filled.tolist() == [False, True, False, True, True]
    assert picked.served.tolist()[2] == 1  # film 3 was picked for B, the least served


def test_sp_greedy_hand_computed_example():
    # m = 1, Δ = 1: A is satisfied by film 0 (their #1), B by film 3. Both gain ½; the mean
    # settles the tie (film 0: 3.25 > film 3: 3.0); then nobody is left: the average order.
    picked = group.sp_greedy_selector()(PAIR, 5, None)
    assert picked.positions.tolist() == [0, 3, 1, 4, 2]
    assert np.allclose(picked.scores, [0.5, 0.5, 0, 0, 0])
    assert picked.served.tolist() == [0, 1, -1, -1, -1]


def test_dominance_counts_and_pareto_levels():
    # rank vectors (A, B), lower is better: f0 (1, 3), f1 (2, 1), f2 (3, 4), f3 (4, 2)
    # f2 is dominated by f0 and f1; f3 by f1; f0 and f1 by nobody
    ranks = np.array([[1, 2, 3, 4], [3, 1, 4, 2]])
    assert dominated_counts(ranks).tolist() == [0, 0, 2, 1]
    assert pareto_candidates(ranks, top_n=2).tolist() == [0, 1]  # the 0-level set has 2
    assert pareto_candidates(ranks, top_n=3).tolist() == [0, 1, 3]  # ≤ 1 dominator: 3 films


def test_xpo_picks_the_compromise_first():
    # top_n = 2. A's list: film 0, film 1; B's: film 2, film 1. Rank vectors (absent = 3):
    # f0 (1, 3), f1 (2, 2), f2 (3, 1): none dominates another, all three are candidates.
    # With weights (w, 1 − w), w uniform: sums f0 3 − 2w, f1 2, f2 1 + 2w. The two lowest are
    # {f0, f1} when w > ½ and {f2, f1} when w < ½: P(f1) = 1, P(f0) = P(f2) = ½.
    # Film 3 is in no list: after the Pareto candidates, in the average order.
    pred = np.array([[5.0, 4.0, 1.0, 2.0], [1.0, 4.0, 5.0, 2.0]])
    picked = group.xpo_selector(top_n=2)(pred, 4, None)
    assert picked.positions[0] == 1 and picked.scores[0] == 1.0
    assert set(picked.positions[1:3].tolist()) == {0, 2}
    assert np.allclose(picked.scores[1:3], 0.5, atol=0.05)
    assert picked.positions[3] == 3 and picked.filled.tolist() == [False, False, False, True]
    ranks = np.array([[1, 2, 3], [3, 2, 1]])
    assert np.allclose(xpo_probability(ranks, 2, 4000, 0), [0.5, 1.0, 0.5], atol=0.03)


def test_member_lists_break_ties_by_the_group_then_the_tiebreak():
    # A is indifferent between films 0–3; the group mean prefers 3, then the tie-break 2 over 1
    pred = np.array([[4.0, 4.0, 4.0, 4.0], [1.0, 2.0, 2.0, 3.0]])
    lists = member_top_lists(pred, 4, tiebreak=np.array([0.0, 0.0, 1.0, 0.0]))
    assert lists[0].tolist() == [3, 2, 1, 0]


# ---------------------------------------------------------------------------- no catalogue order


def _tied_block_room() -> tuple[np.ndarray, np.ndarray]:
    """Three members over 60 films. Films 0–8: each member loves three of their own. Films
    9–59: every member predicts exactly 2.5★ (every strategy's key ties on them). The
    tie-break (a prior) rises with the index, so a meaningful order is *descending* index."""
    pred = np.full((3, 60), 2.5)
    for r in range(3):
        pred[r, 3 * r : 3 * r + 3] = [5.0, 4.8, 4.6]
    return pred, np.linspace(3.0, 4.0, 60)


@pytest.mark.parametrize("name", list(group.STRATEGIES))
def test_no_strategy_fills_tied_films_in_catalogue_order(name):
    pred, prior = _tied_block_room()
    picked = group.blend(pred, name, 40, tiebreak=prior)
    block = [int(i) for i in picked.positions if i >= 9]
    assert len(block) >= 25
    assert block == sorted(block, reverse=True), f"{name} filled tied films by index: {block}"


@pytest.mark.parametrize("name", ["gfar", "greedy_lm", "sp_greedy", "xpo", "fair"])
def test_zero_gain_fills_follow_the_group_average(name):
    # beyond everyone's lists the strategies see no difference: the mean stars must decide,
    # and here the mean *falls* with the index while no tie-break is given
    pred, _ = _tied_block_room()
    pred[:, 9:] = np.linspace(3.0, 1.0, 51)[None, :] + np.array([[0.0], [0.1], [-0.1]])
    pred[:, 9:] = pred[:, 9:][:, ::-1]  # now the mean *rises* with the index
    picked = group.blend(pred, name, 45)
    filled = picked.positions[picked.filled]
    assert len(filled) >= 5
    mean = pred.mean(axis=0)
    assert np.all(np.diff(mean[filled]) <= 0), f"{name}: fills not in the average order"
    block = [int(i) for i in filled if i >= 9]
    assert block == sorted(block, reverse=True) and len(block) >= 5


@pytest.mark.parametrize("name", list(group.STRATEGIES))
def test_scores_are_monotone_with_the_rank(name):
    rng = np.random.default_rng(7)
    pred = rng.uniform(0.5, 5.0, (4, 80))
    strat = group.STRATEGIES[name]
    picked = strat.select(pred, 25, None)
    scores = picked.scores
    if name == "average_without_misery":  # falls within each part: unvetoed, then vetoed
        vetoed = picked.filled
        assert not np.any(vetoed[:-1] & ~vetoed[1:])  # vetoed films never precede others
        for part in (scores[~vetoed], scores[vetoed]):
            assert np.all(np.diff(part) <= 1e-12)
    elif strat.score_order == "ascending":
        assert np.all(np.diff(scores) >= -1e-12)
    else:
        assert np.all(np.diff(scores) <= 1e-12), scores
