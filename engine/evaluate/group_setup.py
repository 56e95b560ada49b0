"""Protocol G's members and groups (docs/PROTOCOLS.md), following GFAR's protocol (Kaya, Bridge &
Tintarev, RecSys 2020) in the fold-in setting.

- Members are protocol F's new users (``split_f``), never seen in training. Each member's held
  ratings are split three ways with fixed seeds: 10 *revealed* (what they rate in the room,
  ``default_rng(2)`` as in protocol F), and the hidden rest halved (``default_rng(3)``) into a
  *profile* part and an *evaluation* part.
- Similarity: F users have no training ratings, so Pearson correlations are computed on the
  non-evaluation part only (revealed + profile), over films both members rated, and only where
  they share at least 5 films. The evaluation part is never used to form groups.
- Groups of each size (``default_rng(4)`` for the first split), of three kinds: *random*;
  *similar* (each member has Pearson ≥ 0.3 with another member); *divergent* (no measured pair
  ≥ 0.1 and each member has a measured pair < 0.1). Members with no relevant evaluation film
  (rated ≥ 4) are not drawn into groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.splits import FoldInSplit
from engine.evaluate.group_metrics import THRESHOLD, Relevant

REVEAL = 10
KINDS = ("random", "similar", "divergent")
SIMILAR, DIVERGENT, MIN_SHARED = 0.3, 0.1, 5
REVEAL_SEED, PROFILE_SEED = 2, 3


@dataclass(frozen=True)
class Pool:
    """The F users as group members: what they reveal, what they are scored on."""

    users: np.ndarray  # user indices (into the dataset)
    revealed: list[tuple[np.ndarray, np.ndarray]]  # (items, stars) per user
    relevant: list[Relevant]  # evaluation films rated >= 4 and their stars, per user
    corr: np.ndarray  # [n × n] Pearson on the non-evaluation part, NaN where unmeasured


def build_pool(split: FoldInSplit, reveal: int = REVEAL) -> Pool:
    """Reveal/profile/evaluation parts and pairwise correlations for every F user."""
    held = split.held
    reveal_rng = np.random.default_rng(REVEAL_SEED)
    profile_rng = np.random.default_rng(PROFILE_SEED)
    users, revealed, relevant, known = [], [], [], []
    for u in split.new_users:
        shown, hidden = split.reveal_random(int(u), reveal, reveal_rng)
        to_profile = profile_rng.random(len(hidden)) < 0.5
        profile, evaluation = hidden[to_profile], hidden[~to_profile]
        liked = held.values[evaluation] >= THRESHOLD
        if not liked.any():
            continue
        users.append(int(u))
        revealed.append((held.items[shown].astype(np.int64), held.values[shown].astype(np.float32)))
        relevant.append(
            Relevant(
                held.items[evaluation][liked].astype(np.int64),
                held.values[evaluation][liked].astype(np.float64),
            )
        )
        rows = np.concatenate([shown, profile])
        known.append(dict(zip(held.items[rows].tolist(), held.values[rows].tolist(), strict=True)))
    n = len(users)
    corr = np.full((n, n), np.nan)
    for a in range(n):
        for b in range(a + 1, n):
            shared = sorted(known[a].keys() & known[b].keys())
            if len(shared) < MIN_SHARED:
                continue
            x = np.array([known[a][i] for i in shared])
            y = np.array([known[b][i] for i in shared])
            if x.std() > 0 and y.std() > 0:
                corr[a, b] = corr[b, a] = float(np.corrcoef(x, y)[0, 1])
    return Pool(np.array(users), revealed, relevant, corr)


def make_groups(
    pool: Pool, size: int, kind: str, count: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Up to ``count`` distinct groups (positions into the pool) of one size and kind."""
    n = len(pool.users)
    if n < size:
        return []
    similar = np.nan_to_num(pool.corr, nan=-np.inf) >= SIMILAR
    clash = np.nan_to_num(pool.corr, nan=np.inf) < DIVERGENT  # measured and < 0.1
    agree = np.nan_to_num(pool.corr, nan=-np.inf) >= DIVERGENT  # measured and >= 0.1
    groups: list[np.ndarray] = []
    seen: set[tuple[int, ...]] = set()
    for _ in range(count * 50):
        if len(groups) >= count:
            break
        if kind == "random":
            members = rng.choice(n, size=size, replace=False)
        else:
            members = [int(rng.integers(n))]
            while len(members) < size:
                inside = np.zeros(n, bool)
                inside[members] = True
                if kind == "similar":  # joins if similar to someone already in the group
                    ok = similar[members].any(axis=0) & ~inside
                else:  # joins if nobody in the group agrees with them and one clashes
                    ok = ~agree[members].any(axis=0) & clash[members].any(axis=0) & ~inside
                options = np.flatnonzero(ok)
                if len(options) == 0:
                    break
                members.append(int(rng.choice(options)))
            if len(members) < size:
                continue
            members = np.array(members)
        key = tuple(sorted(int(m) for m in members))
        if key not in seen:
            seen.add(key)
            groups.append(np.array(key))
    return groups


__all__ = ["KINDS", "REVEAL", "Pool", "build_pool", "make_groups"]
