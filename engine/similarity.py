"""Which films are alike, in ways a film fan recognises: co-watching with popularity damped,
taste-factor cosines with popularity damped, and the graph model's skip-gram pair score; plus the
plain-word reason two films are linked.

Why these and not raw cosines (``python -m engine bench --protocols Similar``, its table in
docs/BENCHMARKS.md, measures every similarity the app offers against a franchise set built from
titles, genre coherence and how often the most popular films fill a neighbourhood):

* **Co-watched, damped** (``CoWatch``). ``c_ij`` people rated both films, ``n_i`` and ``n_j``
  rated each. The score of ``j`` as a neighbour of ``i`` is the asymmetric cosine of Aiolli
  (2013), ``c_ij / (n_i^(1-β) · n_j^β)``, times the shrinkage ``c_ij / (c_ij + λ)`` (Koren 2008):
  β = ½ is the plain cosine, β = 1 the lift ``P(j | i) / P(j)`` (the ranking PMI gives for a fixed
  ``i``). A larger β damps popular neighbours: with the cosine, Forrest Gump and Pulp Fiction are
  "similar" to everything because everyone rated them; with β near 1 a film needs its own
  audience. The shrinkage keeps two strangers' coincidence (c = 1 or 2) from ranking first.
  Any rating counts, not just a like: a sequel is *watched* by the first film's audience whether
  they loved it or not. Co-likes (rated at least the like threshold by both) give the reason.
  Last, the score is multiplied by ``1 + w · J`` (``J`` the Jaccard overlap of the two films'
  genre sets): among films the same people watched, the ones of the same kind come first, and
  the link has a second reason a person can read ("both Animation and Children").
* **Taste factors, damped** (``VectorSimilarity``): the cosine of two films' learned vectors
  minus ``γ · log(1 + n_j)``, the same damping applied to a model's own geometry.
* **Walked past** (``CentreContextSimilarity``): the graph model's skip-gram centre·context
  product, its best score in protocol Graph-A. Measured in protocol Similar, not offered in the
  app: it finds fewer sequels than co-watching (docs/DECISIONS.md, "Explore's similar films").

Both answer ``similar_items(item, k)`` like a model, so ``engine.insights``'s neighbour lists and
ego graphs use them unchanged; both build in well under a second on the embedded sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.data.ratings import Ratings

#: Defaults chosen by the Similar protocol's table (docs/BENCHMARKS.md, section "Similar").
COWATCH_BETA = 0.9
COWATCH_SHRINK = 2.0
GENRE_WEIGHT = 1.0
VECTOR_DAMPING = 0.15
LIKE_THRESHOLD = 4.0


def _top(scores: np.ndarray, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best finite scores other than ``item``, best first, ties by film index."""
    scores = scores.astype(np.float64, copy=True)
    scores[item] = -np.inf
    finite = np.flatnonzero(np.isfinite(scores))
    order = finite[np.lexsort((finite, -scores[finite]))][:k]
    return order.astype(np.int64), scores[order]


