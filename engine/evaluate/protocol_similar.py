"""Protocol Similar: are a similarity's film neighbours ones a film fan recognises?

No published benchmark scores "films like this one" for people; three checks a fan would make,
each from the catalogue alone (nothing the models saw):

- **Sequels**: a franchise set from titles (``engine.titles.franchises``: "Toy Story" →
  "Toy Story 2", "The Godfather" → "The Godfather: Part II"; remakes with the same title left
  out). For each film with a later film in its series, the rank of that next film among the
  first film's neighbours: hit@10 (with a 95 % Wilson interval) and the median rank.
- **Genre coherence**: mean Jaccard overlap of genre sets between a film and its top 10.
- **Popular-film share**: share of the top-10 slots taken by the 20 most-rated films, over every
  film and over the 100 most-rated films (where the issue saw the same hits everywhere), and the
  popular film present in the most neighbourhoods (the goal: none in more than a third).

One rating threshold (``MIN_RATINGS``) decides both which films are asked about and which may
appear, as the app's graph and table use. Every model is fitted on all ratings: the yardsticks
are titles and genres, which no model reads except the graph model, whose side information (on
by default) mixes genre embeddings into its film vectors, and the co-watching default, whose
genre factor reads them. Similarities: each model's film vectors by cosine, plain and
popularity-damped (``engine.similarity.VectorSimilarity``), the models' own ``similar_items``
where it differs (EASE's item-item weights, the hybrid's ALS neighbours), the graph model's
skip-gram centre·context product (``engine.similarity.CentreContextSimilarity``, its best score
in protocol Graph-A), and co-watching counts with cosine, lift and the damped asymmetric cosine
with shrinkage (``engine.similarity.CoWatch``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from engine.data.ratings import Ratings
from engine.evaluate.report import BenchContext, ProtocolResult, timed_fit
from engine.evaluate.similar_metrics import (
    Score,
    genre_overlap,
    hit_rate,
    hub_share,
    neighbourhoods,
    popular_share,
)
from engine.models.graph_embedding import GraphEmbedding
from engine.similarity import (
    COWATCH_BETA,
    COWATCH_SHRINK,
    GENRE_WEIGHT,
    VECTOR_DAMPING,
    CentreContextSimilarity,
    CoWatch,
    VectorSimilarity,
)
from engine.titles import franchises, natural_label, natural_title, sequel_pairs

TITLE = "similar films a fan recognises: sequels, genres, blockbusters"
MIN_RATINGS = 20
K = 10
N_POPULAR = 20
POPULAR_QUERIES = 100
DEFAULT_MODELS = ("mf", "pmf", "als", "hybrid", "ease", "graph")
COLUMNS = [
    "similarity",
    "sequel hit@10 [95% CI]",
    "sequel median rank",
    "genre overlap@10",
    "top-20 films' share of top 10",
    "same, 100 most-rated films",
    "most frequent top-20 film: share of lists",
    "build s",
]


def sequel_set(ratings: Ratings, eligible: np.ndarray) -> list[tuple[int, int]]:
    """(film, next film in its series) among eligible films; series of one repeated title
    (remakes: "Sabrina" 1954 and 1995) are not sequels and are left out."""
    movies = ratings.movies
    titles, years = list(movies["title"]), list(movies["year"])
    series = [
        s
        for s in franchises(titles, years, np.flatnonzero(eligible))
        if len({natural_title(titles[i]) for i in s}) > 1
    ]
    return sequel_pairs(series, years)


def measure(
    name: str, score: Score, ratings: Ratings, pairs: list[tuple[int, int]], build_s: float
) -> dict[str, Any]:
    """One table row: ``score`` measured on every eligible film (see the module docstring)."""
    counts = ratings.stats.counts
    eligible = counts >= MIN_RATINGS
    found = neighbourhoods(score, eligible, pairs, K)
    popular = np.zeros(ratings.n_items, dtype=bool)
    popular[np.argsort(-counts, kind="stable")[:N_POPULAR]] = True
    by_count = np.argsort(-counts[found.queries], kind="stable")[:POPULAR_QUERIES]
    hit, low, high = hit_rate(found.sequel_ranks, K)
    hub, share = hub_share(found.top, popular)
    movies = ratings.movies
    hub_name = (
        natural_label(movies["title"].iat[hub], movies["year"].iat[hub]) if hub >= 0 else "none"
    )
    return {
        "similarity": name,
        "sequel hit@10 [95% CI]": f"{hit:.2f} [{low:.2f}, {high:.2f}]",
        "sequel median rank": float(np.median(found.sequel_ranks)) if len(pairs) else np.nan,
        "genre overlap@10": round(
            genre_overlap(found.top, found.queries, ratings.stats.genre_lists), 3
        ),
        "top-20 films' share of top 10": round(popular_share(found.top, popular), 3),
        "same, 100 most-rated films": round(popular_share(found.top[by_count], popular), 3),
        "most frequent top-20 film: share of lists": f"{share:.2f} ({hub_name})",
        "build s": round(build_s, 2),
    }


def _list_scores(similar: Callable[[int, int], tuple[np.ndarray, np.ndarray]], n: int) -> Score:
    """A model's own ``similar_items`` as scores over every film (-inf where it lists nothing)."""

    def score(item: int) -> np.ndarray:
        idx, sims = similar(item, n - 1)
        out = np.full(n, -np.inf)
        out[np.asarray(idx, dtype=np.int64)] = np.asarray(sims, dtype=np.float64)
        return out

    return score


