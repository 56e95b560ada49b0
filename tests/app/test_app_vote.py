"""AppTest tests of Tonight's vote on the Picks page: only the host starts and closes it, each
member answers only for themselves, the tally is anonymous, a vote ends in a match (or in the
closest films and a refilled list), and seen-it answers feed back into the picks."""

from __future__ import annotations

import html

import pytest
from app_helpers import (
    PAGES,
    add_member,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    create_room,
    open_app,
    picks_frame,
    queue_films,
    store,
)

from app.services import catalogue, rooms
from app.store import NotHost
from app.widgets.text import md
from engine.group import STRATEGIES

pytestmark = pytest.mark.usefixtures("app_env")


def hosted_room(n_guests: int = 1):
    """A room made in the page by its host (who also joins, as Ann, and rates 3 films) and
    ``n_guests`` members who each rate 2 films in their own session. Returns (host session on
    Picks, guest sessions on Picks, room code)."""
    host = open_app()
    code = create_room(host, "Vote night")
    add_member(host, "Ann")
    for movie_id, stars in zip(queue_films(host)[:3], ["5.0", "4.0", "2.0"], strict=True):
        answer(host, movie_id, stars)
    guests = []
    for i in range(n_guests):
        guest = open_app(room=code)
        add_member(guest, f"Guest{i}")
        for movie_id in queue_films(guest)[:2]:
            answer(guest, movie_id, "4.5")
        guests.append(guest)
    for at in (host, *guests):
        at.switch_page(PAGES["picks"]).run()
        assert_ok(at)
    return host, guests, code


def open_the_vote(host, n: int = 5) -> list[int]:
    """The host starts a vote on the top n picks; returns their movieIds."""
    labels = picks_frame(host)["Film"].tolist()[:n]
    host.button(key="mn_vote_open").click().run()
    assert_ok(host)
    vote = store().tonight.latest_vote(host.query_params["room"])
    assert vote is not None and vote.is_open
    assert [catalogue.film_by_movie_id(m)["label"] for m in vote.films] == labels
    return list(vote.films)


def vote(at, films: list[int], choices: list[str]) -> None:
    """Answer films on this member's ballot (the page is rerun first, as its poll would)."""
    at.run()
    vote_id = store().tonight.latest_vote(at.query_params["room"]).id
    for movie_id, choice in zip(films, choices, strict=True):
        at.segmented_control(key=f"vote:{vote_id}:{movie_id}").set_value(choice).run()
        assert_ok(at)


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def vote_section_text(at) -> str:
    """Everything the page shows between "Tonight's vote" and "The group's picks"."""
    out, inside = [], False
    for e in walk(at.main):
        kind = getattr(e, "type", "")
        if kind == "subheader":
            inside = e.value == "Tonight's vote"
            continue
        if inside:
            out.append(e.proto.body if kind == "html" else str(getattr(e, "value", "")))
    return "\n".join(out)


def tally_line(at) -> str:
    found = [e.proto.body for e in at.html if 'class="mn-tally"' in e.proto.body]
    assert found, "no tally on the page"
    return found[0].split('class="mn-tally-text">', 1)[1].split("<", 1)[0]


def test_only_the_host_sees_the_vote_controls_and_the_store_checks_them():
    host, (guest,), code = hosted_room()
    assert "host" in host.query_params and "host" not in guest.query_params
    assert host.button(key="mn_vote_open")
    assert not [b for b in guest.button if b.key == "mn_vote_open"]
    forged = open_app(room=code, page="picks")  # a visitor who adds a made-up host token
    forged.query_params["host"] = "not-the-host-token"
    forged.run()
    assert not [b for b in forged.button if b.key in ("mn_vote_open", "mn_vote_close")]
    films = open_the_vote(host)
    guest.run()
    assert not [b for b in guest.button if b.key == "mn_vote_close"]
    assert host.button(key="mn_vote_close")

    with pytest.raises(NotHost):  # a guest's own token is no host credential
        store().tonight.close_vote(code, guest.query_params["member"])
    assert store().tonight.latest_vote(code).is_open and len(films) == 5