@dataclass(frozen=True)
class CoWatch:
    """Who rated (and loved) which film, and the damped co-watching score (module docstring).

    ``seen`` is people × films (1 where rated), ``seen_by`` and ``liked_by`` are films × people
    (1 where rated / rated at least the like threshold), ``raters`` people per film. Counts for
    one film are computed when asked (its raters' rows summed: milliseconds), never the whole
    films × films matrix, so building is as cheap as reading the ratings.
    """

    seen: sp.csr_matrix
    seen_by: sp.csr_matrix
    liked_by: sp.csr_matrix
    raters: np.ndarray
    genres: sp.csr_matrix  # films × genres, 1 where the film lists the genre
    beta: float = COWATCH_BETA
    shrink: float = COWATCH_SHRINK
    genre_weight: float = GENRE_WEIGHT
    name: str = "co-watched"

    @classmethod
    def build(
        cls,
        ratings: Ratings,
        beta: float = COWATCH_BETA,
        shrink: float = COWATCH_SHRINK,
        genre_weight: float = GENRE_WEIGHT,
        like_threshold: float = LIKE_THRESHOLD,
    ) -> CoWatch:
        if not 0.0 <= beta <= 1.0 or shrink < 0 or genre_weight < 0:
            raise ValueError(
                "beta must be in [0, 1], shrink and genre_weight >= 0, not "
                f"{beta}, {shrink}, {genre_weight}"
            )
        x = ratings.csr().astype(np.float64)
        seen = x.copy()
        seen.data = np.ones_like(seen.data)
        liked = x.copy()
        liked.data = (liked.data >= like_threshold).astype(np.float64)
        liked.eliminate_zeros()
        return cls(
            seen.tocsr(),
            seen.T.tocsr(),
            liked.T.tocsr(),
            np.asarray(seen.sum(axis=0)).ravel(),
            genre_matrix(ratings.stats.genre_lists),
            float(beta),
            float(shrink),
            float(genre_weight),
        )

    @property
    def n_items(self) -> int:
        return len(self.raters)

    def counts(self, item: int) -> sp.csr_matrix:
        """1 × films: how many people rated both ``item`` and each film (``item`` itself 0)."""
        row = (self.seen_by[int(item)] @ self.seen).tocsr()
        row.data[row.indices == int(item)] = 0
        row.eliminate_zeros()
        return row

    def _score(
        self, c: np.ndarray, n_i: np.ndarray | float, n_j: np.ndarray, overlap: np.ndarray | None
    ) -> np.ndarray:
        """The module docstring's formula: co-watchers ``c``, raters ``n_i`` and ``n_j``, genre
        Jaccard ``overlap`` (None: genre weight 0), elementwise; 0 where ``c`` is 0 (no
        shrinkage would otherwise make that 0 / 0)."""
        n_i, n_j = np.maximum(n_i, 1.0), np.maximum(n_j, 1.0)
        shrunk = np.divide(c, c + self.shrink, out=np.zeros_like(c), where=c > 0)
        score = c / (n_i ** (1.0 - self.beta) * n_j**self.beta) * shrunk
        return score if overlap is None else score * (1.0 + self.genre_weight * overlap)

    def scores(self, item: int) -> np.ndarray:
        """Every film's score as a neighbour of ``item`` (-inf where nobody rated both)."""
        row = self.counts(item)
        out = np.full(self.n_items, -np.inf)
        overlap = genre_jaccard(self.genres, item, row.indices) if self.genre_weight > 0 else None
        out[row.indices] = self._score(
            row.data.astype(np.float64),
            float(self.raters[item]),
            self.raters[row.indices].astype(np.float64),
            overlap,
        )
        return out

    def pair_scores(self, pairs: np.ndarray) -> np.ndarray:
        """The score of each unordered pair [m, 2]: the mean of its two directions (β ≠ ½ makes
        the score asymmetric; a link between two films has no direction), 0 where nobody rated
        both. What protocols Graph-A and Graph-B rank pairs by, without a films × films matrix."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if len(pairs) == 0:
            return np.empty(0)
        i, j = pairs[:, 0], pairs[:, 1]
        c = np.asarray(self.seen_by[i].multiply(self.seen_by[j]).sum(axis=1)).ravel()
        overlap = None
        if self.genre_weight > 0:
            inter = np.asarray(self.genres[i].multiply(self.genres[j]).sum(axis=1)).ravel()
            sizes = np.asarray(self.genres.sum(axis=1)).ravel()
            union = sizes[i] + sizes[j] - inter
            overlap = np.where(union > 0, inter / np.maximum(union, 1.0), 0.0)
        n_i, n_j = self.raters[i].astype(np.float64), self.raters[j].astype(np.float64)
        both = self._score(c, n_i, n_j, overlap) + self._score(c, n_j, n_i, overlap)
        return 0.5 * both

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best neighbours of ``item`` and their scores, best first."""
        if not 0 <= int(item) < self.n_items:
            raise ValueError(f"film index {item} is not in the catalogue of {self.n_items}")
        return _top(self.scores(int(item)), int(item), max(int(k), 1))

    def together(self, a: int, b: int) -> tuple[int, int]:
        """(people who rated both, people who loved both)."""
        watched = self.seen_by[int(a)].multiply(self.seen_by[int(b)]).sum()
        liked = self.liked_by[int(a)].multiply(self.liked_by[int(b)]).sum()
        return int(watched), int(liked)


@dataclass(frozen=True)
class VectorSimilarity:
    """Cosine of film vectors minus ``damping`` × the neighbour's log popularity."""

    unit: np.ndarray  # [films, d], rows of norm 1 (or 0 for a zero vector)
    penalty: np.ndarray  # [films], damping × log(1 + #ratings)
    name: str = "taste"

    @classmethod
    def build(
        cls, vectors: np.ndarray, counts: np.ndarray, damping: float = VECTOR_DAMPING
    ) -> VectorSimilarity:
        v = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        unit = v / np.where(norms > 1e-12, norms, 1.0)
        return cls(unit, float(damping) * np.log1p(np.asarray(counts, dtype=np.float64)))

    @property
    def n_items(self) -> int:
        return len(self.unit)

    def scores(self, item: int) -> np.ndarray:
        return self.unit @ self.unit[int(item)] - self.penalty

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= int(item) < self.n_items:
            raise ValueError(f"film index {item} is not in the catalogue of {self.n_items}")
        return _top(self.scores(int(item)), int(item), max(int(k), 1))


