"""The load test's figures as a section for docs/BENCHMARKS.md (``tools.loadtest`` writes it to
``loadtest.md``)."""

from __future__ import annotations

from typing import Any


def to_markdown(result: dict[str, Any]) -> str:
    """A section for docs/BENCHMARKS.md."""
    cfg = result["config"]
    lat = result["latency"]
    lines = [
        "### Load: simulated members rating and asking for picks at once",
        "",
        f"{cfg['members']} members in {cfg['rooms']} rooms, all at once "
        f"({cfg['threads'] or cfg['members']} threads); each gives {cfg['ratings']} star ratings "
        f"and {cfg['unseen']} \"haven't seen it\", changes one answer, asks for the room's "
        f"top-{cfg['k']} {cfg['picks']} times. Model `{cfg['model']}` ({result['model']['note']}); "
        f"store: {result['machine']['database']}; {result['machine']['cpus']} CPUs, "
        f"torch {result['machine']['torch']}.",
        "",
        "| step | n | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = {
        "group_picks": "group picks (store read + fold-in + blend)",
        "recommend_only": "engine.group.recommend alone",
        "set_rating": "save one answer",
        "join": "join a room",
        "mark_watched": "mark watched",
        "open_vote": "host opens Tonight's vote",
        "cast_vote": "answer one film of the vote",
        "tally": "read the vote's tally",
    }
    for key, label in names.items():
        s = lat.get(key)
        if s and s.get("n"):
            lines.append(
                f"| {label} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | "
                f"{s['max_ms']} |"
            )
    lines += [
        "",
        f"Wall {result['wall_s']} s, {result['answers_written']} answers "
        f"({result['answers_per_s']}/s), {result['picks_asked']} pick requests. "
        f"Errors: {result['errors']}; lost answers: {result['lost']}; wrong: {result['wrong']}; "
        f"unexpected: {result['extra']}; watched mismatches: {result['watched_mismatch']}; "
        f"members stopped by the time limit: {result['stopped_early']}.",
    ]
    if "wrong_tally" in result:
        lines += [
            "",
            f"Tonight's vote: {result['votes_cast']} answers in {cfg['rooms']} rooms (a "
            "shortlist of 5 each, one answer changed per member, stars for about half of the "
            f"films seen). Tallies that miscount: {result['wrong_tally']}; members whose own "
            f"answers differ: {result['wrong_vote_answers']}; whose seen films differ: "
            f"{result['wrong_seen']}.",
        ]
    return "\n".join(lines) + "\n"
