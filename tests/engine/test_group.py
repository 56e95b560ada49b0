"""Group blending: each strategy on hand-made matrices with known answers, then ``recommend``
end to end on a small catalogue with a fake model whose predictions we control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine import group
from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue as synthetic_catalogue
from engine.group import Filters, Member, recommend
from engine.group.novelty import novelty_rerank, seen_probability
from engine.models.base import UserState, as_index_arrays

# ---------------------------------------------------------------------------- pure blends

# two members, four films. Hand-computed:
#   mean  = [3.0, 3.25, 3.5, 3.5]   min = [1, 2, 3.5, 3]   max = [5, 4.5, 3.5, 4]
#   product = [5, 9, 12.25, 12]
P = np.array([[5.0, 2.0, 3.5, 4.0], [1.0, 4.5, 3.5, 3.0]])


def order(strategy: str, pred: np.ndarray = P, k: int = 4, tiebreak=None) -> list[int]:
    return group.blend(pred, strategy, k, tiebreak).positions.tolist()


def test_average_ranks_by_mean_and_breaks_ties_by_the_tiebreak():
    # films 2 and 3 tie at 3.5: the caller's tie-break (e.g. the prior) decides, never the index
    assert order("average", tiebreak=np.array([0.0, 0.0, 1.0, 2.0])) == [3, 2, 1, 0]
    assert order("average", tiebreak=np.array([0.0, 0.0, 2.0, 1.0])) == [2, 3, 1, 0]


def test_least_misery_ranks_by_the_unhappiest_member():
    assert order("least_misery") == [2, 3, 1, 0]
    assert group.blend(P, "least_misery", 1).scores.tolist() == [3.5]


def test_most_pleasure_ranks_by_the_happiest_member():
    assert order("most_pleasure") == [0, 1, 3, 2]


def test_average_without_misery_puts_vetoed_films_last():
    # films 0 (min 1★) and 1 (min 2★) are vetoed at 3★; among them the mean still orders
    assert order("average_without_misery") == [2, 3, 1, 0]
    pred = np.array([[5.0, 3.2, 4.9], [2.9, 3.1, 4.0]])  # film 0 has the best mean but a 2.9
    assert order("average", pred, 3) == [2, 0, 1]
    assert order("average_without_misery", pred, 3) == [2, 1, 0]


def test_multiplicative_orders_by_product():
    assert order("multiplicative") == [2, 3, 1, 0]
    scores = group.blend(P, "multiplicative", 4).scores
    assert np.allclose(scores, np.sqrt([12.25, 12, 9, 5]))  # geometric mean, product's order


def test_borda_points_and_ties():
    pred = np.array([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [3.0, 1.0, 2.0]])
    # points per member: [1, .5, 0], [0, 1, .5], [1, 0, .5] → means [2/3, 1/2, 1/3]
    assert np.allclose(group.borda(pred), [2 / 3, 1 / 2, 1 / 3])
    assert order("borda", pred, 3) == [0, 1, 2]
    # tied films share their average points
    assert np.allclose(group.rank_points(np.array([[4.0, 4.0, 1.0]])), [[0.75, 0.75, 0.0]])


def test_borda_ignores_each_members_scale():
    # member 0 shouts (5★ vs 1★), member 1 whispers (1.3★ vs 1.0★) but prefers film 1.
    # Borda points: member 0 [1, .5, 0], member 1 [0, 1, .5] → film 1 wins
    loud = np.array([[5.0, 1.0, 0.5], [1.0, 1.3, 1.2]])
    assert order("average", loud, 3) == [0, 1, 2]
    assert order("borda", loud, 3) == [1, 0, 2]


def test_fair_covers_the_outvoted_member_where_average_does_not():
    # three members love films 0–3 (which the fourth hates); the fourth loves film 5 (3★ for
    # the others). Means: 4.0, 3.925, 3.85, 3.775, 2.0, 3.5
    pred = np.full((4, 6), 2.0)
    pred[:3, :4] = [5.0, 4.9, 4.8, 4.7]
    pred[:3, 5] = 3.0
    pred[3, :4] = 1.0
    pred[3, 5] = 5.0
    assert order("average", pred, 3) == [0, 1, 2]
    assert order("fair", pred, 3) == [0, 5, 1]  # the group's favourite, then the outvoted one's


def test_top_k_settles_ties_by_the_tiebreaks_in_turn():
    key = np.array([1.0, 2.0, 2.0, 2.0, 0.0])
    assert group.top_k(key, 2).tolist() == [1, 2]  # no tie-break: position, the last resort
    assert group.top_k(key, 10).tolist() == [1, 2, 3, 0, 4]
    first = np.array([0.0, 1.0, 5.0, 5.0, 0.0])
    second = np.array([0.0, 9.0, 1.0, 2.0, 0.0])
    assert group.top_k(key, 3, [first, second]).tolist() == [3, 2, 1]
    assert group.top_k(key, 2, first).tolist() == [2, 3]
    assert group.top_k(np.empty(0), 3).tolist() == []


def test_every_strategy_returns_k_distinct_films():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.5, 5.0, (5, 40))
    for name in group.STRATEGIES:
        picked = group.blend(pred, name, 10)
        chosen = picked.positions
        assert len(chosen) == len(set(chosen.tolist())) == 10, name
        assert len(picked.scores) == len(picked.served) == 10, name


def test_calibration_removes_scale():
    raw = np.array([np.arange(10.0) * 1000.0, np.arange(10.0)[::-1] * 0.001])
    stars = group.calibrate(raw, typical=3.5)
    assert np.allclose(stars[0], stars[1][::-1])  # same shape of scale whatever the raw units
    assert stars.max() == pytest.approx(5.0) and stars.min() == pytest.approx(0.5)
    assert np.all(np.diff(stars[0]) > 0)  # strictly increasing: no artificial ties


# ---------------------------------------------------------------------------- recommend


class FakeModel:
    """Explicit model: a member's predicted stars are the row of ``TASTE`` named by their best
    rated film's taste group (film index mod 3). We control exactly what each member wants."""

    kind = "explicit"

    def __init__(self, rows: np.ndarray, kind: str = "explicit"):
        self.rows = rows
        self.n_items = rows.shape[1]
        self.kind = kind
        self.calls = 0

    def fold_in(self, items, values) -> UserState:
        items, values = as_index_arrays(items, values, self.n_items)
        self.calls += 1
        return UserState(
            items=items, values=values, extra={"row": int(items[np.argmax(values)]) % 3}
        )

    def score(self, state: UserState) -> torch.Tensor:
        return torch.tensor(self.rows[state.extra["row"]], dtype=torch.float32)

    def expected_stars(self, state: UserState) -> torch.Tensor | None:
        return None  # explicit: its scores are the stars; implicit: it knows no stars


