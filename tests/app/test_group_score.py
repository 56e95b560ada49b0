"""The Picks page's caption for the group score column."""

from __future__ import annotations

from app.widgets.group_score import CALIBRATED_NOTE, score_caption


def test_star_scores_of_a_ranking_model_are_called_a_ranking_scale():
    attrs = {"score_label": "mean predicted stars", "score_unit": "★"}
    plain = score_caption(attrs | {"score_scale": "stars"})
    assert plain == "Group score: mean predicted stars"
    calibrated = score_caption(attrs | {"score_scale": "rank-calibrated stars"})
    assert calibrated == plain + CALIBRATED_NOTE
    # a score that is not in stars (GFAR's gain) needs no note on any model
    gain = {
        "score_label": "GFAR marginal gain",
        "score_unit": "",
        "score_scale": "rank-calibrated stars",
    }
    assert score_caption(gain) == "Group score: GFAR marginal gain"
