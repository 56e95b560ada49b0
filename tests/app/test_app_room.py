"""AppTest tests of the Room page: create/join a room, add members, rate films, bad links."""

from __future__ import annotations

import pytest
from app_helpers import (
    add_member,
    all_messages,
    answer,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    create_room,
    frame_with,
    open_app,
    queue_films,
    store,
)

pytestmark = pytest.mark.usefixtures("app_env")


def members_table(at):
    return frame_with(at, "Films rated")


def test_no_room_shows_how_to_start_and_rejects_bad_input():
    at = open_app()
    assert "Movie Night" in at.title[0].value
    assert not at.pills  # nothing to rate before a room exists

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
    assert len(films) == 5 and len(set(films)) == 5
    answer(host, films[0], "4.5")
    answer(host, films[1], "unseen")
    assert store().answers(ann) == {films[0]: 4.5, films[1]: None}
    assert films[0] not in queue_films(host)  # answered films leave the queue...
    assert len(queue_films(host)) == 5  # ...and new ones, chosen with the answers, take their place

    # A friend opens the room link on their own phone and joins at the same time.
    friend = open_app(room=code)
    assert not friend.pills  # a visitor cannot rate before adding themselves
    bob = add_member(friend, "Bob")
    assert bob and bob != ann
    bob_films = queue_films(friend)
    answer(friend, bob_films[0], "2.0")
    answer(friend, bob_films[1], "0.5")
    assert store().answers(bob) == {bob_films[0]: 2.0, bob_films[1]: 0.5}

    host.run()
    table = members_table(host)
    counts = dict(zip(table["Member"], table["Films rated"], strict=True))
    assert counts == {"Ann": 1, "Bob": 2}
    assert dict(zip(table["Member"], table["Haven't seen"], strict=True)) == {"Ann": 1, "Bob": 0}

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
    assert any("1 rated, 0 not seen" in e.label for e in again.expander)

    # Change the answer through the search box: the stored rating is replaced, not duplicated.
    again.selectbox(key="search_film").set_value(films[0]).run()
    assert again.pills(key=f"search:{films[0]}").value == "3.5"  # shows the stored answer
    answer(again, films[0], "1.0", prefix="search")
    assert store().answers(token) == {films[0]: 1.0}


def test_search_box_rates_any_film():
    at = open_app()
    create_room(at, "Search room")
    token = add_member(at, "Dan")
    toy_story = 1  # movieId 1 is Toy Story (1995) in MovieLens
    at.selectbox(key="search_film").set_value(toy_story).run()
    assert any("Toy Story" in h.proto.body for h in at.html)
    answer(at, toy_story, "5.0", prefix="search")
    assert store().answers(token)[toy_story] == 5.0


def test_member_link_of_another_room_cannot_rate():
    s = store()
    room_a = s.create_room("A")
    room_b = s.create_room("B")
    intruder = s.add_member(room_b.code, "Eve").token
    at = open_app(room=room_a.code, member=intruder)
    assert "different room" in all_messages(at)
    assert not at.pills  # no rating controls for someone else's room
    assert s.answers(intruder) == {}


def test_unknown_room_code_and_bad_member_token_say_what_to_fix():
    at = open_app(room="not-a-real-room")
    assert at.error and "Check the link or code" in at.error[0].value
    assert at.text_input(key="new_room_name")  # the way out is right there

    room = store().create_room("Real")
    at = open_app(room=room.code, member="forged-token")
    assert at.error
    assert at.text_input(key="member_name")  # can add themselves instead
    assert not at.pills


def test_a_full_room_of_twelve_shows_everyone_and_refuses_a_thirteenth():
    from app_helpers import seed_room

    code, _ = seed_room("Twelve", {f"Friend {i}": ({1: 4.0} if i % 2 else {}) for i in range(12)})
    at = open_app(room=code)
    table = members_table(at)
    assert len(table) == 12 and table["Films rated"].sum() == 6
    assert "full" in at.warning[0].value
    assert not any(t.key == "member_name" for t in at.text_input)


def test_film_cards_escape_titles_in_html_and_svg():
    import base64

    from app.widgets.film_card import film_card_html
    from app.widgets.member_bars import member_bars_html

    hostile = '<script>alert("x")</script> & *Friends*'
    html = film_card_html(
        {"title": hostile, "year": 1999, "genres": "Comedy|Drama"}, reason=hostile
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    svg = base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0]).decode()
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = member_bars_html({"<img src=x onerror=alert(1)>": 4.2, "Bo": 9.0})
    assert "<img" not in bars and "4.2★" in bars and "5.0★" in bars  # values clipped to 5
