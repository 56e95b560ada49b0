"""The light capacity client (``tools.deploy.ws_member``) against the real app: two members on their
own links rate and vote over Streamlit's websocket, and the store must then hold exactly the
answers and votes they gave. Wrong messages (a widget id, a fragment, the deck's state shape, the
ballot's value) would leave the store short and the members counting errors.

Also, without a server: the message cache's references, the deck's acknowledgement, the Chromium
member's labels and the capacity ramp's steps.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from app.store import Store
from app.widgets.vote import CHOICE_LABELS
from engine.data import load_embedded
from engine.train import load_or_train
from tools.app_server import app_server
from tools.deploy.browser_member import tap_label
from tools.deploy.capacity import sizes
from tools.deploy.samples import Samples, percentile_ms
from tools.deploy.ws_member import DECK_COMPONENT, Deck, LightMember, PageSession

MODEL = "baseline"  # trains in seconds; the client is about messages, not the model
TURNS = 6  # per member: four taps and two visits to Picks (a vote each)
PICKS_EVERY = 3


@pytest.fixture
def trained(tmp_path, monkeypatch) -> Path:
    """A data dir with the embedded films and the baseline model trained in it."""
    folder = tmp_path / "data"
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(folder))
    load_or_train(MODEL, load_embedded(folder / "datasets"))
    return folder


async def _evening(members: list[LightMember]) -> None:
    stop = asyncio.Event()
    await asyncio.gather(*(m.run(stop) for m in members))


@pytest.mark.slow
def test_light_members_answers_and_votes_are_exactly_what_the_store_holds(trained, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'movienight.db'}"
    store = Store(db_url)
    hosted = store.tonight.create_hosted_room("light clients")
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, [318, 356, 296])
    people = [store.add_member(hosted.code, name) for name in ("Ana", "Ben")]
    log = tmp_path / "server.log"
    with app_server(MODEL, db_url, log, data_dir=trained) as (url, _pid):
        samples = Samples()
        members = [
            LightMember(
                f"{url}/?room={hosted.code}&member={p.token}",
                samples,
                seed=i,
                pace=(0.2, 0.5),
                picks_every=PICKS_EVERY,
                turns=TURNS,
            )
            for i, p in enumerate(people)
        ]
        asyncio.run(_evening(members))
    assert "Traceback" not in log.read_text()

    assert samples.errors == 0
    assert samples.ready == 2
    assert len(samples.tap) == 2 * (TURNS - TURNS // PICKS_EVERY)  # every tap acknowledged
    assert len(samples.picks) == 2 * (TURNS // PICKS_EVERY)  # every visit saw the bars
    label_to_choice = {label: choice for choice, label in CHOICE_LABELS.items()}
    for person, member in zip(people, members, strict=True):
        assert len(member.answers) == TURNS - TURNS // PICKS_EVERY  # a new film each tap
        assert store.answers(person.token) == member.answers  # saved = given, nothing else
        given = {movie: label_to_choice[label] for movie, label in member.votes.items()}
        assert given  # the ballot was there and answered
        assert store.tonight.my_votes(person.token, vote.id) == given
    store.dispose()


# --------------------------------------------------------------------------- no server


def _deck_msg(data: dict, cacheable: bool, ref: bool = False) -> ForwardMsg:
    """The deck drawn (``data``), or with ``ref`` a reference to that message."""
    msg = ForwardMsg()
    if ref:
        msg.ref_hash = "h1"
        msg.metadata.delta_path.extend([0, 3])
        return msg
    msg.hash = "h1"
    msg.metadata.cacheable = cacheable
    msg.delta.fragment_id = "frag"
    component = msg.delta.new_element.bidi_component
    component.id, component.component_name = "$$ID-deck", DECK_COMPONENT
    component.json = json.dumps(data)
    return msg


def test_a_reference_draws_the_cached_message_and_the_cache_ages_like_the_frontend():
    session = PageSession("http://127.0.0.1:1/?room=AB&member=x")
    original = _deck_msg({"ack": {"mount": "m", "seq": 3}, "cards": []}, True)
    session._receive(session._resolve(original))
    session.deck = None
    resolved = session._resolve(_deck_msg({}, False, ref=True))
    session._receive(resolved)
    assert session.deck is not None and session.deck.acked("m") == 3
    assert list(resolved.metadata.delta_path) == [0, 3]  # the reference's place, not the old one
    for _ in range(3):  # runs of another fragment do not age it
        session._age_cache(("other",))
    assert "h1" in session._cache
    for _ in range(3):  # whole runs that never use it do
        session._age_cache(())
    assert "h1" not in session._cache


def test_the_deck_acknowledges_only_its_own_page_load():
    deck = Deck("id", "frag", {"ack": {"mount": "mine", "seq": 7}})
    assert deck.acked("mine") == 7
    assert deck.acked("an earlier page load") == 0
    assert Deck("id", "frag", {"ack": None}).acked("mine") == 0


def test_chromium_members_tap_the_decks_own_labels():
    assert [tap_label(s) for s in (1.0, 3.5, 4.0, None)] == [
        "1 star",
        "3.5 stars",
        "4 stars",
        "unseen",
    ]


def test_ramp_steps_and_percentiles():
    assert sizes(0, 4, 12) == [4, 8, 12]
    assert sizes(30, 10, 60) == [30, 40, 50, 60]
    assert sizes(40, 0, 40) == [40]
    assert percentile_ms([], 95) == 0.0
    assert percentile_ms([0.1, 0.2, 0.3], 50) == 200.0
    samples = Samples(tap=[0.1], errors=2, ready=3)
    taken = samples.take()
    assert (taken.tap, taken.errors, taken.ready) == ([0.1], 2, 3)
    assert (samples.tap, samples.errors, samples.ready) == ([], 0, 3)
