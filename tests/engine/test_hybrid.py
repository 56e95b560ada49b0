"""Hybrid = calibrated P(watch) × E[rating]: beats both parts where each knows half the story."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.ratings import Ratings
from engine.data.splits import split_r
from engine.data.synthetic import catalogue
from engine.evaluate.protocols import evaluate_r
from engine.models import create
from engine.models.hybrid import combine, log_softmax_rows, star_weights
from engine.storage.artifacts import MANIFEST, load_model, save_model

IMPLICIT = {"regularization": 20.0, "min_count": 1}
EXPLICIT = {"factors": 2, "epochs": 10}


def watch_and_like(n_users=200, n_items=80, n_clusters=4, per_user=16, seed=0) -> Ratings:
    """People watch films of their own cluster only (what the implicit part can learn), and
    rate each film by its planted quality (what the explicit part can learn): the relevant films
    (rated >= 4) are the good films of one's own cluster, which needs both."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(1.5, 5.0, n_items)
    rows = []
    for u in range(n_users):
        pool = np.flatnonzero(np.arange(n_items) % n_clusters == u % n_clusters)
        chosen = rng.choice(pool, size=per_user, replace=False)
        stars = np.clip(np.round((quality[chosen] + rng.normal(0, 0.3, per_user)) * 2) / 2, 0.5, 5)
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": chosen + 1, "rating": stars}))
    return Ratings.from_frames(pd.concat(rows), catalogue(n_items), name=f"watch-like-{seed}")


@pytest.fixture(scope="module")
def data():
    return watch_and_like()


@pytest.fixture(scope="module")
def fitted(data):
    train, test = split_r(data)
    model = create(
        "hybrid", implicit="ease", implicit_params=IMPLICIT, explicit_params=EXPLICIT
    ).fit(train)
    return train, test, model


def test_beats_each_component_alone(fitted):
    train, test, model = fitted
    ours = evaluate_r(model, train, test)["ndcg"]
    implicit = evaluate_r(model.implicit, train, test)["ndcg"]
    explicit = evaluate_r(model.explicit, train, test)["ndcg"]
    assert ours > max(implicit, explicit) + 0.05, (ours, implicit, explicit)
    assert model.beta > 0  # validation chose to use the ratings


def test_beta_zero_is_the_implicit_ranking(data):
    model = create(
        "hybrid",
        implicit="ease",
        implicit_params=IMPLICIT,
        explicit_params=EXPLICIT,
        beta=0.0,
        temperature=1.0,
        beta_k=0.0,
    ).fit(data)
    users = np.arange(0, 200, 11)
    ours, implicit = model.score_users(users), model.implicit.score_users(users)
    for a, b in zip(ours, implicit, strict=True):
        np.testing.assert_array_equal(
            np.argsort(-a.numpy(), kind="stable")[:20], np.argsort(-b.numpy(), kind="stable")[:20]
        )


def test_watch_probability_is_calibrated_distribution(fitted):
    _, _, model = fitted
    p = model.watch_probability(0)
    assert torch.isclose(p.sum(), torch.tensor(1.0), atol=1e-4)
    # most of the mass sits on the person's own cluster
    assert float(p[torch.arange(80) % 4 == 0].sum()) > 0.5


def test_needs_an_explicit_part_with_vectors():
    for explicit in ("knn", "baseline"):
        with pytest.raises(ValueError, match="explicit must be one of"):
            create("hybrid", explicit=explicit, beta=1.0, temperature=1.0)


def test_a_persons_vector_is_the_explicit_parts(fitted):
    """So the factor map (the explicit part's film vectors) can place the app's members."""
    train, _, model = fitted
    items, values = train.user_items(3)
    state = model.fold_in(items, values)
    own = model.explicit.fold_in(items, values)
    assert state.vector is not None and own.vector is not None
    torch.testing.assert_close(state.vector, own.vector)
    assert state.bias == own.bias
    np.testing.assert_array_equal(model.item_vectors(), model.explicit.item_vectors())


def test_expected_stars_are_the_explicit_parts_prediction(fitted):
    train, _, model = fitted
    user = 5
    lo, hi = train.csr().indptr[user], train.csr().indptr[user + 1]
    items, values = train.csr().indices[lo:hi], train.csr().data[lo:hi]
    state = model.fold_in(items, values)
    stars = model.expected_stars(state)
    assert torch.allclose(stars, model.explicit.score(model.explicit.fold_in(items, values)))
    assert float(stars.min()) >= 0.5 and float(stars.max()) <= 5.5
    # the hybrid's own ranking is not the star order (P(watch) matters)
    assert not torch.equal(torch.argsort(model.score(state)), torch.argsort(stars))