@dataclass(frozen=True)
class CentreContextSimilarity:
    """Skip-gram's own pair score, ½(h_i·v_j + h_j·v_i) (centre vectors h, context vectors v),
    minus ``damping`` × the neighbour's log popularity, as ``VectorSimilarity`` damps a cosine.

    The graph model's cosine of centre vectors only ties Adamic–Adar in protocol Graph-A; this
    product, which is what the skip-gram was trained to predict (film j near film i on a walk),
    beats it, so protocol Similar scores the graph model's neighbours by it too (the pair form
    is ``engine.evaluate.graph_pairs.context_scorer``). A film with a zero centre vector (off
    the graph: no walk ever trained it) is nobody's neighbour and has none (-inf)."""

    centre: np.ndarray  # [films, d]
    context: np.ndarray  # [films, d]
    penalty: np.ndarray  # [films], damping × log(1 + #ratings), -inf off the graph
    name: str = "walks"

    @classmethod
    def build(
        cls,
        centre: np.ndarray,
        context: np.ndarray,
        counts: np.ndarray,
        damping: float = 0.0,
    ) -> CentreContextSimilarity:
        h, v = np.asarray(centre, np.float64), np.asarray(context, np.float64)
        if h.shape != v.shape:
            raise ValueError(f"centre {h.shape} and context {v.shape} vectors differ in shape")
        penalty = float(damping) * np.log1p(np.asarray(counts, dtype=np.float64))
        off = np.linalg.norm(h, axis=1) <= 1e-12
        return cls(h, v, np.where(off, np.inf, penalty))

    @property
    def n_items(self) -> int:
        return len(self.centre)

    def scores(self, item: int) -> np.ndarray:
        """Every film's score as a neighbour of ``item`` (-inf everywhere for a film off the
        graph, and for films off it)."""
        i = int(item)
        if not np.isfinite(self.penalty[i]):
            return np.full(self.n_items, -np.inf)
        return 0.5 * (self.context @ self.centre[i] + self.centre @ self.context[i]) - self.penalty

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= int(item) < self.n_items:
            raise ValueError(f"film index {item} is not in the catalogue of {self.n_items}")
        return _top(self.scores(int(item)), int(item), max(int(k), 1))


def genre_matrix(genre_lists: list[list[str]]) -> sp.csr_matrix:
    """films × genres, 1 where a film lists a genre (formats such as IMAX left out)."""
    names = sorted({g for gl in genre_lists for g in gl if g != "IMAX"})
    column = {g: k for k, g in enumerate(names)}
    rows = [i for i, gl in enumerate(genre_lists) for g in gl if g in column]
    cols = [column[g] for gl in genre_lists for g in gl if g in column]
    data = np.ones(len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=(len(genre_lists), max(len(names), 1)))


def genre_jaccard(genres: sp.csr_matrix, item: int, others: np.ndarray) -> np.ndarray:
    """Jaccard overlap of ``item``'s genre set with each of ``others``' (0 when both are empty)."""
    mine = genres.getrow(int(item))
    sub = genres[others]
    inter = np.asarray((sub @ mine.T).todense()).ravel()
    sizes = np.asarray(sub.sum(axis=1)).ravel()
    union = sizes + mine.sum() - inter
    return np.where(union > 0, inter / np.maximum(union, 1.0), 0.0)


#: MovieLens genre names as people say them in a sentence ("both family animation").
GENRE_WORDS = {"Children": "family", "Sci-Fi": "science fiction", "Film-Noir": "film noir"}


def shared_genres(genres_a: list[str], genres_b: list[str]) -> list[str]:
    """Genres both films list, in plain lower-case words, in the first film's order (formats
    such as IMAX left out)."""
    other = set(genres_b)
    return [GENRE_WORDS.get(g, g).lower() for g in genres_a if g in other and g != "IMAX"]


def link_reason(
    cowatch: CoWatch | None, genres_a: list[str], genres_b: list[str], a: int, b: int
) -> str:
    """Why two films are linked, in plain words: "61 people loved both · both animation and
    family"; "" when there is nothing to say."""
    parts = []
    if cowatch is not None:
        watched, liked = cowatch.together(a, b)
        if liked >= 2:
            parts.append(f"{liked} people loved both")
        elif watched >= 2:
            parts.append(f"{watched} people watched both")
    genres = shared_genres(genres_a, genres_b)
    if genres:
        parts.append(
            "both " + (" and ".join(genres[:2]) if len(genres) <= 2 else ", ".join(genres[:3]))
        )
    return " · ".join(parts)