def test_a_vote_ends_in_a_match_and_the_tally_never_says_who():
    host, (bob, cat), _code = hosted_room(n_guests=2)
    films = open_the_vote(host)
    bob.run()
    assert tally_line(bob) == "0 of 3 have voted"
    vote(host, films, ["yes", "no", "yes", "no", "rewatch"])
    vote(bob, films, ["no", "yes", "yes", "skip", "yes"])
    assert tally_line(bob) == "2 of 3 have voted"
    cat.run()
    assert tally_line(cat) == "2 of 3 have voted"
    section = vote_section_text(cat)
    assert "2 of 3 have voted" in section
    for name in ("Ann", "Guest0", "Guest1"):  # nobody's answers, nor who has voted
        assert name not in section
    vote(cat, films, ["yes", "no", "yes", "no", "no"])
    host.run()
    assert tally_line(host) == "3 of 3 have voted"
    host.button(key="mn_vote_close").click().run()
    assert_ok(host)

    match = catalogue.film_by_movie_id(films[2])["label"]  # the only film all three accept
    for at in (host, bob.run(), cat.run()):
        assert "It's a match" in all_messages(at) and match in all_messages(at).replace("\\", "")
        assert not [e for e in at.html if 'class="mn-tally"' in e.proto.body]


def test_no_match_shows_the_closest_and_refills_the_list_without_the_rejected():
    host, (bob,), _code = hosted_room()
    films = open_the_vote(host)
    vote(host, films, ["yes", "yes", "no", "yes", "yes"])
    vote(bob, films, ["no", "yes", "yes", "skip", "no"])
    vote(bob, films[1:2], ["no"])  # changes his mind on the one film both accepted
    host.run()
    host.button(key="mn_vote_close").click().run()
    assert_ok(host)
    text = all_messages(host)
    assert "No film on the shortlist suited everyone" in text

    section = vote_section_text(host)
    shown = [m for m in films if catalogue.film_by_movie_id(m)["title"] in html.unescape(section)]
    assert shown == films[:3]  # the closest three: all tie on 1 yes, so the blend's order
    listed = set(picks_frame(host)["Film"])
    shortlist = {catalogue.film_by_movie_id(m)["label"] for m in films}
    assert not listed & shortlist  # refilled from the blend without the rejected films
    assert len(listed) == 10


def test_seen_it_feeds_back_into_the_members_picks():
    host, (bob,), code = hosted_room()
    films = open_the_vote(host)
    vote(bob, films[:2], ["rewatch", "skip"])
    vote_id = store().tonight.latest_vote(code).id
    # after "Seen it" Bob may add stars; he gives the first film 4 stars
    bob.pills(key=f"vstars:{vote_id}:{films[0]}").set_value("4.0").run()
    assert_ok(bob)
    token = bob.query_params["member"]
    assert store().answers(token)[films[0]] == 4.0
    assert store().tonight.seen_films(token) == {films[0], films[1]}
    people = rooms.room_people(code)
    bob_member = people.members[people.names.index("Guest0")]
    index = catalogue.movie_index()
    assert index[bob_member.seen].tolist() == [films[1]]  # seen without stars
    assert films[0] in index[bob_member.items].tolist()  # seen with stars: a rating
    # "Seen it, skip" takes the film out of the room's picks tonight, even while voting
    assert catalogue.film_by_movie_id(films[1])["label"] not in set(picks_frame(host.run())["Film"])


def test_the_same_films_note_describes_the_list_shown_in_a_room_with_a_vote(monkeypatch):
    """The note "X gives the same films as Y" and the list shown come from one room input: with
    the top pick skipped in a vote, both blends leave it out, and the strategies the note names
    are exactly those whose shown list is this one."""
    host, (bob,), _code = hosted_room()
    films = open_the_vote(host)
    vote(bob, films[:1], ["skip"])  # the top pick is out of every list tonight
    excludes: dict[str, list[list[int]]] = {"list": [], "note": []}
    for fn, kind in (("recommend", "list"), ("recommend_each", "note")):
        real = getattr(rooms, fn)  # the engine's blends, as the rooms service calls them

        def spy(*a, _real=real, _kind=kind, **k):
            excludes[_kind].append(sorted(k["exclude"]))
            return _real(*a, **k)

        monkeypatch.setattr(rooms, fn, spy)
    shown, notes = {}, {}
    for name in STRATEGIES:
        host.selectbox(key="strategy").set_value(name).run()
        assert_ok(host)
        shown[name] = picks_frame(host)["Film"].tolist()
        found = [i.value for i in host.info if "changes nothing here" in i.value]
        assert len(found) <= 1
        notes[name] = found[0] if found else ""
    skipped = catalogue.film_by_movie_id(films[0])
    assert excludes["list"] and excludes["note"]
    for exclude in excludes["list"] + excludes["note"]:
        assert exclude == excludes["list"][0] and skipped["item"] in exclude
    for name in STRATEGIES:
        assert skipped["label"] not in shown[name] and len(shown[name]) == 10
        same = [STRATEGIES[o].label for o in STRATEGIES if o != name and shown[o] == shown[name]]
        if same:
            assert notes[name].endswith(
                f"as {md(', '.join(same))}: choosing between them changes nothing here."
            ), (name, notes[name])
        else:
            assert notes[name] == "", (name, notes[name])