def test_fit_progress_moves_through_every_stage(data):
    seen: list[tuple[int, int, str]] = []
    create("hybrid", implicit="ease", implicit_params=IMPLICIT, explicit_params=EXPLICIT).fit(
        data, progress=lambda done, total, message="": seen.append((done, total, message))
    )
    fractions = [d / t for d, t, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # the explicit fits report their sweeps inside their part of the bar
    inner = [d / t for d, t, m in seen if m.startswith("fitting pmf: sweep")]
    assert len(inner) == EXPLICIT["epochs"] and inner[0] > 2 / 3 and inner[-1] == 1.0
    assert any(m.startswith("calibrating") for _, _, m in seen)


# ---------------------------------------------------------------------------- β by evidence
def test_star_weight_grows_with_what_is_known_by_hand():
    """β_n = β·n/(n + k): β = 8, k = 7: nothing known 0, one film 1, seven films 4, seventy
    films 8·70/77; k = 0 is the full β for everyone."""
    np.testing.assert_allclose(star_weights(8.0, [0, 1, 7, 70], 7.0), [0, 1, 4, 560 / 77])
    np.testing.assert_allclose(star_weights(8.0, [0, 1, 70], 0.0), [8, 8, 8])


def test_combine_weighs_each_row_by_its_own_beta():
    log_watch = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    stars = torch.tensor([[5.0, 2.5], [5.0, 2.5]])
    out = combine(log_watch, stars, np.array([0.0, 2.0]))
    expected = torch.log(torch.tensor(0.5)) + torch.tensor([[0.0, 0.0], [0.0, 2 * np.log(0.5)]])
    torch.testing.assert_close(out, expected.float())


def test_a_person_is_scored_with_the_weight_of_their_own_evidence(fitted):
    """score = log softmax(implicit / T) + β_n · log(stars / 5), n the person's ratings."""
    train, _, model = fitted
    model_k = model.beta_k
    items, values = train.user_items(7)
    for n in (1, 3, len(items)):
        state = model.fold_in(items[:n], values[:n])
        imp = model.implicit.score(state.extra["implicit"])[None]
        stars = model.explicit.score(state.extra["explicit"])[None]
        weight = star_weights(model.beta, [n], model_k)
        expected = combine(log_softmax_rows(imp, model.temperature), stars, weight)[0]
        torch.testing.assert_close(model.score(state), expected)


def cult_and_crowd(n_users=200, n_crowd=80, n_cult=20, per_user=12, seed=0) -> Ratings:
    """``watch_and_like``'s four clusters (people watch their own cluster's films and rate
    them by planted quality) plus cult films, each rated 5★ by three random people. Someone
    known from one answer is predicted high stars for every cult film (its film bias) that
    nobody will watch: trusting their stars fully ranks the cult films first."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(1.5, 5.0, n_crowd)
    rows = []
    for u in range(n_users):
        pool = np.flatnonzero(np.arange(n_crowd) % 4 == u % 4)
        chosen = rng.choice(pool, size=per_user, replace=False)
        noise = rng.normal(0, 0.3, per_user)
        stars = np.clip(np.round((quality[chosen] + noise) * 2) / 2, 0.5, 5)
        rows.append(pd.DataFrame({"userId": u + 1, "movieId": chosen + 1, "rating": stars}))
    for film in range(n_crowd, n_crowd + n_cult):
        fans = rng.choice(n_users, size=3, replace=False)
        rows.append(pd.DataFrame({"userId": fans + 1, "movieId": film + 1, "rating": 5.0}))
    return Ratings.from_frames(pd.concat(rows), catalogue(n_crowd + n_cult), name="cult")


def test_fitted_k_is_the_few_answer_validation_best_and_damps_one_answer_stars():
    train, _ = split_r(cult_and_crowd())
    model = create(
        "hybrid", implicit="ease", implicit_params=IMPLICIT, explicit_params=EXPLICIT
    ).fit(train)
    table = model.info["validation_few_answer_ndcg_by_k"]
    assert model.beta_k == float(max(table, key=table.__getitem__))
    assert model.beta > 0  # people known from all their films: their stars help
    assert model.beta_k > 0, table  # known from a few: the full β loses on validation
    assert table[str(model.beta_k)] > table["0.0"] + 0.05


def test_a_model_saved_before_k_loads_with_the_full_beta(fitted):
    """Calibration saved as (T, β), before k existed: k = 0, so it ranks as when it was saved."""
    _, _, model = fitted
    tensors = model.state_tensors()
    tensors["calibration"] = tensors["calibration"][:2]
    clone = create("hybrid", implicit="ease", implicit_params=IMPLICIT, explicit_params=EXPLICIT)
    clone.n_users, clone.n_items, clone.info = model.n_users, model.n_items, dict(model.info)
    clone.load_state_tensors(tensors)
    assert (clone.temperature, clone.beta, clone.beta_k) == (
        model.temperature,
        model.beta,
        0.0,
    )


def test_a_manifest_that_calls_k_beta_answers_still_loads(fitted, tmp_path):
    """Manifests saved before k was named ``beta_k`` carry it as ``beta_answers``: they load,
    with the value under its new name, and score as the model that was saved."""
    _, _, model = fitted
    path = save_model(model, tmp_path / "hybrid")
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["hyperparameters"].pop("beta_k")
    manifest["hyperparameters"]["beta_answers"] = 5.0
    (path / MANIFEST).write_text(json.dumps(manifest))
    loaded = load_model(path, device="cpu")
    assert loaded.config.beta_k == 5.0
    np.testing.assert_allclose(loaded.score(3).numpy(), model.score(3).numpy(), rtol=1e-5)
