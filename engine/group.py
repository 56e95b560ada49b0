"""Films a whole room will enjoy: fold each member in, predict, blend, explain.

The blend is a set of pure functions over a ``[members × films]`` matrix of predicted stars, so
every strategy can be tested on hand-made matrices without a model. ``recommend`` is the one
entry point that turns members and a model into a ranked, explained frame.

Strategies follow the group-recommender literature (Masthoff 2011 for the classic aggregations;
Kaya, Bridge & Tintarev, RecSys 2020 for GFAR, the fairness-aware greedy re-ranking).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from engine.data.ratings import MAX_RATING, MIN_RATING, Ratings

# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Member:
    """One person in the room: their star ratings (item indices and values).

    "Haven't seen it" answers are not ratings and are not passed here.
    """

    name: str
    items: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))


@dataclass(frozen=True)
class Filters:
    """What the room wants tonight: any of ``genres`` (empty = all), a year range (inclusive),
    and a minimum number of ratings in the catalogue (a proxy for "people know it")."""

    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    min_ratings: int = 0


# ---------------------------------------------------------------------------- pure blends

LIKE_AT = 3.75  # stars from which a member is more likely than not to like a film
LIKE_WIDTH = 0.35  # stars over which P(like) goes from ~27 % to ~73 %


def top_k(key: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest keys, best first, ties broken by position (= item index)."""
    k = min(k, len(key))
    if k <= 0:
        return np.empty(0, np.int64)
    key = np.where(np.isnan(key), -np.inf, key)
    if k < len(key):
        # argpartition first so large catalogues never get a full sort; the boundary value is
        # kept inclusively so ties at the cut are settled by index below, not by partition luck
        kth = np.partition(key, len(key) - k)[len(key) - k]
        pool = np.flatnonzero(key >= kth)
    else:
        pool = np.arange(len(key))
    order = np.lexsort((pool, -key[pool]))
    return pool[order[:k]].astype(np.int64)


def average(pred: np.ndarray) -> np.ndarray:
    """Mean predicted stars: utilitarian, can leave one member with a film they dislike."""
    return pred.mean(axis=0)


def least_misery(pred: np.ndarray) -> np.ndarray:
    """The least happy member's stars: nobody suffers, but nobody's favourite wins either."""
    return pred.min(axis=0)


def most_pleasure(pred: np.ndarray) -> np.ndarray:
    """The happiest member's stars: someone will love it."""
    return pred.max(axis=0)


def average_without_misery(pred: np.ndarray, threshold: float = 3.0) -> np.ndarray:
    """Mean stars, but films anyone is predicted to rate below ``threshold`` rank after all others
    (shifted down by the whole star range, so the order within each part is still the mean)."""
    mean = pred.mean(axis=0)
    vetoed = pred.min(axis=0) < threshold
    return np.where(vetoed, mean - (MAX_RATING - MIN_RATING + 1.0), mean)


def borda(pred: np.ndarray) -> np.ndarray:
    """Mean Borda points: each member ranks the films and gives 0 (worst) .. 1 (best); ties share
    the average points. Insensitive to each member's scale."""
    return rank_points(pred).mean(axis=0)


def multiplicative(pred: np.ndarray) -> np.ndarray:
    """Product of stars, shown as their geometric mean (same order, stays on the star scale)."""
    return np.exp(np.log(np.clip(pred, 1e-6, None)).mean(axis=0))


def rank_points(pred: np.ndarray) -> np.ndarray:
    """Per row, average-rank points in [0, 1] (1 = that member's best film)."""
    m, n = pred.shape
    if n <= 1:
        return np.ones_like(pred, dtype=np.float64)
    out = np.empty((m, n))
    for r in range(m):  # one vectorised ranking per member, never per film
        out[r] = _average_ranks(pred[r])
    return out / (n - 1)


def _average_ranks(row: np.ndarray) -> np.ndarray:
    """0-based ranks (ascending) with ties sharing their mean rank, like scipy's rankdata - 1."""
    order = np.argsort(row, kind="stable")
    sorted_ = row[order]
    new = np.concatenate([[True], sorted_[1:] != sorted_[:-1]])
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.concatenate([starts[1:], [len(row)]])
    mean_rank = (starts + ends - 1) / 2.0
    ranks = np.empty(len(row))
    ranks[order] = mean_rank[group]
    return ranks