N = 30


@pytest.fixture(scope="module")
def catalogue() -> Ratings:
    # film i is rated by (i % 7) + 1 users with i-dependent stars: counts and means differ
    rows = [(u, i + 1, 1.0 + (i * 7 + u) % 9 / 2) for i in range(N) for u in range(i % 7 + 1)]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, synthetic_catalogue(N), name="tiny")


@pytest.fixture(scope="module")
def model() -> FakeModel:
    rng = np.random.default_rng(1)
    return FakeModel(np.round(rng.uniform(1.0, 5.0, (3, N)), 2))


def room(*names_and_films: tuple[str, list[int]]) -> list[Member]:
    return [Member(n, np.array(f), np.full(len(f), 4.5, np.float32)) for n, f in names_and_films]


def test_frame_shape_and_columns(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1, 4]))
    out = recommend(model, catalogue, members, k=5)
    assert list(out.columns[:8]) == [
        "rank",
        "item",
        "movieId",
        "label",
        "year",
        "genres",
        "group_score",
        "reason",
    ]
    assert list(out.columns[8:]) == ["pred:Ana", "pred:Ben"]
    assert out["rank"].tolist() == [1, 2, 3, 4, 5]
    assert (out["movieId"] == catalogue.movies["movieId"].to_numpy()[out["item"]]).all()
    # predicted stars are the model's rows for each member's taste (Ana → row 0, Ben → row 1)
    assert np.allclose(out["pred:Ana"], model.rows[0][out["item"]], atol=0.01)
    assert np.allclose(out["pred:Ben"], model.rows[1][out["item"]], atol=0.01)


def test_member_ranks_say_where_each_pick_is_in_each_members_own_list(model, catalogue):
    """``attrs["member_ranks"]``: a pick's place in each member's own ranking of the films the
    room can be shown (films better for that member, counted by hand), capped at 10; a member
    who rated nothing has no list of their own."""
    members = room(("Ana", [0]), ("Ben", [1, 4]), ("Quiet", []))
    out = recommend(model, catalogue, members, strategy="average", k=N - 3)
    ranks = out.attrs["member_ranks"]
    cand = np.setdiff1d(np.arange(N), [0, 1, 4])
    for name, row in (("Ana", 0), ("Ben", 1)):  # rows by the best rated film's index mod 3
        stars = model.rows[row]
        by_hand = [min(int((stars[cand] > stars[i]).sum()), 10) for i in out["item"]]
        assert ranks[name] == by_hand
        assert sorted(by_hand)[:10] == list(range(10))  # all of their top 10 is in the list
    assert ranks["Quiet"] == [10] * len(out)


