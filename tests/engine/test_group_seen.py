"""Seen-it feeds back: films a member watched without rating are evidence of watching.

On planted data where the right answer is known: an implicit model (ALS) learns a member's taste
from seen films alone, an explicit model (mf) ignores them, and the hybrid gives them to its
implicit part only (its expected stars stay those of the star ratings).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.synthetic import planted_implicit, planted_tastes
from engine.group import Member, member_matrices
from engine.group.members import validate_members
from engine.group.predict import fold_member, informed, seen_weight
from engine.models import create


@pytest.fixture(scope="module")
def clusters():
    return planted_implicit(n_users=200, n_items=80, n_clusters=4, per_user=12, seed=3)


@pytest.fixture(scope="module")
def tastes():
    return planted_tastes(n_users=150, n_items=60, n_clusters=3, liked=10, disliked=3, seed=2)


@pytest.fixture(scope="module")
def als(clusters):
    return create("als", factors=8, epochs=10, seed=0).fit(clusters)


def test_implicit_model_learns_taste_from_seen_films_alone(als, clusters):
    item_cluster = np.arange(clusters.n_items) % 4
    seen = np.flatnonzero(item_cluster == 2)[:5]
    blend, _ = member_matrices(als, clusters, [Member("Sam", seen=seen), Member("New")])
    others = np.setdiff1d(np.arange(clusters.n_items), seen)
    top = others[np.argsort(-blend[0, others], kind="stable")[:15]]
    assert (item_cluster[top] == 2).mean() >= 0.9  # Sam's own cluster, learned from seen films
    # without seen films the same person is the prior: nothing pulls cluster 2 up
    top_new = others[np.argsort(-blend[1, others], kind="stable")[:15]]
    assert (item_cluster[top_new] == 2).mean() < 0.6
    state = fold_member(als, Member("Sam", seen=seen), clusters)
    assert sorted(state.items.tolist()) == sorted(seen.tolist())


def test_explicit_model_takes_only_star_ratings(tastes):
    cat = tastes.ratings
    mf = create("mf", factors=4, epochs=30, seed=0).fit(cat)
    own = np.flatnonzero(tastes.item_cluster == 0)
    other = np.flatnonzero(tastes.item_cluster == 1)
    items, values = own[:3], np.array([5.0, 4.5, 5.0], np.float32)
    with_seen = Member("Ann", items, values, seen=other[:6])
    without = Member("Ann", items, values)
    a, shown_a = member_matrices(mf, cat, [with_seen])
    b, shown_b = member_matrices(mf, cat, [without])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(shown_a, shown_b)
    assert not informed(mf, Member("Only seen", seen=other[:6]))  # gets the prior
    assert informed(mf, without)


def test_hybrid_gives_seen_films_to_its_implicit_part_only(tastes):
    cat = tastes.ratings
    hybrid = create(
        "hybrid",
        implicit_params={"factors": 6, "epochs": 8},
        explicit_params={"factors": 4, "epochs": 20},
    ).fit(cat)
    own = np.flatnonzero(tastes.item_cluster == 0)
    other = np.flatnonzero(tastes.item_cluster == 1)
    items, values = own[:2], np.array([5.0, 4.5], np.float32)
    seen = other[:8]
    with_seen = Member("Ann", items, values, seen=seen)
    without = Member("Ann", items, values)
    state = fold_member(hybrid, with_seen, cat)
    assert set(state.extra["implicit"].items.tolist()) == set(items.tolist()) | set(seen.tolist())
    assert sorted(state.extra["explicit"].items.tolist()) == sorted(items.tolist())
    blend_a, shown_a = member_matrices(hybrid, cat, [with_seen])
    blend_b, shown_b = member_matrices(hybrid, cat, [without])
    # the stars shown to members come from star ratings alone ...
    np.testing.assert_allclose(shown_a, shown_b, rtol=1e-6)
    # ... while the ranking now leans towards the cluster the seen films belong to
    rest = np.setdiff1d(np.flatnonzero(tastes.item_cluster == 1), seen)
    assert blend_a[0, rest].mean() > blend_b[0, rest].mean() + 0.3


def test_seen_weight_is_the_members_mean_or_the_catalogue_typical(tastes):
    cat = tastes.ratings
    assert seen_weight(Member("A", np.array([0, 1]), np.array([2.0, 4.0])), cat) == 3.0
    assert seen_weight(Member("B", seen=np.array([5])), cat) == pytest.approx(cat.stats.typical)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (Member("Ann", np.array([1]), np.array([4.0]), seen=np.array([1, 2])), "twice"),
        (Member("Ann", seen=np.array([2]), unseen=np.array([2, 3])), "twice"),
        (Member("Ann", unseen=np.array([999])), "not in the catalogue"),
        (Member("Ann", seen=np.array([2, 2])), "same seen film twice"),
        (Member("Ann", seen=np.array([999])), "not in the catalogue"),
        (Member("Ann", seen=np.array([0.5])), "whole numbers"),
    ],
)
def test_bad_seen_films_get_a_clear_error(member, message):
    with pytest.raises(ValueError, match=message):
        validate_members([member], 60)
