"""AppTest tests of the Room page: create/join a room, add members, rate films, bad links."""

from __future__ import annotations

import base64

import pytest
from app_helpers import (
    add_member,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    create_room,
    deck,
    member_counts,
    open_app,
    queue_films,
    seed_room,
    store,
)

from app.services import catalogue, search
from app.services.deck import SPARE_CARDS, title_index
from app.widgets.film_card import film_card_html
from app.widgets.member_bars import member_bars_html
from app.widgets.qr import qr_data_uri
from engine.elicit.personal import RATINGS_FOR_PERSONAL

pytestmark = pytest.mark.usefixtures("app_env")


def test_no_room_shows_how_to_start_and_rejects_bad_input():
    at = open_app()
    assert "Movie Night" in at.title[0].value
    assert not at.get("bidi_component")  # nothing to rate before a room exists

    at.text_input(key="new_room_name").input("   ")
    at.button(key="FormSubmitter:create_room-Create room").click().run()
    assert_ok(at)
    assert at.error and "room" not in at.query_params
    assert "name" in at.error[0].value.lower()

    at.text_input(key="join_code").input("")
    at.button(key="FormSubmitter:join_room-Join room").click().run()
    assert "Paste the room link" in at.error[0].value

    at.text_input(key="join_code").input("no-such-room-code")
    at.button(key="FormSubmitter:join_room-Join room").click().run()
    assert at.error and "room" not in at.query_params


def test_create_room_two_members_rate_and_host_sees_counts():
    host = open_app()
    code = create_room(host, "Friday *club* <b>")
    assert host.title[0].value.endswith(r"Friday \*club\* \<b\>")  # shown as text, not markup
    assert any(code in c.value for c in host.code)  # the share link carries the code

    ann = add_member(host, "Ann")
    assert ann and host.query_params["room"] == code
    assert any(f"member={ann}" in c.value for c in host.code)  # her own link in a copy box
    films = queue_films(host)
    assert len(films) == SPARE_CARDS + 1 and len(set(films)) == len(films)
    answer(host, films[0], "4.5")
    answer(host, films[1], "unseen")
    assert store().answers(ann) == {films[0]: 4.5, films[1]: None}
    assert deck(host)["ack"]["seq"] == 2  # the deck may forget both answers
    assert films[0] not in queue_films(host)  # answered films leave the deck...
    assert len(queue_films(host)) == SPARE_CARDS + 1  # ...and new ones, chosen with them, come

    # A friend opens the room link on their own phone and joins at the same time.
    friend = open_app(room=code)
    assert not friend.get("bidi_component")  # a visitor cannot rate before adding themselves
    bob = add_member(friend, "Bob")
    assert bob and bob != ann
    bob_films = queue_films(friend)
    answer(friend, bob_films[0], "2.0")
    answer(friend, bob_films[1], "0.5")
    assert store().answers(bob) == {bob_films[0]: 2.0, bob_films[1]: 0.5}

    host.run()
    assert member_counts(host) == {"Ann": (1, 1), "Bob": (2, 0)}

    # The same name twice in a room is refused with a message.
    other = open_app(room=code)
    add_member(other, "ann")
    assert other.error and "member" not in other.query_params


def test_answers_survive_a_new_session_and_can_be_changed():
    at = open_app()
    code = create_room(at, "Reload room")
    token = add_member(at, "Cleo")
    films = queue_films(at)
    answer(at, films[0], "3.5")

    again = open_app(room=code, member=token)  # a reload / the member link on another device
    assert "Cleo" in all_messages(again)
    assert films[0] not in queue_films(again)
    assert store().answers(token) == {films[0]: 3.5}
    shown = deck(again)
    assert shown["answers"] == {str(films[0]): 3.5}  # "Your answers" lists it, with its title
    assert shown["known"][str(films[0])]["id"] == films[0]

    # Change the answer (the deck brings the film back from "Your answers" or the search):
    # the stored rating is replaced, not duplicated.
    answer(again, films[0], "1.0")
    assert store().answers(token) == {films[0]: 1.0}


def test_search_finds_films_as_people_type_them():
    """The server's fuzzy search (used for catalogues too large to send to the browser): typos,
    articles, accents; the films people know first; at most 8 results."""

    def ids(query: str) -> list[int]:
        return [int(catalogue.film(i)["movieId"]) for i in search.search_films(query)]

    assert ids("t") == []  # one letter matches half the catalogue: nothing yet
    assert ids("toy sto")[0] == 1  # Toy Story (1995), typed as the person types
    for query, movie_id in [("matirx", 2571), ("the matrix", 2571), ("amelie", 4973)]:
        offered = ids(query)
        assert movie_id in offered[:3], (query, offered)
        assert len(offered) <= 8
    assert ids("star wars")[0] in (260, 1196, 1210)  # the episodes people know come first
    assert ids("zzzzqqqq") == []


def test_the_browser_gets_every_title_once_in_natural_form():
    """The deck searches in the browser: the index holds every film, titles as people write
    them ("The Matrix", not "Matrix, The"), and is sent only when asked for and not held."""
    index = title_index()
    assert index is not None
    cat = catalogue.get_catalogue()
    assert len(index["ids"]) == len(index["titles"]) == cat.n_items
    assert index["titles"][index["ids"].index(2571)] == "The Matrix"
    assert all(0 <= p <= 100 for p in index["popularity"])

    at = open_app()
    create_room(at, "Index room")
    add_member(at, "Dan")
    assert deck(at)["index_available"] and deck(at)["index"] is None  # not before it is asked


