"""Films a whole room will enjoy: fold each member in, predict, blend, explain.

``recommend`` is the one entry point that turns members and a model into a ranked, explained
frame. The parts, each usable on its own:

- ``strategies``: pure blends over a ``[members × films]`` star matrix (testable without a model);
- ``members``: who is in the room, what they may pick (filters), and input validation;
- ``predict``: each member folded in and scored, on the star scale;
- ``explain``: the reason shown beside each pick;
- ``novelty``: trading predicted stars against popularity ("films we probably haven't seen").

Per-catalogue numbers (counts, priors, genres, years) come from ``Ratings.stats``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from engine.data.ratings import Ratings
from engine.group.explain import explain, member_ranks
from engine.group.members import Filters, Member, candidate_mask, validate_members
from engine.group.novelty import MAX_NOVELTY, check_novelty, popularity, with_novelty
from engine.group.predict import (
    RoomModel,
    calibrate,
    member_matrices,
    member_predictions,
    prior_scores,
)
from engine.group.strategies import (
    DEFAULT_STRATEGY,
    FAIR_TOP_N,
    FAIR_WEIGHT,
    STRATEGIES,
    Selector,
    Strategy,
    average,
    average_without_misery,
    blend,
    borda,
    check_k,
    fair_selector,
    gfar_relevance,
    greedy_coverage,
    least_misery,
    like_probability,
    most_pleasure,
    multiplicative,
    rank_points,
    strategy_named,
    top_k,
)


def recommend(
    model: RoomModel | None,
    catalogue: Ratings,
    members: Sequence[Member],
    strategy: str = DEFAULT_STRATEGY,
    k: int = 10,
    exclude: Iterable[int] = (),
    filters: Filters | None = None,
    novelty: float = 0.0,
) -> pd.DataFrame:
    """Top-k films for the room, best first, with everyone's predicted stars and a reason.

    ``novelty`` (0..``MAX_NOVELTY``) lowers each member's stars for a film by that much times
    its popularity times the member's own spread at the top of their list, before the strategy
    blends (``engine.group.novelty``), so less-seen films can win; the per-member columns and
    the reasons still use the plain predictions.

    Columns: rank, item, movieId, label, year, genres, group_score, reason, then one
    ``pred:<name>`` column per member. Fewer than k rows only when fewer films pass the filters.
    An empty room gets the prior (popular, well rated films) and needs no model.
    """
    strat = strategy_named(strategy)
    k = check_k(k)
    novelty = check_novelty(novelty)
    stats = catalogue.stats
    n_items = stats.n_items
    if model is not None and model.n_items != n_items:
        raise ValueError(
            f"the model knows {model.n_items} films but the catalogue has {n_items}; "
            "retrain the model on this dataset"
        )
    members = validate_members(members, n_items)
    mask = candidate_mask(catalogue, members, exclude, filters)
    cand = np.flatnonzero(mask)
    pop = popularity(stats.counts)[cand] if novelty else np.zeros(len(cand))
    if members:
        if model is None:
            raise ValueError("a room with members needs a model to predict their stars")
        blend_all, shown_all = member_matrices(model, catalogue, members)
        pred, shown = blend_all[:, cand], shown_all[:, cand]
        # the strategy blends stars traded against popularity; reasons use the plain ones
        chosen, score, whom = strat.select(with_novelty(pred, pop, novelty), k)
        unit = strat.score_unit
    else:  # an empty room: the prior, popular and well rated
        pred = shown = np.empty((0, len(cand)))
        prior = with_novelty(stats.prior[cand][None, :], pop, novelty)[0]
        chosen = top_k(prior, k)
        score, whom, unit = prior[chosen], np.full(len(chosen), -1), "★"
    items = cand[chosen]
    frame = catalogue.movies.iloc[items][["movieId", "label", "year", "genres"]]
    frame = frame.reset_index(drop=True)  # keeps the catalogue's dtypes, no re-conversion
    frame.insert(0, "rank", np.arange(1, len(items) + 1))
    frame.insert(1, "item", items)
    frame["group_score"] = np.round(np.asarray(score, dtype=np.float64), 4)
    names = [m.name for m in members]
    ranks = member_ranks(pred, chosen) if members else np.empty((0, len(chosen)), np.int64)
    # a member who rated nothing sees the prior: "their top match" would claim too much
    ranks[[r for r, m in enumerate(members) if not len(m.items)]] = 10
    frame["reason"] = [
        explain(
            names,
            shown[:, c] if members else np.empty(0),
            ranks[:, j] if members else np.empty(0),
            int(whom[j]),
            prior=(float(stats.means[items[j]]), int(stats.counts[items[j]])),
        )
        for j, c in enumerate(chosen)
    ]
    for r, name in enumerate(names):
        frame[f"pred:{name}"] = np.round(shown[r, chosen], 2)
    frame.attrs["strategy"] = strat.name
    frame.attrs["score_unit"] = unit
    frame.attrs["novelty"] = novelty
    return frame


__all__ = [
    "DEFAULT_STRATEGY",
    "FAIR_TOP_N",
    "FAIR_WEIGHT",
    "MAX_NOVELTY",
    "STRATEGIES",
    "Filters",
    "Member",
    "RoomModel",
    "Selector",
    "Strategy",
    "average",
    "average_without_misery",
    "blend",
    "borda",
    "calibrate",
    "check_novelty",
    "explain",
    "fair_selector",
    "gfar_relevance",
    "greedy_coverage",
    "least_misery",
    "like_probability",
    "member_matrices",
    "member_predictions",
    "most_pleasure",
    "multiplicative",
    "popularity",
    "prior_scores",
    "rank_points",
    "recommend",
    "top_k",
    "validate_members",
    "with_novelty",
]