def test_average_matches_a_direct_computation(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]))
    out = recommend(model, catalogue, members, strategy="average", k=N)
    rows = model.rows.astype(np.float32).astype(np.float64)  # what the model's tensors hold
    mean = (rows[0] + rows[1]) / 2
    mean[[0, 1]] = -np.inf  # rated films are never picked
    prior = group.prior_scores(catalogue)  # equal means fall back to the prior, never the index
    expected = np.lexsort((np.arange(N), -prior, -mean))[: N - 2]
    assert out["item"].tolist() == expected.tolist()
    assert np.allclose(out["group_score"], mean[expected], atol=1e-3)


def test_excludes_rated_and_watched_films(model, catalogue):
    members = room(("Ana", [0, 3]), ("Ben", [1]))
    out = recommend(model, catalogue, members, k=N, exclude=[5, 6])
    assert not {0, 1, 3, 5, 6} & set(out["item"])
    assert len(out) == N - 5


def test_filters(model, catalogue):
    members = room(("Ana", [0]))
    genres = recommend(model, catalogue, members, k=N, filters=Filters(genres=("Drama", "Horror")))
    assert len(genres) and all(g in ("Drama", "Horror") for g in genres["genres"])
    assert (
        len(genres) == catalogue.movies["genres"].isin(["Drama", "Horror"]).sum()
    )  # film 0: Comedy
    years = recommend(model, catalogue, members, k=N, filters=Filters(years=(1955, 1960)))
    assert sorted(years["year"].tolist()) == list(range(1955, 1961))
    counts = catalogue.item_counts()
    popular = recommend(model, catalogue, members, k=N, filters=Filters(min_ratings=6))
    assert set(popular["item"]) == set(np.flatnonzero(counts >= 6)) - {0}


def test_deterministic(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]), ("Cy", [2]))
    for strategy in group.STRATEGIES:
        a = recommend(model, catalogue, members, strategy=strategy)
        b = recommend(model, catalogue, members, strategy=strategy)
        pd.testing.assert_frame_equal(a, b)


def test_reasons_name_the_right_member(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]))
    out = recommend(model, catalogue, members, strategy="most_pleasure", k=1)
    # the best single prediction among candidates belongs to whoever's row holds it
    rows = model.rows.copy()
    rows[:, [0, 1]] = -np.inf
    owner = ["Ana", "Ben"][int(np.argmax([rows[0].max(), rows[1].max()]))]
    assert f"{owner}'s top match" in out["reason"].iloc[0]
    assert "Ana ~" in out["reason"].iloc[0] and "Ben ~" in out["reason"].iloc[0]


def test_reason_for_a_big_happy_room():
    names = ["Ana", "Ben", "Cy", "Dee"]
    line = group.explain(names, np.array([4.2, 3.9, 4.6, 4.0]), np.array([5, 3, 0, 12]))
    assert line == "everyone ≥ 3.9★; Cy's top match"
    line = group.explain(names, np.array([4.2, 2.1, 4.6, 4.0]), np.array([5, 30, 12, 12]))
    assert "Ben ~2.1" in line and "in Ana's top 10" in line


def test_empty_room_gets_popular_well_rated_films(catalogue):
    out = recommend(None, catalogue, [], k=5)
    prior = group.prior_scores(catalogue)
    counts = catalogue.item_counts()
    assert out["item"].tolist() == np.lexsort((np.arange(N), -counts, -prior))[:5].tolist()
    assert out.attrs["score_label"] == group.PRIOR_LABEL
    assert out["reason"].str.startswith("popular and well rated").all()
    assert not [c for c in out.columns if c.startswith("pred:")]


def test_member_without_ratings_gets_the_prior(model, catalogue):
    members = [Member("Ana", np.array([0]), np.array([4.0], np.float32)), Member("Zed")]
    out = recommend(model, catalogue, members, k=N)
    prior = group.prior_scores(catalogue)
    assert np.allclose(out["pred:Zed"], np.clip(prior[out["item"]], 0.5, 5), atol=0.01)
    # the prior is nobody's "match"
    assert not out["reason"].str.contains(r"Zed's|and Zed|for Zed").any()
    assert model.calls > 0