def test_member_link_of_another_room_cannot_rate():
    s = store()
    room_a = s.create_room("A")
    room_b = s.create_room("B")
    intruder = s.add_member(room_b.code, "Eve").token
    at = open_app(room=room_a.code, member=intruder)
    assert "different room" in all_messages(at)
    assert not at.get("bidi_component")  # no rating controls for someone else's room
    assert s.answers(intruder) == {}


def test_unknown_room_code_and_bad_member_token_say_what_to_fix():
    at = open_app(room="not-a-real-room")
    assert at.error and "Check the link or code" in at.error[0].value
    assert (
        at.error[0].value.count("Check the link") == 1
    )  # the advice once, not twice (it was twice)
    assert at.text_input(key="new_room_name")  # the way out is right there

    room = store().create_room("Real")
    at = open_app(room=room.code, member="forged-token")
    assert at.error
    assert at.text_input(key="member_name")  # can add themselves instead
    assert not at.get("bidi_component")


def test_a_full_room_of_twelve_shows_everyone_and_refuses_a_thirteenth():
    code, _ = seed_room("Twelve", {f"Friend {i}": ({1: 4.0} if i % 2 else {}) for i in range(12)})
    at = open_app(room=code)
    counts = member_counts(at)
    assert len(counts) == 12 and sum(r for r, _ in counts.values()) == 6
    assert "full" in at.warning[0].value
    assert not any(t.key == "member_name" for t in at.text_input)


def test_film_cards_escape_titles_in_html_and_svg():
    hostile = '<script>alert("x")</script> & *Friends*'
    html = film_card_html(
        {"title": hostile, "year": 1999, "genres": "Comedy|Drama"}, reason=hostile
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    svg = base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0]).decode()
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = member_bars_html({"<img src=x onerror=alert(1)>": 4.2, "Bo": 9.0})
    assert "<img" not in bars and "4.2★" in bars and "5.0★" in bars  # values clipped to 5


def test_not_me_is_not_undone_by_the_back_button():
    """KI-7: after "Not me: switch member", Back brings the old URL (with the member token)
    back into the same session; the page must stay signed out, not act as that member again."""
    at = open_app()
    code = create_room(at, "Shared phone")
    token = add_member(at, "Gus")
    assert "Gus" in all_messages(at) and at.get("bidi_component")
    at.button(key="forget_member").click().run()
    assert_ok(at)
    assert "member" not in at.query_params and at.text_input(key="member_name")
    at.query_params["member"] = token  # what the browser's Back button does
    at.run()
    assert_ok(at)
    assert "member" not in at.query_params
    assert at.text_input(key="member_name") and not at.get("bidi_component")
    assert "Gus ·" not in all_messages(at)
    # Someone else can now join on this phone; the old member link still works elsewhere.
    add_member(at, "Hal")
    assert "Hal" in all_messages(at)
    elsewhere = open_app(room=code, member=token)
    assert "Gus" in all_messages(elsewhere) and elsewhere.get("bidi_component")


def test_the_member_sees_progress_and_the_way_to_the_picks_first():
    at = open_app()
    create_room(at, "Progress room")
    add_member(at, "Ivy")
    assert deck(at)["name"] == "Ivy" and deck(at)["answers"] == {}
    for movie_id in queue_films(at)[:3]:
        answer(at, movie_id, "4.0")
    shown = deck(at)
    rated = sum(stars is not None for stars in shown["answers"].values())

    assert rated == 3 >= shown["closeness"]["needed"] == RATINGS_FOR_PERSONAL  # "picks are yours"
    links = [e for e in at.get("page_link") if "picks" in e.proto.page]
    assert any("See the group's picks" in e.proto.label for e in links)
    # on a phone the columns stack: what comes first in the page is what the member sees first
    order = [getattr(e, "type", "") + ":" + str(getattr(e, "key", "")) for e in walk(at.main)]
    first_link = next(i for i, e in enumerate(order) if e.startswith("page_link"))
    first_card = next(i for i, e in enumerate(order) if e.startswith("bidi_component"))
    assert first_link < first_card


def walk(node):
    """Elements in page order (depth first)."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def test_the_host_gets_a_qr_code_of_the_guest_link_and_guests_do_not():
    at = open_app()
    code = create_room(at, "QR room")
    host = at.query_params["host"]
    qr = [e.proto.body for e in at.html if "QR code of" in e.proto.body]
    assert len(qr) == 1
    link = qr[0].split("QR code of ", 1)[1].split('"', 1)[0]
    assert f"room={code}" in link and host not in link and "member=" not in link
    assert qr_data_uri(link) in qr[0]  # segno's SVG, inline: nothing loads from the internet
    assert "http" not in qr_data_uri(link).split(",", 1)[0]
    guest = open_app(room=code)
    assert not [e for e in guest.html if "QR code of" in e.proto.body]


def test_the_member_list_keeps_counts_whole_for_long_names():
    """KI-10: a long name must not push the counts out (they wrap in a list, not a table)."""
    long = "Maximilian-Alexander von Featherstonehaugh"[:40]
    code, _ = seed_room("Names", {long: {1: 4.0, 2: None}, "<i>Bo</i>": {}})
    at = open_app(room=code)
    assert member_counts(at) == {long: (1, 1), "<i>Bo</i>": (0, 0)}
    body = next(e.proto.body for e in at.html if 'class="mn-members"' in e.proto.body)
    assert "<i>" not in body and "&lt;i&gt;Bo" in body
