"""Protocols Graph-A and Graph-B on a planted graph whose answer is known: two dense
communities of films, no co-like across them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.data.film_graph import co_like_graph
from engine.data.ratings import Ratings
from engine.data.synthetic import catalogue
from engine.evaluate.graph_pairs import (
    COWATCH_COSINE_ROW,
    EXPLORE_ROW,
    auc_pair,
    explore_scorers,
    graph_scorers,
    heuristic_scorers,
    vector_scorer,
)
from engine.evaluate.protocol_graph_a import (
    draw_pairs,
    hold_out_edges,
    leak_free_ratings,
    run_graph_a,
)
from engine.evaluate.protocol_graph_b import run_graph_b
from engine.evaluate.report import BenchContext
from engine.models import create
from engine.models.graph_embedding import GraphConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_FILMS = 60  # films 0..29: community 0, 30..59: community 1
FAST = {"factors": 16, "batch_size": 512, "walks_per_film": 6}
SIMILARITY_ROWS = ("Adamic–Adar (train graph)", "common neighbours (train graph)")
DEGREE_ROWS = (
    "preferential attachment (degree × degree)",
    "popularity (log likes_i + log likes_j)",
)


def two_communities(cross: int, n_users: int = 160, seed: int = 0) -> Ratings:
    """Each person likes (4–5★) 12 films of their community and dislikes (1–2★) 4 more films,
    ``cross`` of them in the other community, the rest in their own: co-likes, hence edges,
    only ever join films of one community."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        own = user % 2
        mine = rng.choice(30, 16 - cross, replace=False) + 30 * own
        other = rng.choice(30, cross, replace=False) + 30 * (1 - own)
        rows += [(user + 1, f + 1, float(rng.choice([4.0, 5.0]))) for f in mine[:12]]
        disliked = np.concatenate([mine[12:], other])
        rows += [(user + 1, f + 1, float(rng.choice([1.0, 2.0]))) for f in disliked]
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    return Ratings.from_frames(frame, catalogue(N_FILMS), name="two-communities")


# Each rating model family sees the communities through a different part of the data: an
# explicit model (mf) learns that the two communities differ only from people who rate films of
# the other one low (nobody rating across leaves the two halves of its space unrelated); an
# implicit model (als, lmf) counts every rating as interest, so those cross ratings would link
# the communities for it. Each is checked on the design whose data carries the structure it
# reads; the graph model and the heuristics on both. Explore's similarity and the plain cosine
# of co-watching count every rating as having watched the film, as the implicit models do.
COWATCH_ROWS = (EXPLORE_ROW, COWATCH_COSINE_ROW)
DESIGNS = {
    "cross dislikes": (4, ("mf",)),
    "own community only": (0, ("als", "lmf", *COWATCH_ROWS)),
}


@pytest.fixture(scope="module", params=list(DESIGNS))
def planted(request):
    cross, models = DESIGNS[request.param]
    ratings = two_communities(cross)
    full = co_like_graph(ratings)
    split = hold_out_edges(full, 0.33, seed=0)
    rng = np.random.default_rng(1)
    pairs = np.stack([rng.integers(0, 30, 400), rng.integers(30, 60, 400)], axis=1)
    return ratings, full, split, pairs, models


def test_the_planted_graph_has_edges_only_inside_a_community(planted):
    _, full, split, _, _ = planted
    community = np.arange(N_FILMS) // 30
    rows = np.repeat(np.arange(N_FILMS), full.degree())
    assert full.n_edges > 300
    assert (community[rows] == community[full.indices]).all()
    assert len(split.held) > 100
    assert (community[split.held[:, 0]] == community[split.held[:, 1]]).all()


