"""The Picks page's compact card (app/widgets/pick_card.py): the plain-words line, hand-checked,
and every title and name escaped."""

from __future__ import annotations

from app.widgets.pick_card import pick_card_html, top_part, why_line


def test_two_friends_with_the_film_in_both_their_top_10():
    line = why_line({"Chloé": 4.34, "Ana": 4.41}, {"Ana": 3, "Chloé": 0})
    assert line == "Ana ~4.4★, Chloé ~4.3★ — in both their top 10"


def test_whose_top_10_is_named_and_nobody_s_is_left_out():
    stars = {"Ana": 4.0, "Ben": 3.5, "Cy": 3.0}
    assert why_line(stars, {"Ana": 10, "Ben": 2, "Cy": 10}) == (
        "Ana ~4.0★, Ben ~3.5★, Cy ~3.0★ — in Ben's top 10"
    )
    assert top_part(list(stars), {"Ana": 9, "Ben": 10, "Cy": 0}) == "in Ana's and Cy's top 10"
    assert top_part(list(stars), {"Ana": 1, "Ben": 2, "Cy": 3}) == "in everyone's top 10"
    assert why_line(stars, {}) == "Ana ~4.0★, Ben ~3.5★, Cy ~3.0★"  # in nobody's top 10
    assert why_line({"Ana": 4.26}, {"Ana": 0}) == "Ana ~4.3★ — in Ana's top 10"
    assert why_line({}, {}) == ""


def test_a_big_room_names_three_then_sums_up_the_rest():
    stars = {"A": 3.1, "B": 4.9, "C": 4.0, "D": 2.6, "E": 4.5}
    ranks = {"A": 10, "B": 0, "C": 4, "D": 10, "E": 7}
    assert why_line(stars, ranks) == (
        "B ~4.9★, E ~4.5★, C ~4.0★ and 2 more (lowest ~2.6★) — in B's, C's and E's top 10"
    )
    everyone_but_one = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 10}
    assert top_part(list(stars), everyone_but_one) == "in the top 10 of A, B, C and 1 more"


def test_titles_names_and_details_are_escaped():
    film = {"title": "<script>x</script> & Co", "year": 1999, "genres": "Drama|<b>", "rank": 1}
    why = why_line({"<i>Bob</i>": 4.0}, {"<i>Bob</i>": 0})
    html = pick_card_html(film, why, ["<img src=x onerror=alert(1)>"], '<div class="safe"></div>')
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt; &amp; Co" in html
    assert "<i>" not in html and "&lt;i&gt;Bob&lt;/i&gt; ~4.0★" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<div class="safe"></div>' in html  # already-safe HTML (the bars) goes in as is
    assert "&lt;b&gt;" in html and "(1999)" in html
    assert html.index('class="mn-why"') < html.index("<details")  # why shows, detail folds
