"""The elicitation comparison's rules: a fixed test half per member before elicitation, answers
only from the other half, the same candidates for everyone, and the baseline by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.splits import split_f
from engine.evaluate import elicit_setup as es
from engine.evaluate import protocol_elicit as pe
from engine.models import create


@pytest.fixture(scope="module")
def split(embedded):
    return split_f(embedded, seed=1)


def test_test_half_is_fixed_and_disjoint_from_what_members_can_answer(split):
    members = es.members_of(split)
    again = es.members_of(split)
    assert [m.test_items.tolist() for m in members] == [m.test_items.tolist() for m in again]
    for m in members:
        rows = split.held.user_rows(m.user)
        assert not set(m.test_items.tolist()) & set(m.answerable)
        assert len(m.test_items) + len(m.answerable) == len(rows)
    sizes = np.array([len(m.test_items) / (len(m.test_items) + len(m.answerable)) for m in members])
    assert 0.4 < sizes.mean() < 0.6


def test_answers_come_only_from_the_answerable_half(split):
    members = es.members_of(split)[:5]
    model = create("popularity")
    model.fit(split.train)
    for m in members:
        for strategy in ("random", "popularity", "entropy0"):
            answers, asked = pe.answers_of(model, split.train, m, strategy, 10)
            assert all(i in m.answerable and m.answerable[i] == v for i, v in answers)
            assert len({i for i, _ in answers}) == len(answers) <= 10
            assert asked >= len(answers)
        # random never wastes a question: it draws from the answerable half
        answers, asked = pe.answers_of(model, split.train, m, "random", 10)
        assert asked == len(answers) == min(10, len(m.answerable))


def test_a_film_in_the_test_half_answers_havent_seen(split, monkeypatch):
    members = es.members_of(split)
    m = members[0]
    hidden = [int(i) for i in m.test_items[:3]]
    open_ = sorted(m.answerable)[:2]

    def asks_hidden_first(model, catalogue, rated, unseen, n):
        return [i for i in [*hidden, *open_] if i not in rated and i not in unseen][:n]

    monkeypatch.setattr(pe.elicit, "elicitor", lambda name: asks_hidden_first)
    answers, asked = pe.answers_of(None, split.train, m, "anything", 2)
    assert [i for i, _ in answers] == open_  # the test films were asked but not revealed
    assert asked == 5


def test_baseline_stars_by_hand():
    prior = np.array([3.5, 3.0, 4.0])
    # answers 4.5 (prior 3.5) and 2.0 (prior 3.0): offsets +1 and −1 → (1 − 1) / (2 + 3) = 0
    assert np.allclose(pe.baseline_stars(prior, [(0, 4.5), (1, 2.0)], np.array([2])), [4.0])
    # one answer +1 → 1 / (1 + 3) = 0.25 on every film; clipped at 5 stars
    assert np.allclose(pe.baseline_stars(prior, [(0, 4.5)], np.array([1, 2])), [3.25, 4.25])
    assert np.allclose(pe.baseline_stars(np.array([5.0]), [(0, 5.0)] * 0, np.array([0])), [5.0])
