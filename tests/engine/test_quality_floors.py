"""A quality floor per model on the embedded MovieLens sample, the idea of LensKit's
``expected_ndcg`` tests: a change that makes a model rank worse fails here, not months later in
a benchmark run.

Protocol R's split and arithmetic (``engine.evaluate.protocols.evaluate_r`` on
``split_r(ratings)``), each model at its defaults. The published figures are in
docs/BENCHMARKS.md (``python -m engine bench --protocols R``); each floor sits about 15 % below
them, so it holds on any CPU and thread count (the figures are seeded and do not depend on
timing) yet catches a real regression. Only the models that fit in seconds are here.
"""

from __future__ import annotations

import pytest

from engine.data.splits import split_r
from engine.evaluate.protocols import evaluate_r
from engine.models import create

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

# NDCG@10 floors on protocol R of the embedded sample
FLOORS = {"popularity": 0.12, "als": 0.25, "knn": 0.17, "ease": 0.24}


@pytest.fixture(scope="module")
def split(embedded):
    return split_r(embedded)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_ndcg_stays_above_its_floor(split, name):
    train, test = split
    model = create(name, device="cpu").fit(train)
    ndcg = evaluate_r(model, train, test, k=10)["ndcg"]
    print(f"{name}: NDCG@10 {ndcg:.4f} (floor {FLOORS[name]})")
    assert ndcg > FLOORS[name], ndcg


def test_a_personal_model_beats_the_most_popular_films(split):
    """The floor that matters most: a learned model ranks well above popularity."""
    train, test = split
    popular = evaluate_r(create("popularity").fit(train), train, test, k=10)["ndcg"]
    als = evaluate_r(create("als", device="cpu").fit(train), train, test, k=10)["ndcg"]
    assert als > 1.5 * popular, (als, popular)
