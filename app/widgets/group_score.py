"""The words under the Picks list that say what its "Group score" column is."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

CALIBRATED_NOTE = (
    " (on this model's ranking scale: each member's films ranked and mapped onto 0.5–5★, not the "
    "stars shown for each of you)"
)


def score_caption(attrs: Mapping[Hashable, object]) -> str:
    """What ``group_score`` is, from ``engine.group.recommend``'s frame attrs. A model that ranks
    by something other than stars (the hybrid) blends each member's ranking mapped onto the star
    scale, so a score in stars there is not the ~stars shown per member: the caption says so."""
    text = f"Group score: {attrs.get('score_label', '')}"
    if attrs.get("score_unit") == "★" and attrs.get("score_scale") == "rank-calibrated stars":
        text += CALIBRATED_NOTE
    return text
