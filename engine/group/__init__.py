"""Films a whole room will enjoy: fold each member in, predict, blend, explain.

``recommend`` is the one entry point that turns members and a model into a ranked, explained
frame. The parts, each usable on its own:

- ``strategies``: the classic blends and the pieces all strategies share (testable without a
  model); ``fairness``: the rank-aware fair re-rankers (GFAR, GreedyLM, SPGreedy, XPO, fair);
  ``registry``: the named strategies and what each ranks by;
- ``members``: who is in the room, what they may pick (filters), and input validation;
- ``predict``: each member folded in and scored, on the star scale;
- ``novelty``: trading predicted enjoyment against "probably seen already";
- ``explain``: the reason shown beside each pick, in the strategy's own terms.

Per-catalogue numbers (counts, priors, genres, years) come from ``Ratings.stats``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.ratings import Ratings
from engine.group.explain import Pick, explain, member_ranks, reason
from engine.group.fairness import (
    FAIR_LIKE_AT,
    FAIR_TOP_N,
    TOP_N,
    borda_relevance,
    fair_selector,
    gfar_selector,
    greedy_lm_selector,
    member_top_lists,
    sp_greedy_selector,
)
from engine.group.members import Filters, Member, candidate_mask, validate_members
from engine.group.novelty import check_novelty, novelty_rerank, pool_size, seen_probability
from engine.group.predict import (
    RoomModel,
    calibrate,
    member_matrices,
    member_predictions,
    prior_scores,
)
from engine.group.registry import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    Strategy,
    blend,
    check_k,
    strategy_named,
)
from engine.group.strategies import (
    Selection,
    Selector,
    average,
    average_without_misery,
    borda,
    fallback_order,
    least_misery,
    like_probability,
    most_pleasure,
    multiplicative,
    rank_points,
    top_k,
)
from engine.group.xpo import xpo_selector

PRIOR_LABEL = "damped mean rating (popular, well rated films)"


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

    Columns: rank, item, movieId, label, year, genres, group_score, reason, then one
    ``pred:<name>`` column per member. ``group_score`` is what the strategy ranked by; the
    frame's attrs say what it is: ``strategy``, ``score_label`` (in words), ``score_unit``
    ("★", or "" for a plain number), ``score_order`` ("descending": falls down the list;
    "ascending": a running total that builds up), ``score_scale`` ("stars", or "rank-calibrated
    stars" when the model ranks by something other than stars), ``novelty``, and
    ``member_ranks`` ({name: each row's 0-based place in that member's own ranking, capped at
    10; 10 also for a member who rated nothing}), so a page can say in whose top 10 a pick is.

    ``novelty`` (0 = off … 1 = strongest) trades predicted enjoyment against the chance each
    member has seen the film already (``engine.group.novelty``). Fewer than k rows only when
    fewer films pass the filters. An empty room gets the prior (popular, well rated films) and
    needs no model. Ties fall back to the group's mean stars, then each film's prior.
    """
    strat = strategy_named(strategy)
    k = check_k(k)
    novelty = check_novelty(novelty)
    exclude = list(exclude)
    room = _prepare(model, catalogue, members, exclude, filters)
    if room is None:  # an empty room: the prior, popular and well rated
        cand = np.flatnonzero(candidate_mask(catalogue, [], exclude, filters))
        return _prior_frame(catalogue, cand, k, novelty)
    return _ranked(strat, room, catalogue, k, novelty)


def recommend_each(
    model: RoomModel | None,
    catalogue: Ratings,
    members: Sequence[Member],
    strategies: Iterable[str] | None = None,
    k: int = 10,
    exclude: Iterable[int] = (),
    filters: Filters | None = None,
) -> dict[str, pd.DataFrame]:
    """``recommend``'s frame for each of ``strategies`` (default: all), the members folded in
    and scored once: what a page needs to say which choices give this room the same list."""
    names = list(STRATEGIES if strategies is None else strategies)
    chosen = [strategy_named(n) for n in names]
    k = check_k(k)
    exclude = list(exclude)
    room = _prepare(model, catalogue, members, exclude, filters)
    if room is None:
        cand = np.flatnonzero(candidate_mask(catalogue, [], exclude, filters))
        prior = _prior_frame(catalogue, cand, k, 0.0)
        return {n: prior.copy() for n in names}
    return {s.name: _ranked(s, room, catalogue, k, 0.0) for s in chosen}


@dataclass(frozen=True)
class _Room:
    """A room ready to rank: its members, the candidate films, their priors (tie-breaks), and
    each member's stars to blend (``pred``) and to show (``shown``) over the candidates."""

    members: list[Member]
    cand: np.ndarray
    prior: np.ndarray
    pred: np.ndarray
    shown: np.ndarray
    calibrated: bool


def _prepare(
    model: RoomModel | None,
    catalogue: Ratings,
    members: Sequence[Member],
    exclude: Iterable[int],
    filters: Filters | None,
) -> _Room | None:
    """Validate the room and predict every member once; None for a room without members."""
    stats = catalogue.stats
    n_items = stats.n_items
    if model is not None and model.n_items != n_items:
        raise ValueError(
            f"the model knows {model.n_items} films but the catalogue has {n_items}; "
            "retrain the model on this dataset"
        )
    members = validate_members(members, n_items)
    if not members:
        return None
    if model is None:
        raise ValueError("a room with members needs a model to predict their stars")
    cand = np.flatnonzero(candidate_mask(catalogue, members, exclude, filters))
    prior = np.asarray(stats.prior, dtype=np.float64)
    blend_all, shown_all = member_matrices(model, catalogue, members)
    return _Room(
        members,
        cand,
        prior[cand],
        blend_all[:, cand],
        shown_all[:, cand],
        model.kind != "explicit",
    )


