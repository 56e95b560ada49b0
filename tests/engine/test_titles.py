"""Natural titles and title-built film series, on hand-written catalogue titles."""

from __future__ import annotations

import pytest

from engine.titles import franchises, natural_label, natural_title, sequel_pairs, series_stem


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        ("Matrix, The", "The Matrix"),
        ("Lord of the Rings: The Two Towers, The", "The Lord of the Rings: The Two Towers"),
        ("Godfather: Part II, The", "The Godfather: Part II"),
        (
            "Harry Potter and the Sorcerer's Stone (a.k.a. Harry Potter and the Philosopher's Stone)",
            "Harry Potter and the Sorcerer's Stone",
        ),
        ("Men in Black II (a.k.a. MIIB) (a.k.a. MIB 2)", "Men in Black II"),
        (
            "Amelie (Fabuleux destin d'Amélie Poulain, Le)",
            "Amelie (Fabuleux destin d'Amélie Poulain, Le)",
        ),
        ("Toy Story", "Toy Story"),
    ],
)
def test_natural_title_moves_the_article_and_drops_aka(stored, said):
    assert natural_title(stored) == said


def test_natural_label_adds_the_year_when_known():
    assert natural_label("Matrix, The", 1999) == "The Matrix (1999)"
    assert natural_label("Matrix, The", None) == "The Matrix"
    assert natural_label("Matrix, The", "<NA>") == "The Matrix"


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("Toy Story 2", "toy story"),
        ("Godfather: Part III, The", "the godfather"),
        ("Rocky IV", "rocky"),
        ("Back to the Future Part II", "back to the future"),
        ("Star Wars: Episode V - The Empire Strikes Back", "star wars"),
        ("Die Hard: With a Vengeance", "die hard"),
        ("Toy Story of Terror", "toy story of terror"),
        ("Heat", "heat"),
    ],
)
def test_series_stem(title, stem):
    assert series_stem(title) == stem


def test_franchises_group_by_stem_need_two_years_and_respect_candidates():
    titles = [
        "Toy Story",  # 0
        "Heat",  # 1
        "Toy Story 2",  # 2
        "Toy Story of Terror",  # 3
        "Toy Story 3",  # 4
        "Heathers",  # 5
        "Twins",  # 6: same title twice in one year is no series
        "Twins",  # 7
    ]
    years = [1995, 1995, 1999, 2013, 2010, 1989, 1988, 1988]
    assert franchises(titles, years) == [[0, 2, 4]]
    assert franchises(titles, years, candidates=[0, 2, 3]) == [[0, 2]]
    assert franchises(titles, years, candidates=[0, 3]) == []


def test_sequel_pairs_take_the_next_film_of_a_later_year():
    years = [2001, 2002, 2002, 2003]
    assert sequel_pairs([[0, 1, 2, 3]], years) == [(0, 1), (1, 3), (2, 3)]
