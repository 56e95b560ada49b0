"""How close a member is to picks of their own: what the Room page can say honestly ("2 more
films and your picks are yours").

Protocol Elicit per tap measures both, for the default strategy with the default model and the
app's card fold-in (``python -m engine.evaluate.protocol_elicit_report``, docs/BENCHMARKS.md,
"Elicit per tap and G after taps", embedded data, three draws): ``RATINGS_FOR_PERSONAL`` is the
star ratings a member had, on average, at the first tap count whose NDCG@10 beats the
non-personalised list with a 95 % interval above 0, rounded up (3 taps, 1.6 ratings: 2), and
``SEEN_PER_TAP`` the default's ratings per tap at 10 taps (films the simulated member had rated,
over cards shown). A member's own rate is that measured rate updated by their own taps so far
(a Beta prior worth ``PRIOR_TAPS`` taps), so someone who keeps tapping "haven't seen it" is told
honestly that it will take longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RATINGS_FOR_PERSONAL = 2
SEEN_PER_TAP = 0.49
PRIOR_TAPS = 4.0


@dataclass(frozen=True)
class Closeness:
    """``ratings_left``: star ratings still needed; ``taps_left``: the cards that should take at
    this member's own answer rate; ``personal``: their picks already beat the crowd's."""

    ratings_left: int
    taps_left: int
    personal: bool


def taps_until_personal(
    rated: int,
    skipped: int,
    needed: int = RATINGS_FOR_PERSONAL,
    rate: float = SEEN_PER_TAP,
    prior_taps: float = PRIOR_TAPS,
) -> Closeness:
    """How far a member who rated ``rated`` films and skipped ``skipped`` ("haven't seen it") is
    from personal picks: the ratings left, and the expected taps at their answer rate
    ``(rated + prior_taps · rate) / (rated + skipped + prior_taps)``."""
    for name, value in (("rated", rated), ("skipped", skipped), ("needed", needed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0 (got {value!r})")
    if not (0.0 < rate <= 1.0) or prior_taps <= 0:
        raise ValueError("rate must be in (0, 1] and prior_taps > 0")
    left = max(0, needed - rated)
    own_rate = (rated + prior_taps * rate) / (rated + skipped + prior_taps)
    taps = math.ceil(left / own_rate - 1e-9) if left else 0
    return Closeness(ratings_left=left, taps_left=taps, personal=left == 0)


__all__ = ["PRIOR_TAPS", "RATINGS_FOR_PERSONAL", "SEEN_PER_TAP", "Closeness", "taps_until_personal"]