def _ranked(
    strat: Strategy, room: _Room, catalogue: Ratings, k: int, novelty: float
) -> pd.DataFrame:
    """One strategy's explained frame for a prepared room (``recommend``'s columns and attrs)."""
    members, cand, pred, shown = room.members, room.cand, room.pred, room.shown
    picked = strat.select(pred, pool_size(k, len(cand), novelty), room.prior)
    if novelty > 0:
        seen = np.stack([seen_probability(catalogue, m.items)[cand] for m in members])
        picked = novelty_rerank(picked, seen, novelty, k)
    chosen = picked.positions
    own = picked.scores if picked.own_scores is None else picked.own_scores
    items = cand[chosen]
    frame = _films(catalogue, items)
    frame["group_score"] = np.round(np.asarray(picked.scores, dtype=np.float64), 4)
    names = [m.name for m in members]
    ranks = member_ranks(pred, chosen)
    # a member who rated nothing sees the prior: "their top match" would claim too much
    blank = [r for r, m in enumerate(members) if not len(m.items)]
    ranks[blank] = 10
    lists = None if picked.lists is None else picked.lists.copy()
    if lists is not None:
        lists[blank] = False
    frame["reason"] = [
        reason(
            strat.name,
            Pick(
                names,
                shown[:, c],
                float(own[j]),
                int(picked.served[j]) if int(picked.served[j]) not in blank else -1,
                None if lists is None else lists[:, j],
                bool(picked.filled[j]) if picked.filled is not None else False,
            ),
            ranks[:, j],
        )
        for j, c in enumerate(chosen)
    ]
    for r, name in enumerate(names):
        frame[f"pred:{name}"] = np.round(shown[r, chosen], 2)
    if novelty > 0 and picked.seen_share is not None:
        frame["reason"] = [
            f"{r}; seen by ~{share:.0%} of you (novelty)"
            for r, share in zip(frame["reason"], picked.seen_share, strict=True)
        ]
    frame.attrs.update(
        strategy=strat.name,
        score_label=strat.score_label if novelty == 0 else novelty_label(strat.label, novelty),
        score_unit=strat.score_unit if novelty == 0 else "",
        score_order=strat.score_order if novelty == 0 else "descending",
        score_scale="rank-calibrated stars" if room.calibrated else "stars",
        novelty=novelty,
        member_ranks={name: ranks[r].tolist() for r, name in enumerate(names)},
    )
    return frame


def novelty_label(strategy_label: str, novelty: float) -> str:
    """What ``group_score`` is once novelty re-ranked the list."""
    return (
        f"place in the {strategy_label} list (1 = its first pick) − {novelty:g} × share of you "
        "likely to have seen it"
    )


def _films(catalogue: Ratings, items: np.ndarray) -> pd.DataFrame:
    frame = catalogue.movies.iloc[items][["movieId", "label", "year", "genres"]]
    frame = frame.reset_index(drop=True)  # keeps the catalogue's dtypes, no re-conversion
    frame.insert(0, "rank", np.arange(1, len(items) + 1))
    frame.insert(1, "item", items)
    return frame


def _prior_frame(catalogue: Ratings, cand: np.ndarray, k: int, novelty: float) -> pd.DataFrame:
    """An empty room's list: the damped mean rating, ties by rating count; with novelty, that
    list's pool re-ranked against plain popularity (the share of users who rated each film)."""
    stats = catalogue.stats
    prior = np.asarray(stats.prior, dtype=np.float64)[cand]
    chosen = top_k(prior, pool_size(k, len(cand), novelty), [stats.counts[cand]])
    picked = Selection(chosen, prior[chosen], np.full(len(chosen), -1, np.int64))
    picked = novelty_rerank(picked, stats.popularity[cand][None, :], novelty, k)
    items = cand[picked.positions]
    frame = _films(catalogue, items)
    frame["group_score"] = np.round(np.asarray(picked.scores, dtype=np.float64), 4)
    frame["reason"] = [
        explain([], np.empty(0), np.empty(0), prior=(float(stats.means[i]), int(stats.counts[i])))
        for i in items
    ]
    frame.attrs.update(
        strategy="prior",
        score_label=PRIOR_LABEL if novelty == 0 else novelty_label("popular", novelty),
        score_unit="★" if novelty == 0 else "",
        score_order="descending",
        score_scale="stars",
        novelty=novelty,
    )
    return frame


def distinct_lists(frames: dict[str, pd.DataFrame]) -> list[list[str]]:
    """Strategies grouped by the list they give (same films in the same order): a room where
    several strategies agree sees them named together, never as a choice that changes nothing."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for name, frame in frames.items():
        groups.setdefault(tuple(int(i) for i in frame["item"]), []).append(name)
    return list(groups.values())


__all__ = [
    "DEFAULT_STRATEGY",
    "FAIR_LIKE_AT",
    "FAIR_TOP_N",
    "PRIOR_LABEL",
    "STRATEGIES",
    "TOP_N",
    "Filters",
    "Member",
    "Pick",
    "RoomModel",
    "Selection",
    "Selector",
    "Strategy",
    "average",
    "average_without_misery",
    "blend",
    "borda",
    "borda_relevance",
    "calibrate",
    "check_novelty",
    "distinct_lists",
    "explain",
    "fair_selector",
    "fallback_order",
    "gfar_selector",
    "greedy_lm_selector",
    "least_misery",
    "like_probability",
    "member_matrices",
    "member_predictions",
    "member_top_lists",
    "most_pleasure",
    "multiplicative",
    "novelty_label",
    "prior_scores",
    "rank_points",
    "reason",
    "recommend",
    "recommend_each",
    "seen_probability",
    "sp_greedy_selector",
    "top_k",
    "validate_members",
    "xpo_selector",
]