def test_implicit_scores_are_calibrated_per_member(catalogue):
    # member 0's raw scores are 1000× member 1's, in opposite orders: after calibration
    # neither dominates, so the average ranks both members' top films alike
    raw = np.stack([np.arange(N) * 1000.0, np.arange(N)[::-1] * 1.0, np.zeros(N)])
    model = FakeModel(raw, kind="implicit")
    members = room(("Ana", [3]), ("Ben", [1]))  # Ana → row 0, Ben → row 1
    pred = group.member_predictions(model, catalogue, members)
    assert pred.min() >= 0.5 and pred.max() <= 5.0
    assert np.allclose(pred[0], pred[1][::-1])
    assert np.allclose(group.average(pred), group.average(pred)[::-1])


class StarsAndRanking(FakeModel):
    """Implicit ranking from ``rows`` plus E[rating] from ``stars``, like the hybrid."""

    def __init__(self, rows: np.ndarray, stars: np.ndarray):
        super().__init__(rows, kind="implicit")
        self.stars = stars

    def expected_stars(self, state: UserState) -> torch.Tensor:
        return torch.tensor(self.stars[state.extra["row"]], dtype=torch.float32)


def test_ranking_follows_the_blend_but_members_see_expected_stars(catalogue):
    # ranking prefers high film indices; the star part says the opposite. Picks follow the
    # ranking; the per-member columns and reasons show E[rating], not calibrated ranks.
    ranking = np.tile(np.arange(N, dtype=float), (3, 1))
    stars = np.tile(np.linspace(5.0, 1.0, N), (3, 1))
    model = StarsAndRanking(ranking, stars)
    members = room(("Ana", [0]), ("Ben", [3]))  # both → row 0
    out = recommend(model, catalogue, members, strategy="average", k=3)
    assert out["item"].tolist() == [N - 1, N - 2, N - 3]
    expected = np.round(stars[0, out["item"]], 2)
    assert np.allclose(out["pred:Ana"], expected) and np.allclose(out["pred:Ben"], expected)
    assert f"Ana ~{stars[0, N - 1]:.1f}" in out["reason"].iloc[0]
    blend, shown = group.member_matrices(model, catalogue, members)
    assert np.all(np.diff(blend[0]) > 0) and np.all(np.diff(shown[0]) < 0)


def test_fewer_rows_only_when_candidates_run_out(model, catalogue):
    members = room(("Ana", list(range(N - 3))))
    out = recommend(model, catalogue, members, k=10)
    assert (
        out["item"].tolist() == sorted(out["item"].tolist(), key=lambda i: -model.rows[0][i])
        and len(out) == 3
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "loudest"}, "unknown group strategy"),
        ({"k": 0}, "k must be"),
        ({"members": room(("Ana", [0]), ("ana", [1]))}, "unique"),
        ({"members": [Member("Ana", np.array([0]), np.array([np.nan]))]}, "not a number"),
        ({"members": [Member("Ana", np.array([N + 5]), np.array([4.0]))]}, "not in the catalogue"),
        ({"members": [Member("Ana", np.array([0]), np.array([9.0]))]}, "between"),
        ({"members": [Member("", np.array([0]), np.array([4.0]))]}, "name"),
        ({"filters": Filters(genres=("Western",))}, "unknown genre"),
        ({"filters": Filters(years=(2000, 1990))}, "earlier year first"),
        ({"exclude": [N]}, "excluded films"),
    ],
)
def test_bad_input_gets_a_clear_error(model, catalogue, kwargs, message):
    args = {"members": room(("Ana", [0]))} | kwargs
    with pytest.raises(ValueError, match=message):
        recommend(model, catalogue, **args)


# ---------------------------------------------------------------------------- what the frame says


def test_each_strategy_says_what_its_score_is(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]), ("Cy", [2]))
    for name, strat in group.STRATEGIES.items():
        out = recommend(model, catalogue, members, strategy=name, k=8)
        assert out.attrs["strategy"] == name
        assert out.attrs["score_label"] == strat.score_label and strat.score_label
        assert out.attrs["score_order"] in ("descending", "ascending")
        assert out.attrs["score_scale"] == "stars"  # FakeModel is explicit
        assert out.attrs["novelty"] == 0.0


def test_least_misery_score_and_reason_name_the_least_happy_member(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]), ("Cy", [2]))
    out = recommend(model, catalogue, members, strategy="least_misery", k=5)
    for _, row in out.iterrows():
        stars = {n: row[f"pred:{n}"] for n in ("Ana", "Ben", "Cy")}
        low = min(stars, key=lambda n: stars[n])
        assert row["group_score"] == pytest.approx(stars[low], abs=0.01)
        assert row["reason"].startswith(f"least happy: {low} ~{stars[low]:.1f}★")
    assert out["group_score"].is_monotonic_decreasing