def test_every_similarity_row_puts_held_out_edges_above_cross_community_pairs(planted):
    """Graph model (with and without side information, cosine and centre·context),
    Adamic–Adar, common neighbours, the rating models and the co-watching rows (both from the
    ratings without the held-out co-likes) all separate held-out intra-community edges from
    cross-community pairs. The heuristics do so perfectly: a cross pair has no common
    neighbour."""
    ratings, full, split, cross, models = planted
    held = split.held
    aucs: dict[str, float] = {}
    for name, score in heuristic_scorers(split.train, full.likes).items():
        aucs[name] = auc_pair(score, held, cross, cross)[0]
    for side in (True, False):
        cfg = replace(GraphConfig(), side_info=side, **FAST)
        for name, (score, _) in graph_scorers(split.train, ratings, cfg, "cpu").items():
            aucs[name] = auc_pair(score, held, cross, cross)[0]
    assert len(aucs) == 4 + 4  # heuristics, graph model × side information × score
    clean, dropped = leak_free_ratings(ratings, held, 4.0, seed=0)
    assert 0 < dropped < len(ratings) // 2
    cowatch = explore_scorers(clean)
    for name in models:
        if name in cowatch:
            aucs[name] = auc_pair(cowatch[name][0], held, cross, cross)[0]
            continue
        vectors = create(name, device="cpu").fit(clean).item_vectors()
        assert vectors is not None
        aucs[name] = auc_pair(vector_scorer(vectors), held, cross, cross)[0]
    for name in SIMILARITY_ROWS:
        assert aucs[name] == 1.0, name
    for name, auc in aucs.items():
        if name not in DEGREE_ROWS:
            assert auc > 0.9, (name, aucs)


def test_degree_rows_cannot_tell_communities_apart(planted):
    """Both communities are equally popular and equally dense: scores that follow degree alone
    are near chance here, which is the right answer."""
    _, full, split, cross, _ = planted
    for name, score in heuristic_scorers(split.train, full.likes).items():
        if name in DEGREE_ROWS:
            assert 0.3 < auc_pair(score, split.held, cross, cross)[0] < 0.7, name


def _auc(table: pd.DataFrame, row: str) -> tuple[float, float]:
    found = table.set_index("model").loc[row]
    return float(found["AUC, uniform negatives"]), float(found["AUC, degree-corrected negatives"])


def test_graph_a_counts_explore_rows_without_the_held_out_co_likes():
    """The runner's co-watching rows are built, draw by draw, from the ratings its rating models
    fit on (``leak_free_ratings``), not from all ratings, which would score the held-out edges
    by the very co-likes that made them (a different, higher figure here); no graph model is
    embedded when ``--models`` does not name it."""
    ratings = two_communities(0)
    notes: list[str] = []
    ctx = BenchContext(ratings=ratings, quick=True, models=["mf"])
    table = run_graph_a(ctx, 2, [], notes)
    assert not any(name.startswith("graph ") for name in table["model"])
    full = co_like_graph(ratings)
    by_hand: dict[str, list[tuple[float, float]]] = {}
    for draw in range(2):
        split = hold_out_edges(full, 0.33, seed=draw)
        pairs = draw_pairs(full, split, seed=draw)
        clean, _ = leak_free_ratings(ratings, split.held, 4.0, seed=draw)
        for source, data in (("clean", clean), ("all", ratings)):
            score = explore_scorers(data)[EXPLORE_ROW][0]
            by_hand.setdefault(source, []).append(auc_pair(score, *pairs))
    expected = tuple(np.mean(by_hand["clean"], axis=0))
    assert _auc(table, EXPLORE_ROW) == pytest.approx(expected)
    assert expected != pytest.approx(tuple(np.mean(by_hand["all"], axis=0)))
    assert min(_auc(table, EXPLORE_ROW)) > 0.9 and min(_auc(table, COWATCH_COSINE_ROW)) > 0.9
    assert "co-watching rows" in notes[0]


def test_graph_b_scores_new_intra_community_edges_by_explores_similarity():
    """New co-like edges on protocol R's split all join films of one community; the uniform and
    degree-corrected non-edges are mostly cross pairs, which nobody watched together: the
    co-watching rows, counted from the training ratings, put the new edges first."""
    ctx = BenchContext(ratings=two_communities(0, n_users=60), quick=True, models=["mf"])
    table = run_graph_b(ctx, 2, ["mf"], [])
    assert not any(name.startswith("graph ") for name in table["model"])
    for row in COWATCH_ROWS:
        assert min(_auc(table, row)) > 0.9, row
    assert table.set_index("model").at[EXPLORE_ROW, "by"] == "Movie Night"
