"""IGCN elicitation: Information Gain through Clustered Neighbours (Rashid, Karypis & Riedl,
SIGKDD Explorations 2008), from its definition.

Training users are clustered once per catalogue (``CLUSTERS`` groups: k-means, scipy's
``kmeans2``, on each user's mean-centred ratings reduced to their top singular directions).
A film's information gain about a set of users S is how much knowing their answer about it
(not rated, or its half-star value) reduces the entropy of their cluster labels::

    IG(i) = H(C_S) − Σ_r |S_r(i)| / |S| · H(C_{S_r(i)})

Until the member has answered ``WARMUP`` films, S is every training user (the non-personalised
step); after that S is their ``NEIGHBOURS`` nearest training users by the similarity of their
ratings on the films the member answered (the personalised step), so each question separates the
clusters the member could still belong to. The films with the highest gain are asked first.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.cluster.vq import kmeans2
from scipy.sparse.linalg import svds

from engine.data.ratings import MIN_RATING, Ratings

CLUSTERS = 8
SVD_RANK = 16
NEIGHBOURS = 100
WARMUP = 3  # answers before the neighbourhood replaces the whole population
SEED = 0
_LABELS: dict[str, np.ndarray] = {}  # per catalogue fingerprint: cluster label of each user


def user_clusters(catalogue: Ratings, clusters: int = CLUSTERS) -> np.ndarray:
    """A cluster label per training user (seeded k-means on SVD-reduced, mean-centred ratings),
    computed once per catalogue."""
    key = f"{catalogue.fingerprint}:{clusters}"
    if key not in _LABELS:
        csr = catalogue.csr().astype(np.float64)
        counts = np.maximum(np.diff(csr.indptr), 1)
        means = np.asarray(csr.sum(axis=1)).ravel() / counts
        centred = csr.copy()
        centred.data -= np.repeat(means, np.diff(csr.indptr))
        points = _reduced(centred)
        distinct = len(np.unique(np.round(points, 9), axis=0))
        if distinct < 2:  # nobody differs from anybody: one cluster
            labels = np.zeros(len(points), np.int64)
        else:
            _, labels = kmeans2(points, min(clusters, distinct), seed=SEED, minit="++")
        _LABELS[key] = labels.astype(np.int64)
    return _LABELS[key]


def _reduced(centred: sp.csr_matrix) -> np.ndarray:
    """Each user as a unit vector of their top ``SVD_RANK`` singular directions. Up to a few
    thousand users the left singular vectors come from the small users × users Gram matrix
    (one ``eigh``: exact, and far cheaper than a dense SVD of users × films); beyond, scipy's
    ``svds``."""
    if centred.nnz == 0 or not np.any(centred.data):
        return np.zeros((centred.shape[0], 1))
    rank = max(1, min(SVD_RANK, min(centred.shape) - 1))
    if centred.shape[0] <= 5000:
        gram = (centred @ centred.T).toarray()
        eigenvalues, vectors = np.linalg.eigh(gram)  # ascending
        s = np.sqrt(np.clip(eigenvalues[::-1][:rank], 0.0, None))
        u = vectors[:, ::-1][:, :rank]
    else:
        u, s, _ = svds(centred, k=rank, random_state=SEED)
        order = np.argsort(s)[::-1]
        u, s = u[:, order], s[order]
    # directions with (numerically) no variance are rounding noise: they would split identical
    # users into different clusters
    keep = s > 1e-6 * max(float(s[0]), 1e-300)
    points = u[:, keep] * s[keep]
    return points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)


def _entropy(counts: np.ndarray) -> np.ndarray:
    """Entropy (bits) of label counts along the last axis."""
    total = counts.sum(axis=-1, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts, dtype=np.float64), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=-1)


def information_gain(catalogue: Ratings, labels: np.ndarray, users: np.ndarray) -> np.ndarray:
    """IG of every film about the cluster labels of ``users`` (module docstring): the answer
    categories are "not rated" and the ten half-star values."""
    n_clusters = int(labels.max()) + 1 if len(labels) else 1
    onehot = np.zeros((catalogue.n_users, n_clusters))
    onehot[users, labels[users]] = 1.0
    bins = np.clip(np.round((catalogue.values - MIN_RATING) * 2).astype(np.int64), 0, 9)
    # [films × bins·clusters]: how many of ``users`` in each cluster gave each film each value
    rows = catalogue.items
    cols = bins * n_clusters + labels[catalogue.users]
    weight = onehot[catalogue.users, labels[catalogue.users]]  # 1 only for users in the set
    rated = sp.csr_matrix(
        (weight, (rows, cols)), shape=(catalogue.n_items, 10 * n_clusters)
    ).toarray()
    rated = rated.reshape(catalogue.n_items, 10, n_clusters)
    everyone = onehot.sum(axis=0)  # [clusters]
    unrated = everyone[None, :] - rated.sum(axis=1)
    counts = np.concatenate([unrated[:, None, :], rated], axis=1)  # [films × 11 × clusters]
    size = everyone.sum()
    share = counts.sum(axis=2) / max(size, 1.0)
    return _entropy(everyone[None, :])[0] - (share * _entropy(counts)).sum(axis=1)


def neighbours(
    catalogue: Ratings, items: np.ndarray, values: np.ndarray, n: int = NEIGHBOURS
) -> np.ndarray:
    """The ``n`` training users most like the member on the films they answered: cosine of
    mean-centred ratings over those films (each user centred on their own mean over all their
    ratings, the member on the mean of their answers; users who rated none of them come last)."""
    full = catalogue.csr().astype(np.float64)
    per_user = np.diff(full.indptr)
    user_means = np.asarray(full.sum(axis=1)).ravel() / np.maximum(per_user, 1)
    csr = full.tocsc()[:, items].tocsr()
    csr.data -= np.repeat(user_means, np.diff(csr.indptr))
    member = np.asarray(values, dtype=np.float64) - float(np.mean(values))
    dot = csr @ member
    squares = np.asarray(csr.multiply(csr).sum(axis=1), dtype=np.float64).ravel()
    norms = np.sqrt(squares) * max(float(np.linalg.norm(member)), 1e-12)
    shared = np.diff(csr.indptr)
    sharing = np.flatnonzero(shared > 0)
    if len(sharing) == 0:  # nobody rated what the member answered: no neighbourhood to narrow to
        return np.arange(catalogue.n_users)
    # more films in common breaks ties in similarity
    score = dot[sharing] / np.maximum(norms[sharing], 1e-12) + shared[sharing] * 1e-6
    n = min(n, len(sharing))
    return np.sort(sharing[np.argpartition(-score, n - 1)[:n]])


def igcn_key(catalogue: Ratings, items: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per film, the information gain IGCN ranks by for a member who answered ``items``."""
    labels = user_clusters(catalogue)
    if len(items) < WARMUP:
        users = np.arange(catalogue.n_users)
    else:
        users = neighbours(catalogue, items, values, NEIGHBOURS)
    return information_gain(catalogue, labels, users)


__all__ = ["CLUSTERS", "NEIGHBOURS", "igcn_key", "information_gain", "neighbours", "user_clusters"]