def like_probability(
    pred: np.ndarray, at: float = LIKE_AT, width: float = LIKE_WIDTH
) -> np.ndarray:
    """P(member likes film) from predicted stars: a logistic around ``at`` stars."""
    return 1.0 / (1.0 + np.exp(-(pred - at) / width))


def gfar_relevance(pred: np.ndarray, top_n: int = 20) -> np.ndarray:
    """GFAR's p(rel | member, film): normalised Borda points within each member's own top-n
    (1 for their best, falling linearly, 0 outside the top-n). Ties by film position."""
    m, n = pred.shape
    rel = np.zeros((m, n))
    top_n = min(top_n, n)
    for r in range(m):
        best = top_k(pred[r], top_n)
        rel[r, best] = (top_n - np.arange(len(best))) / top_n
    return rel


def greedy_coverage(
    rel: np.ndarray, k: int, base: np.ndarray | None = None, weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GFAR's greedy: pick the film that most raises Σ_members P(at least one relevant film).

    ``rel`` is [members × films] relevance probabilities. Each step's gain for film i is
    Σ_u rel[u,i] · Π_{j chosen} (1 - rel[u,j]): a member already served counts for less.
    ``base`` (optional, [films]) is added times ``weight`` to each gain, trading coverage
    against plain quality. Returns (positions, gains, beneficiary member per pick).
    """
    m, n = rel.shape
    k = min(k, n)
    unmet = np.ones(m)  # Π (1 - rel) over chosen films, per member
    free = np.ones(n, dtype=bool)
    picks, gains, whom = [], [], []
    for _ in range(k):  # k steps over the whole candidate vector each; no per-film Python
        per_member = rel * unmet[:, None]
        gain = per_member.sum(axis=0)
        if base is not None:
            gain = gain + weight * base
        gain = np.where(free, gain, -np.inf)
        best = int(top_k(gain, 1)[0])
        picks.append(best)
        gains.append(gain[best])
        whom.append(int(np.argmax(per_member[:, best])) if m else -1)
        free[best] = False
        unmet = unmet * (1.0 - rel[:, best])
    return np.array(picks, np.int64), np.array(gains), np.array(whom, np.int64)


# ---------------------------------------------------------------------------- strategies

Selector = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Strategy:
    """A named way to turn everyone's predicted stars into one list.

    ``select(pred, k)`` takes a [members × candidates] star matrix and returns (positions of the
    chosen candidates best first, their group scores, the member each was chosen for or -1).
    """

    name: str
    label: str
    description: str
    select: Selector
    score_unit: str = "★"


def _by_key(key_fn: Callable[[np.ndarray], np.ndarray]) -> Selector:
    def select(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = key_fn(pred)
        chosen = top_k(key, k)
        return chosen, key[chosen], np.full(len(chosen), -1, np.int64)

    return select


def _gfar(top_n: int = 20) -> Selector:
    def select(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return greedy_coverage(gfar_relevance(pred, top_n), k)

    return select


# Chosen by ``python -m engine.tuning fair``: protocol G on five tuning splits and groups that the
# benchmark never reports (``engine.evaluate.protocol_g.tune_fair``). Of top_n 20–100 and weights
# 0–0.1, seven settings met the G target for every model (hybrid, als, ease, mf with and without
# the popularity floor); (20, 0) had the largest worst-case gain in min-member NDCG, +8.3 %
# (the table: docs/tuning/fair.txt).
FAIR_TOP_N = 20  # GFAR's per-member list length
FAIR_WEIGHT = 0.0  # weight of the members' summed star share against coverage


def fair_selector(top_n: int = FAIR_TOP_N, weight: float = FAIR_WEIGHT) -> Selector:
    """GFAR's greedy coverage with P(like), plus a little of the plain average.

    A member's relevance for a film is its GFAR rank points within their top ``top_n`` *times*
    P(they like it) from the predicted stars, so a film ranked high among films someone dislikes
    anyway does not count as serving them. Films in several members' top lists come first
    (their gain sums over members); each later pick favours whoever is not yet served.

    ``weight`` > 0 adds the members' star share (0–1 of the star range, summed over members) to
    every gain, trading coverage for the plain average; tuning kept it at 0. A single draw of
    ~60 members swings these comparisons by several per cent, so the tuning pools five splits.
    """
    if top_n < 1 or weight < 0:
        raise ValueError("fair needs top_n ≥ 1 and weight ≥ 0")

    def select(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rel = gfar_relevance(pred, top_n) * like_probability(pred)
        quality = ((pred - MIN_RATING) / (MAX_RATING - MIN_RATING)).sum(axis=0)
        chosen, _, whom = greedy_coverage(rel, k, base=quality, weight=weight)
        return chosen, pred.mean(axis=0)[chosen], whom

    return select


def _awm(pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chosen = top_k(average_without_misery(pred), k)
    return chosen, pred.mean(axis=0)[chosen], np.full(len(chosen), -1, np.int64)


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "average",
            "Average",
            "Highest mean predicted rating. Best on the whole, but one person may sit through a film they dislike.",
            _by_key(average),
        ),
        Strategy(
            "least_misery",
            "Least misery",
            "Highest rating of the least happy member: nobody suffers, but favourites rarely win.",
            _by_key(least_misery),
        ),
        Strategy(
            "most_pleasure",
            "Most pleasure",
            "Highest rating of the happiest member: someone will love every pick.",
            _by_key(most_pleasure),
        ),
        Strategy(
            "average_without_misery",
            "Average without misery",
            "Highest mean rating among films nobody is predicted to rate below 3★.",
            _awm,
        ),
        Strategy(
            "borda",
            "Borda count",
            "Each member ranks the films; points by position are summed. Nobody's rating scale dominates.",
            _by_key(borda),
            score_unit=" pts",
        ),
        Strategy(
            "multiplicative",
            "Multiplicative",
            "Product of everyone's ratings: one low rating pulls a film down hard.",
            _by_key(multiplicative),
        ),
        Strategy(
            "gfar",
            "Fair share (GFAR)",
            "Greedy picks so that every member gets films from their own top 20 (Kaya et al. 2020).",
            _gfar(20),
            score_unit=" gain",
        ),
        Strategy(
            "fair",
            "Fair share",
            "Films in several people's top lists first, then picks that give each member not yet "
            "served a film from their own top list that they will probably like (GFAR-style).",
            fair_selector(),
        ),
    )
}

DEFAULT_STRATEGY = "fair"


def blend(pred: np.ndarray, strategy: str = DEFAULT_STRATEGY, k: int = 10):
    """Pure entry point: choose k of the columns of ``pred`` [members × films] (stars)."""
    return _strategy(strategy).select(_check_matrix(pred), _check_k(k))


def _strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown group strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number ≥ 1 (got {k!r})")
    return int(k)


def _check_matrix(pred: np.ndarray) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim != 2:
        raise ValueError(f"predictions must be a [members × films] matrix, got shape {pred.shape}")
    if not np.isfinite(pred).all():
        raise ValueError("predictions must be finite numbers")
    return pred


# ---------------------------------------------------------------------------- model side


class _CatalogueCache:
    """Per-catalogue arrays that every call needs (counts, prior, genre masks); built once."""

    def __init__(self, catalogue: Ratings):
        counts = catalogue.item_counts().astype(np.float64)
        self.n_items = n_items = catalogue.n_items  # len(movies) is not free: read it once
        sums = np.bincount(catalogue.items, catalogue.values, n_items)
        mu = float(catalogue.values.mean()) if len(catalogue) else 3.5
        self.counts = counts
        self.mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        # "popular and well rated": a damped mean (Bayesian average) pulls rarely rated films
        # towards the global mean, so a film needs both a high mean and many ratings to lead
        self.prior = (sums + PRIOR_DAMPING * mu) / (counts + PRIOR_DAMPING)
        self.typical = mu
        genres = catalogue.movies["genres"].astype(str)
        self.genre_lists = genres.str.split("|")
        self.genres = sorted({g for gs in self.genre_lists for g in gs if g})
        self._genre_masks: dict[str, np.ndarray] = {}
        years = catalogue.movies["year"]
        self.years = years.to_numpy(dtype=np.float64, na_value=np.nan)

    def genre_mask(self, genre: str) -> np.ndarray:
        if genre not in self._genre_masks:
            self._genre_masks[genre] = self.genre_lists.map(lambda gs: genre in gs).to_numpy(bool)
        return self._genre_masks[genre]


PRIOR_DAMPING = 20.0
_CACHES: weakref.WeakKeyDictionary[Ratings, _CatalogueCache] = weakref.WeakKeyDictionary()


def _cache(catalogue: Ratings) -> _CatalogueCache:
    cache = _CACHES.get(catalogue)
    if cache is None:
        cache = _CACHES[catalogue] = _CatalogueCache(catalogue)
    return cache


def prior_scores(catalogue: Ratings) -> np.ndarray:
    """Stars for someone we know nothing about: the damped mean rating of every film."""
    return _cache(catalogue).prior.copy()


def validate_members(members: Sequence[Member], n_items: int) -> list[Member]:
    """Members with clean arrays; a clear ValueError names the member and what to fix."""
    if isinstance(members, Member):
        members = [members]
    out, seen = [], set()
    for m in members:
        if not isinstance(m, Member):
            raise ValueError(f"members must be Member objects, got {type(m).__name__}")
        name = m.name.strip() if isinstance(m.name, str) else ""
        if not name:
            raise ValueError("every member needs a non-empty name")
        if name.casefold() in seen:
            raise ValueError(f"two members are called {name!r}; names must be unique")
        seen.add(name.casefold())
        try:
            items = np.asarray(m.items).reshape(-1)
            values = np.asarray(m.values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"{name}'s ratings must be numbers") from None
        if len(items) != len(values):
            raise ValueError(f"{name} has {len(items)} films but {len(values)} ratings")
        whole = np.issubdtype(items.dtype, np.integer) or (
            np.issubdtype(items.dtype, np.floating) and np.all(items == np.round(items))
        )
        if len(items) and not whole:
            raise ValueError(f"{name}'s films must be item indices (whole numbers)")
        items = items.astype(np.int64)
        if len(items) and (items.min() < 0 or items.max() >= n_items):
            bad = items[(items < 0) | (items >= n_items)][:3].tolist()
            raise ValueError(f"{name} rated films {bad} that are not in the catalogue of {n_items}")
        if not np.isfinite(values).all():
            raise ValueError(f"{name} has a rating that is not a number")
        if len(values) and (values.min() < MIN_RATING or values.max() > MAX_RATING):
            raise ValueError(
                f"{name}'s ratings must be between {MIN_RATING} and {MAX_RATING} stars"
            )
        if len(np.unique(items)) != len(items):
            raise ValueError(f"{name} rated the same film twice")
        out.append(Member(name, items, values.astype(np.float32)))
    return out


def member_predictions(model, catalogue: Ratings, members: Sequence[Member]) -> np.ndarray:
    """[members × films] predicted stars: each member folded in, scored over the whole catalogue.

    Explicit models already speak stars. Implicit scores mean nothing across people, so each
    member's scores become their percentile rank, mapped through the catalogue's own rating
    star scale (a member's favourite ~5★, their median film ~the catalogue's mean rating). Members who
    rated nothing get the prior (popular, well rated films).
    """
    return member_matrices(model, catalogue, members)[0]


def member_matrices(
    model, catalogue: Ratings, members: Sequence[Member]
) -> tuple[np.ndarray, np.ndarray]:
    """(what strategies blend, what members are shown), both [members × films] on the star scale.

    They are the same matrix except for models that rank by something other than stars but
    can also predict stars (``expected_stars(state)``, e.g. the hybrid's P(watch) × E[rating]):
    strategies blend the calibrated ranking, while reasons and per-member columns show the
    member's expected rating, which is what "Ana ~4.5★" promises.
    """
    cache = _cache(catalogue)
    blend = np.empty((len(members), cache.n_items))
    rated = [r for r, m in enumerate(members) if len(m.items)]
    for r, m in enumerate(members):
        if not len(m.items):
            blend[r] = cache.prior
    shown = blend.copy()
    if rated:
        scores, states = _scores(model, [members[r] for r in rated])
        blend[rated] = scores
        stars = getattr(model, "expected_stars", None)
        shown[rated] = (
            scores if stars is None else np.stack([_numpy(stars(state)) for state in states])
        )
    if getattr(model, "kind", "explicit") == "implicit" and rated:
        blend[rated] = calibrate(blend[rated], cache.typical)
        if getattr(model, "expected_stars", None) is None:
            shown[rated] = blend[rated]
    return np.clip(blend, MIN_RATING, MAX_RATING), np.clip(shown, MIN_RATING, MAX_RATING)


def _numpy(x) -> np.ndarray:
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _scores(model, members: Sequence[Member]) -> tuple[np.ndarray, list]:
    """[members × films] raw scores and the folded-in states. Models may offer batched
    ``fold_in_many(list of (items, values))`` and ``score_states(states)``; otherwise one fold-in
    and one vectorised score call per member (never per film)."""
    many = getattr(model, "fold_in_many", None)
    states = many([(m.items, m.values) for m in members]) if many else None
    if states is None:
        states = [model.fold_in(m.items, m.values) for m in members]
    batch = getattr(model, "score_states", None)
    if batch is not None:
        return _numpy(batch(states)), states
    return np.stack([_numpy(model.score(state)) for state in states]), states


def calibrate(scores: np.ndarray, typical: float = 3.5) -> np.ndarray:
    """Per row, percentile rank p → 0.5 + 4.5·p^γ stars, γ chosen so the median film gets the
    catalogue's ``typical`` rating. Strictly increasing, so no two films that the model tells
    apart end up tied (mapping through the empirical rating quantiles would flatten everyone's
    top 15 % to exactly 5★)."""
    n = scores.shape[1]
    pct = rank_points(scores) if n > 1 else np.ones_like(scores)
    span = MAX_RATING - MIN_RATING
    frac = float(np.clip((typical - MIN_RATING) / span, 0.05, 0.95))
    gamma = np.log(frac) / np.log(0.5)
    return MIN_RATING + span * pct**gamma


def candidate_mask(
    catalogue: Ratings, members: Sequence[Member], exclude: Iterable[int], filters: Filters | None
) -> np.ndarray:
    """Films that may be picked: not rated by any member, not watched, and passing the filters."""
    cache = _cache(catalogue)
    n = cache.n_items
    mask = np.ones(n, dtype=bool)
    for m in members:
        mask[m.items] = False
    try:
        watched = np.fromiter((int(i) for i in exclude), dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError("exclude must be film indices (whole numbers)") from None
    if len(watched) and (watched.min() < 0 or watched.max() >= n):
        raise ValueError(f"excluded films must be indices in 0..{n - 1}")
    mask[watched] = False
    if filters is None:
        return mask
    if not isinstance(filters, Filters):
        raise ValueError("filters must be a Filters object")
    if filters.genres:
        unknown = [g for g in filters.genres if g not in cache.genres]
        if unknown:
            raise ValueError(f"unknown genre(s) {unknown}; choose from {', '.join(cache.genres)}")
        mask &= np.logical_or.reduce([cache.genre_mask(g) for g in filters.genres])
    if filters.years is not None:
        try:
            lo, hi = (int(y) for y in filters.years)
        except (TypeError, ValueError):
            raise ValueError("years must be a (from, to) pair of whole years") from None
        if lo > hi:
            raise ValueError(f"year range {lo}–{hi} is empty; put the earlier year first")
        with np.errstate(invalid="ignore"):
            mask &= (cache.years >= lo) & (cache.years <= hi)
    if filters.min_ratings < 0:
        raise ValueError("min_ratings cannot be negative")
    if filters.min_ratings:
        mask &= cache.counts >= filters.min_ratings
    return mask


# ---------------------------------------------------------------------------- the entry point


def recommend(
    model,
    catalogue: Ratings,
    members: Sequence[Member],
    strategy: str = DEFAULT_STRATEGY,
    k: int = 10,
    exclude: Iterable[int] = (),
    filters: Filters | None = None,
) -> pd.DataFrame:
    """Top-k films for the room, best first, with everyone's predicted stars and a reason.

    Columns: rank, item, movieId, label, year, genres, group_score, reason, then one
    ``pred:<name>`` column per member. Fewer than k rows only when fewer films pass the filters.
    """
    strat = _strategy(strategy)
    k = _check_k(k)
    n_items = _cache(catalogue).n_items
    if model is not None and getattr(model, "n_items", n_items) != n_items:
        raise ValueError(
            f"the model knows {model.n_items} films but the catalogue has {n_items}; "
            "retrain the model on this dataset"
        )
    members = validate_members(members, n_items)
    mask = candidate_mask(catalogue, members, exclude, filters)
    cand = np.flatnonzero(mask)
    cache = _cache(catalogue)
    if members:
        blend_all, shown_all = member_matrices(model, catalogue, members)
        pred, shown = blend_all[:, cand], shown_all[:, cand]
        chosen, score, whom = strat.select(pred, k)
        unit = strat.score_unit
    else:  # an empty room: the prior, popular and well rated
        pred = shown = np.empty((0, len(cand)))
        chosen = top_k(cache.prior[cand], k)
        score, whom, unit = cache.prior[cand][chosen], np.full(len(chosen), -1), "★"
    items = cand[chosen]
    frame = catalogue.movies.iloc[items][["movieId", "label", "year", "genres"]]
    frame = frame.reset_index(drop=True)  # keeps the catalogue's dtypes, no re-conversion
    frame.insert(0, "rank", np.arange(1, len(items) + 1))
    frame.insert(1, "item", items)
    frame["group_score"] = np.round(np.asarray(score, dtype=np.float64), 4)
    names = [m.name for m in members]
    member_rank = _member_ranks(pred, chosen) if members else np.empty((0, len(chosen)))
    # a member who rated nothing sees the prior: "their top match" would claim too much
    member_rank[[r for r, m in enumerate(members) if not len(m.items)]] = 10
    frame["reason"] = [
        explain(
            names,
            shown[:, c] if members else np.empty(0),
            member_rank[:, j] if members else np.empty(0),
            whom[j],
            prior=(cache.mean[items[j]], int(cache.counts[items[j]])),
        )
        for j, c in enumerate(chosen)
    ]
    for r, name in enumerate(names):
        frame[f"pred:{name}"] = np.round(shown[r, chosen], 2)
    frame.attrs["strategy"] = strat.name
    frame.attrs["score_unit"] = unit
    return frame


def _member_ranks(pred: np.ndarray, chosen: np.ndarray, depth: int = 10) -> np.ndarray:
    """[members × chosen] 0-based rank of each chosen film among each member's candidates,
    exact below ``depth`` and capped at ``depth`` beyond (all a reason needs): one partition
    per member instead of a full sort."""
    m, n = pred.shape
    out = np.full((m, len(chosen)), depth, np.int64)
    if n == 0 or len(chosen) == 0:
        return out
    cut = min(depth + 1, n)
    for r in range(m):
        row = pred[r]
        top = np.sort(np.partition(row, n - cut)[n - cut :])  # the member's best, ascending
        # films strictly better than each chosen one, counted among the member's best
        out[r] = np.minimum(cut - np.searchsorted(top, row[chosen], side="right"), depth)
    return out


def explain(
    names: Sequence[str],
    preds: np.ndarray,
    ranks: np.ndarray,
    chosen_for: int = -1,
    prior: tuple[float, int] | None = None,
) -> str:
    """One line in plain words: who is predicted to like it and whose top match it is."""
    if len(names) == 0:
        mean, count = prior if prior is not None else (math.nan, 0)
        if count and np.isfinite(mean):
            return f"popular and well rated: {mean:.1f}★ average from {count} ratings"
        return "a safe bet for a new room"
    parts = []
    if len(names) == 1:
        parts.append(f"{names[0]} ~{preds[0]:.1f}★")
    else:
        low = float(preds.min())
        if len(names) <= 3:
            parts.append(", ".join(f"{n} ~{p:.1f}" for n, p in zip(names, preds, strict=True)))
        elif low >= 3.5:
            parts.append(f"everyone ≥ {math.floor(low * 10) / 10:.1f}★")
        else:
            weakest = names[int(np.argmin(preds))]
            parts.append(f"most of you ≥ {np.median(preds):.1f}★ ({weakest} ~{low:.1f})")
    top = [names[i] for i in np.flatnonzero(ranks == 0)]
    near = [names[i] for i in np.flatnonzero((ranks > 0) & (ranks < 10))]
    if top:
        parts.append(
            _join_names(top) + "'s top match"
            if len(top) == 1
            else f"top match for {_join_names(top)}"
        )
    elif near:
        parts.append(f"in {_join_names(near[:3])}'s top 10")
    elif 0 <= chosen_for < len(names) and len(names) > 1:
        parts.append(f"picked so {names[chosen_for]} gets a film too")
    return "; ".join(parts)


def _join_names(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    return ", ".join(names[:-1]) + " and " + names[-1]


__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "Filters",
    "Member",
    "Strategy",
    "blend",
    "calibrate",
    "fair_selector",
    "member_matrices",
    "member_predictions",
    "prior_scores",
    "recommend",
]