def test_reasons_differ_by_strategy(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]), ("Cy", [2]))
    first = {
        name: recommend(model, catalogue, members, strategy=name, k=3)["reason"].iloc[0]
        for name in group.STRATEGIES
    }
    assert first["average"].startswith("group mean ~")
    assert first["most_pleasure"].startswith("happiest: ")
    assert "top 20" in first["gfar"] and "top 20" in first["fair"]
    assert "ways to weigh your wishes" in first["xpo"]
    assert len(set(first.values())) >= len(first) - 2  # a reason of its own, nearly always


def test_agreeing_strategies_are_named_together(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]))
    frames = {s: recommend(model, catalogue, members, strategy=s, k=5) for s in group.STRATEGIES}
    groups = group.distinct_lists(frames)
    assert sorted(n for names in groups for n in names) == sorted(group.STRATEGIES)
    for names in groups:
        lists = {tuple(frames[n]["item"]) for n in names}
        assert len(lists) == 1  # the same list within a group
    heads = [tuple(frames[names[0]]["item"]) for names in groups]
    assert len(set(heads)) == len(heads)  # different lists across groups


def test_recommend_each_is_recommend_for_every_strategy(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]))
    each = group.recommend_each(model, catalogue, members, k=5, exclude=iter([3]))
    assert list(each) == list(group.STRATEGIES)
    for name, frame in each.items():
        alone = recommend(model, catalogue, members, strategy=name, k=5, exclude=[3])
        pd.testing.assert_frame_equal(frame, alone)
        assert frame.attrs == alone.attrs
    # an empty room: every strategy gives the prior's list
    empty = group.recommend_each(None, catalogue, [], ["average", "gfar"], k=4)
    assert [frame.attrs["strategy"] for frame in empty.values()] == ["prior", "prior"]
    assert empty["gfar"].equals(recommend(None, catalogue, [], k=4))


def test_novelty_trades_enjoyment_for_less_seen_films(model, catalogue):
    members = room(("Ana", [0]), ("Ben", [1]))
    plain = recommend(model, catalogue, members, strategy="average", k=6)
    assert plain.equals(recommend(model, catalogue, members, "average", k=6, novelty=0.0))
    novel = recommend(model, catalogue, members, strategy="average", k=6, novelty=1.0)
    counts = catalogue.item_counts()
    assert counts[novel["item"]].mean() < counts[plain["item"]].mean()
    assert novel.attrs["novelty"] == 1.0
    # the members' own predicted stars are still shown undiscounted
    assert np.allclose(novel["pred:Ana"], model.rows[0][novel["item"]], atol=0.01)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "high", True])
def test_novelty_outside_zero_to_one_is_a_clear_error(model, catalogue, bad):
    with pytest.raises(ValueError, match="novelty must be"):
        recommend(model, catalogue, room(("Ana", [0])), novelty=bad)


def test_novelty_reranks_the_strategys_pool_by_hand():
    # the strategy's pool of 5, best first; one member's P(seen) for those films
    picked = group.Selection(
        np.array([10, 11, 12, 13, 14]), np.array([5.0, 4.9, 4.8, 4.7, 4.6]), np.full(5, -1)
    )
    seen = np.zeros((1, 20))
    seen[0, [10, 11, 12, 13, 14]] = [0.9, 0.8, 0.0, 0.5, 0.0]
    # standing 1, .8, .6, .4, .2 minus ½·seen: .55, .40, .60, .15, .20
    out = novelty_rerank(picked, seen, 0.5, 3)
    assert out.positions.tolist() == [12, 10, 11]
    assert np.allclose(out.scores, [0.6, 0.55, 0.4])
    assert np.allclose(out.own_scores, [4.8, 5.0, 4.9])  # the strategy's own, for reasons
    assert novelty_rerank(picked, seen, 0.0, 3) is picked  # off: untouched


def test_seen_probability_without_ratings_is_popularity(catalogue):
    p = seen_probability(catalogue, np.empty(0, np.int64))
    assert np.allclose(p, catalogue.item_counts() / catalogue.n_users)
    # films 0 and 7 are rated by user 0 alone: someone who saw film 0 more likely saw film 7
    # (1 co-viewer + 20 pseudo-users at popularity 1/7) / 21 = 0.1837 > 1/7
    q = seen_probability(catalogue, np.array([0]))
    assert q[7] == pytest.approx((1 + 20 / 7) / 21) and q[7] > p[7]