def _cowatch_rows(ratings: Ratings, pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows = []
    damped = f"β {COWATCH_BETA:g}, shrink {COWATCH_SHRINK:g}"
    settings = [
        ("co-watched, cosine (β 0.5)", 0.5, 0.0, 0.0),
        ("co-watched, lift (β 1)", 1.0, 0.0, 0.0),
        (f"co-watched, damped ({damped})", COWATCH_BETA, COWATCH_SHRINK, 0.0),
        (
            f"co-watched, damped, × (1 + {GENRE_WEIGHT:g}·genre overlap) ({damped}): the default",
            COWATCH_BETA,
            COWATCH_SHRINK,
            GENRE_WEIGHT,
        ),
    ]
    for label, beta, shrink, weight in settings:
        began = time.perf_counter()
        sim = CoWatch.build(ratings, beta=beta, shrink=shrink, genre_weight=weight)
        rows.append(measure(label, sim.scores, ratings, pairs, time.perf_counter() - began))
    return rows


def _array(vectors: Any) -> np.ndarray | None:
    """A model's film vectors as numpy (models hand out tensors or arrays), None as is."""
    if vectors is None:
        return None
    return np.asarray(vectors.detach().cpu().numpy() if hasattr(vectors, "detach") else vectors)


def _context_rows(
    name: str, model: GraphEmbedding, ratings: Ratings, pairs: list[tuple[int, int]], fit_s: float
) -> list[dict[str, Any]]:
    """The graph model scored by skip-gram's centre·context product, plain and damped: the
    score by which it beats Adamic–Adar in protocol Graph-A, so it is judged here by its best
    score as well as by the cosine every model gets."""
    centre, context = _array(model.item_vectors()), model.context_vectors()
    if centre is None or context is None:
        return []
    rows = []
    for damping in (0.0, VECTOR_DAMPING):
        sim = CentreContextSimilarity.build(centre, context, ratings.stats.counts, damping)
        label = f"{name}: centre·context" + (f", damped (γ {damping:g})" if damping else "")
        rows.append(measure(label, sim.scores, ratings, pairs, fit_s))
    return rows


def _model_rows(
    name: str, ratings: Ratings, pairs: list[tuple[int, int]], fit_s: float, model: Any
) -> list[dict[str, Any]]:
    rows = []
    v = _array(model.item_vectors())
    if v is not None:
        for damping, label in (
            (0.0, "cosine"),
            (VECTOR_DAMPING, f"cosine, damped (γ {VECTOR_DAMPING:g})"),
        ):
            sim = VectorSimilarity.build(v, ratings.stats.counts, damping)
            rows.append(
                measure(f"{name}: film vectors, {label}", sim.scores, ratings, pairs, fit_s)
            )
    t = _array(model.taste_vectors())
    if t is not None and (v is None or t.shape != v.shape or not np.array_equal(t, v)):
        sim = VectorSimilarity.build(t, ratings.stats.counts, VECTOR_DAMPING)
        label = f"{name}: taste vectors (Explore's), cosine, damped (γ {VECTOR_DAMPING:g})"
        rows.append(measure(label, sim.scores, ratings, pairs, fit_s))
    if isinstance(model, GraphEmbedding):
        rows.extend(_context_rows(name, model, ratings, pairs, fit_s))
    if name in ("ease", "hybrid"):  # their similar_items is not the cosine of item_vectors
        what = "item-item weights" if name == "ease" else "similar_items (ALS part)"
        score = _list_scores(model.similar_items, ratings.n_items)
        rows.append(measure(f"{name}: {what}", score, ratings, pairs, fit_s))
    return rows


def run(ctx: BenchContext) -> ProtocolResult:
    start = time.perf_counter()
    ratings = ctx.ratings
    eligible = ratings.stats.counts >= MIN_RATINGS
    pairs = sequel_set(ratings, eligible)
    names = list(ctx.models) if ctx.models is not None else list(DEFAULT_MODELS)
    notes = [
        f"{int(eligible.sum()):,} films with at least {MIN_RATINGS} ratings (asked about and "
        f"allowed as neighbours); {len(pairs)} sequel pairs from titles; top-{N_POPULAR} = the "
        f"{N_POPULAR} most-rated films. Models fitted on all ratings with their defaults"
        + (" (quick settings)" if ctx.quick else "")
        + "; the damped settings were chosen on this table (β, shrink and γ over small grids).",
    ]
    progress = ctx.progress_factory("Similar")
    rows = _cowatch_rows(ratings, pairs)
    for done, name in enumerate(names):
        progress(done, len(names), name)
        try:
            model = ctx.create(name)
            fit_s = timed_fit(model, ratings)
            rows.extend(_model_rows(name, ratings, pairs, fit_s, model))
        except Exception as err:  # one broken model must not hide the others' figures
            notes.append(f"{name}: FAILED ({type(err).__name__}: {err})")
    progress(len(names), len(names), "done")
    table = pd.DataFrame(rows, columns=COLUMNS)
    return ProtocolResult("Similar", TITLE, table, notes, time.perf_counter() - start)


__all__ = ["MIN_RATINGS", "measure", "run", "sequel_set"]
