"""The card fold-in (``engine.models.answers_fold_in``): its formula by hand, its two limits (no
answers: the mean member; the whole history known: ALS's own normal equations), and on planted
data what a member's answers, "haven't seen it" included, do to their picks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.synthetic import planted_implicit
from engine.models import create
from engine.models.answers_fold_in import (
    AnswersFoldIn,
    CardAnswers,
    PopulationPrior,
    posterior_vector,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FILMS = np.array([[1.0], [2.0], [0.5]])  # 1-D film vectors: YᵀY = 1 + 4 + 0.25 = 5.25
PRIOR = PopulationPrior(np.array([0.5]), np.array([[2.0]]), FILMS, np.array([[5.25]]), history=4.0)


def test_posterior_by_hand():
    # film 0 rated with c = 9, film 1 unseen (w = 1), history m = 4 → f = 1/4, s = 1:
    # a = 2 + (¼·5.25 + (9 − ¼)·1 + (1 − ¼)·4) = 15.0625, b = 2·0.5 + 9·1 = 10
    x = posterior_vector(
        PRIOR, np.array([0]), np.array([9.0]), np.array([1]), 1.0, unseen_weight=1.0
    )
    assert x == pytest.approx([10 / 15.0625])
    # without the "haven't seen it": a = 2 + 1.3125 + 8.75 = 12.0625
    x = posterior_vector(PRIOR, np.array([0]), np.array([9.0]), np.array([], np.int64), 1.0)
    assert x == pytest.approx([10 / 12.0625])


def test_no_answers_is_the_mean_member_and_unseen_alone_moves_them_away():
    none = np.array([], np.int64)
    assert posterior_vector(PRIOR, none, np.array([]), none) == pytest.approx([0.5])
    # nothing watched (f = 0), film 1 unseen: a = 2 + 10·1·4 = 42, b = 1 → x = 1/42 < 0.5
    x = posterior_vector(PRIOR, none, np.array([]), np.array([1]), 10.0, 1.0)
    assert x == pytest.approx([1 / 42])


def test_the_whole_history_known_is_alss_own_fold_in_as_the_evidence_dominates():
    rng = np.random.default_rng(0)
    films = rng.normal(size=(30, 3))
    prior = PopulationPrior.of(rng.normal(size=(50, 3)), films, history=4.0)
    watched, c = np.array([1, 5, 7, 9]), np.array([3.0, 9.0, 5.0, 7.0])  # n = m: f = 1
    got = posterior_vector(prior, watched, c, np.array([], np.int64), answer_weight=1e7)
    y = films[watched]
    als = np.linalg.solve(films.T @ films + (y.T * (c - 1)) @ y, y.T @ c)  # λ → 0
    np.testing.assert_allclose(got, als, rtol=1e-4)


def test_population_prior_by_hand():
    prior = PopulationPrior.of(np.array([[0.0], [1.0]]), FILMS, history=2.0, ridge=0.0)
    assert prior.mean == pytest.approx([0.5])
    assert prior.precision == pytest.approx(np.array([[2.0]]))  # sample variance ½
    assert prior.gram == pytest.approx(np.array([[5.25]]))
    with pytest.raises(ValueError, match="two member vectors"):
        PopulationPrior.of(np.zeros((1, 2)), FILMS, history=2.0)


def test_card_answers_refuse_a_film_answered_twice_or_outside_the_catalogue():
    with pytest.raises(ValueError, match="answered twice"):
        CardAnswers(np.array([1]), np.array([4.0]), unseen=np.array([1]))
    with pytest.raises(ValueError, match="exactly one value"):
        CardAnswers(np.array([1, 2]), np.array([4.0]))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        CardAnswers(np.array([12]), np.array([4.0])).check(10)


@pytest.fixture(scope="module")
def clusters():
    return planted_implicit(n_users=200, n_items=80, n_clusters=4, per_user=12, seed=3)


@pytest.fixture(scope="module")
def als(clusters):
    return create("als", factors=8, epochs=10, seed=0).fit(clusters)


def test_als_with_no_answers_ranks_like_its_own_prior(als):
    assert isinstance(als, AnswersFoldIn)
    nobody = CardAnswers(np.array([], np.int64), np.array([], np.float32))
    got = als.score(als.fold_in_answers(nobody))
    torch.testing.assert_close(got, als.score(als.fold_in(np.array([], np.int64), [])))


def test_one_rating_and_some_unseen_films_find_the_members_cluster(als, clusters):
    cluster = np.arange(clusters.n_items) % 4
    liked = np.flatnonzero(cluster == 2)[:1]
    unseen = np.flatnonzero(cluster == 1)[:5]
    state = als.fold_in_answers(CardAnswers(liked, np.array([4.5], np.float32), unseen=unseen))
    scores = als.score(state).numpy()
    rest = np.setdiff1d(np.arange(clusters.n_items), np.concatenate([liked, unseen]))
    top = rest[np.argsort(-scores[rest], kind="stable")[:10]]
    assert (cluster[top] == 2).mean() >= 0.8
    # the films said unseen, and their cluster, fall below where the mean member has them
    mean_member = als.score(als.fold_in(np.array([], np.int64), [])).numpy()
    others = np.flatnonzero(cluster == 1)
    assert scores[others].mean() < mean_member[others].mean()
