"""Progress for steps made of phases: the bar moves within each phase's share, never back."""

from __future__ import annotations

from engine.progress import span_progress, stage_progress


def test_a_span_maps_its_phase_onto_its_share_of_the_bar():
    seen: list[tuple[int, int, str]] = []
    phase = span_progress(lambda d, t, m="": seen.append((d, t, m)), 0.6, 1.0, "k search")
    phase(0, 600, "user 0/600")
    phase(300, 600, "user 300/600")
    phase(600, 600)
    assert [(d, t) for d, t, _ in seen] == [(60, 100), (80, 100), (100, 100)]
    assert seen[1][2] == "k search: user 300/600" and seen[2][2] == "k search"


def test_spans_inside_a_stage_keep_the_whole_bar_monotonic():
    """The hybrid's calibration (stage 0 of 3) reports its phases through spans: the outer bar
    only ever moves forward while the phases follow each other."""
    seen: list[float] = []
    stage = stage_progress(lambda d, t, m="": seen.append(d / t), 0, 3, "calibrating")
    for start, end in ((0.0, 0.15), (0.15, 0.55), (0.6, 1.0)):
        phase = span_progress(stage, start, end, "phase")
        for done in range(0, 11):
            phase(done, 10)
    assert seen == sorted(seen)
    assert seen[0] == 0.0 and abs(seen[-1] - 1 / 3) < 1e-9
