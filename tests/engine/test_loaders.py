"""MovieLens folder loaders: every layout on hand-written fixture folders, every bad-input case.

Each test writes its own tiny folder under ``tmp_path``; expectations are worked out by hand.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import DatasetError, DatasetWarning, Ratings
from engine.data import synthetic_movielens as synthetic
from engine.data.movielens import (
    ML100K_GENRES,
    detect_layout,
    load_dataset,
    load_folder,
    load_named,
    split_title,
)

RATINGS_HEADER = "userId,movieId,rating,timestamp\n"
MOVIES_CSV = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '3,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Drama|Mystery\n'
    "5,Babylon 5 ,(no genres listed)\n"
    "7,Fawlty Towers (1975-1979),Comedy\n"
    "9,Never Rated (2001),Drama\n"
)
RATINGS_CSV = RATINGS_HEADER + "1,1,4.0,100\n1,3,4.5,101\n2,1,0.5,102\n2,7,5,103\n10,5,3.5,104\n"


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


def latest(
    tmp_path: Path, ratings: str | bytes = RATINGS_CSV, movies: str | bytes | None = MOVIES_CSV
) -> Path:
    files: dict[str, str | bytes] = {"ratings.csv": ratings}
    if movies is not None:
        files["movies.csv"] = movies
    return write(tmp_path / "ml-latest-small", files)


def triples(r: Ratings) -> set[tuple[int, int, float]]:
    """(userId, movieId, rating) as MovieLens ids, to compare with the file independent of order."""
    return {
        (int(r.user_ids[u]), int(r.item_ids[i]), float(v))
        for u, i, v in zip(r.users, r.items, r.values, strict=True)
    }


def expect_error(folder: Path, *needles: str) -> DatasetError:
    """load_folder raises DatasetError whose message contains every needle (case-insensitive)."""
    with pytest.raises(DatasetError) as info:
        load_folder(folder)
    message = str(info.value).casefold()
    for needle in needles:
        assert needle.casefold() in message, f"{needle!r} not in {str(info.value)!r}"
    return info.value


# ------------------------------------------------------------------------------------ layouts


def test_latest_csv_layout_parses_ids_values_titles_years_genres(tmp_path):
    r = load_folder(latest(tmp_path))
    assert r.name == "ml-latest-small"
    assert (len(r), r.n_users, r.n_items) == (5, 3, 5)  # film 9 is in the catalogue, unrated
    assert triples(r) == {(1, 1, 4.0), (1, 3, 4.5), (2, 1, 0.5), (2, 7, 5.0), (10, 5, 3.5)}
    assert r.user_ids.tolist() == [1, 2, 10]
    assert sorted(r.timestamps.tolist()) == [100, 101, 102, 103, 104]
    m = r.movies.set_index("movieId")
    assert m.loc[1, "title"] == "Toy Story" and m.loc[1, "year"] == 1995
    assert m.loc[3, "title"] == "City of Lost Children, The (Cité des enfants perdus, La)"
    assert m.loc[3, "label"] == "City of Lost Children, The (Cité des enfants perdus, La) (1995)"
    assert m.loc[5, "title"] == "Babylon 5" and pd.isna(m.loc[5, "year"])
    assert m.loc[5, "label"] == "Babylon 5" and m.loc[5, "genres"] == ""
    assert m.loc[7, "title"] == "Fawlty Towers" and m.loc[7, "year"] == 1975
    assert m.loc[1, "genres"] == "Adventure|Animation|Children|Comedy|Fantasy"
    assert r.item_counts()[r.find("Never Rated (2001)")] == 0
    assert r.notes == ()


def test_blank_lines_before_the_header_are_skipped_and_counted(tmp_path):
    folder = latest(tmp_path, ratings="\n\n" + RATINGS_HEADER + "1,1,4,1\n1,3,9,1\n")
    expect_error(folder, "rating on line 5", "0.5 to 5")


def test_latest_csv_accepts_crlf_bom_quoted_header_any_column_order_and_no_timestamp(tmp_path):
    ratings = '\ufeff"movieId","userId","rating"\r\n1,2,3\r\n3,2,2.5\r\n'
    r = load_folder(latest(tmp_path, ratings=ratings))
    assert triples(r) == {(2, 1, 3.0), (2, 3, 2.5)}
    assert r.timestamps is None


def test_ml1m_layout_double_colon_latin1(tmp_path):
    folder = write(
        tmp_path / "ml-1m",
        {
            "ratings.dat": "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n",
            "movies.dat": (
                "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
                "661::Star Wars: Episode IV - A New Hope (1977)::Action|Sci-Fi\n"
                "2::Am\xe9lie (2001)::Comedy|Romance\n"
            ).encode("latin-1"),
        },
    )
    r = load_folder(folder)
    assert r.name == "ml-1m"
    assert triples(r) == {(1, 1193, 5.0), (1, 661, 3.0), (2, 1193, 4.0)}
    m = r.movies.set_index("movieId")
    assert m.loc[661, "title"] == "Star Wars: Episode IV - A New Hope"
    assert m.loc[661, "genres"] == "Action|Sci-Fi" and m.loc[661, "year"] == 1977
    assert m.loc[2, "title"] == "Amélie"
    assert sorted(r.timestamps.tolist()) == [978298413, 978300760, 978302109]


def test_ml10m_style_half_stars_in_dat_layout(tmp_path):
    folder = write(tmp_path / "ml-10m", {"ratings.dat": "1::122::4.5::838985046\n"})
    with pytest.warns(DatasetWarning, match="movies.dat"):
        r = load_folder(folder)
    assert triples(r) == {(1, 122, 4.5)}


@pytest.mark.parametrize(
    ("files", "ratings_name"),
    [
        (
            {
                "ratings.dat": "1::2::3::4\r\n5::2::1::4\r\n",
                "movies.dat": "2::Heat (1995)::Action\r\n",
            },
            "ratings.dat",
        ),
        ({"u.data": "1\t2\t3\t4\r\n5\t2\t1\t4\r\n"}, "u.data"),
    ],
)
def test_crlf_line_endings_in_headerless_layouts(tmp_path, files, ratings_name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # u.item is absent on purpose
        r = load_folder(write(tmp_path / "crlf", files))
    assert triples(r) == {(1, 2, 3.0), (5, 2, 1.0)}
    assert r.movies["label"].iloc[0] in {"Heat (1995)", "Untitled film #2"}


def flags(*genres: str) -> str:
    return "|".join("1" if g in genres else "0" for g in ML100K_GENRES)


def test_ml100k_layout_tabs_pipes_genre_flags_and_release_year(tmp_path):
    toy_story = flags("Animation", "Children's", "Comedy")
    item = (
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{toy_story}\n"
        f"267|unknown||||{flags('unknown')}\n"
        f"302|L.A. Confidential|01-Jan-1997||http://x|{flags('Crime', 'Film-Noir', 'Mystery', 'Thriller')}\n"
        f"1300|Caf\xe9 au lait (1993)|01-Jan-1993||x|{flags('Comedy')}\n"
    )
    folder = write(
        tmp_path / "ml-100k",
        {
            "u.data": "196\t1\t3\t881250949\n186\t302\t1\t891717742\n196\t267\t5\t881251000\n",
            "u.item": item.encode("latin-1"),
        },
    )
    r = load_folder(folder)
    assert r.name == "ml-100k"
    assert triples(r) == {(196, 1, 3.0), (186, 302, 1.0), (196, 267, 5.0)}
    m = r.movies.set_index("movieId")
    assert m.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert m.loc[302, "genres"] == "Crime|Film-Noir|Mystery|Thriller"
    assert m.loc[302, "year"] == 1997  # from the release date: the title carries no year
    assert m.loc[267, "title"] == "unknown" and pd.isna(m.loc[267, "year"])
    assert m.loc[267, "genres"] == "unknown"
    assert m.loc[1300, "title"] == "Café au lait" and m.loc[1300, "year"] == 1993


@pytest.mark.parametrize(
    ("text", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        ("Toy Story (1995)  ", "Toy Story", 1995),
        ("Babylon 5", "Babylon 5", None),
        ("Babylon 5 ", "Babylon 5", None),
        ("Fawlty Towers (1975-1979)", "Fawlty Towers", 1975),
        ("Stranger Things (2016– )", "Stranger Things", 2016),
        ("(500) Days of Summer (2009)", "(500) Days of Summer", 2009),
        ("1984 (1956)", "1984", 1956),
        ("Big Fish (2003) (a)", "Big Fish (2003) (a)", None),
        ("(1995)", "(1995)", None),
        ("", "", None),
    ],
)
def test_split_title(text, title, year):
    out = split_title(pd.Series([text]))
    assert out["title"].iloc[0] == title
    assert pd.isna(out["year"].iloc[0]) if year is None else out["year"].iloc[0] == year


def test_csv_layout_wins_and_nested_single_folder_is_found(tmp_path):
    inner = latest(tmp_path / "download")  # download/ml-latest-small/ratings.csv
    (inner / "u.data").write_text("1\t1\t1\t1\n")
    folder, layout = detect_layout(tmp_path / "download")
    assert folder == inner and layout.ratings == "ratings.csv"
    assert len(load_folder(tmp_path / "download")) == 5


def test_load_dataset_none_is_the_embedded_sample():
    r = load_dataset(None)
    assert (r.n_users, r.n_items, len(r)) == (671, 9066, 100004)


def test_embedded_sample_written_as_ml_latest_small_round_trips(tmp_path, embedded):
    """The real 100k sample, written in the ml-latest-small layout, loads to the same dataset."""
    e = embedded
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    pd.DataFrame(
        {
            "userId": e.user_ids[e.users],
            "movieId": e.item_ids[e.items],
            "rating": e.values,
            "timestamp": e.timestamps,
        }
    ).to_csv(folder / "ratings.csv", index=False)
    pd.DataFrame(
        {
            "movieId": e.movies["movieId"],
            "title": e.movies["label"],  # "Title (Year)", quoted by pandas where it has commas
            "genres": e.movies["genres"].replace("", "(no genres listed)"),
        }
    ).to_csv(folder / "movies.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = load_folder(folder)
    assert r.fingerprint == e.fingerprint
    assert (r.labels == e.labels).all()
    assert r.movies["year"].equals(e.movies["year"]) and r.movies["genres"].equals(
        e.movies["genres"]
    )


def test_load_dataset_path_reads_the_folder(tmp_path):
    r = load_dataset(str(latest(tmp_path)))
    assert r.name == "ml-latest-small" and len(r) == 5


def test_load_named_reads_embedded_synthetic_or_a_folder(tmp_path, monkeypatch, embedded):
    made: list[int] = []

    def fake(seed: int) -> Ratings:
        made.append(seed)
        return embedded

    monkeypatch.setattr(synthetic, "synthetic_movielens", fake)
    assert load_named("synthetic") is embedded and made == [0]
    assert load_named("embedded").fingerprint == embedded.fingerprint
    assert load_named(None).fingerprint == embedded.fingerprint
    assert load_named(str(latest(tmp_path))).name == "ml-latest-small" and made == [0]


# ------------------------------------------------------------------------------------ repairs


def test_missing_movies_file_loads_with_placeholder_titles_and_warns(tmp_path):
    folder = latest(tmp_path, movies=None)
    with pytest.warns(DatasetWarning, match=r"movies\.csv not found"):
        r = load_folder(folder)
    assert len(r) == 5 and r.n_items == 4
    assert r.movies.set_index("movieId").loc[7, "title"] == "Untitled film #7"
    assert any("movies.csv" in note for note in r.notes)


def test_rated_film_missing_from_movies_file_is_kept_with_warning(tmp_path):
    folder = latest(tmp_path, ratings=RATINGS_CSV + "3,42,2,105\n")
    with pytest.warns(DatasetWarning, match="1 rated movieId"):
        r = load_folder(folder)
    assert (3, 42, 2.0) in triples(r)
    assert r.movies.set_index("movieId").loc[42, "title"] == "Untitled film #42"


def test_duplicates_keep_latest_timestamp_ties_to_later_line_and_warn(tmp_path):
    ratings = RATINGS_HEADER + (
        "1,1,1.0,50\n"  # pair (1,1): ts 50, 90, 90 -> the later of the two ts-90 lines wins
        "1,1,2.0,90\n"
        "2,1,0.5,10\n"
        "1,1,3.0,90\n"
        "2,7,4.0,200\n"  # pair (2,7): the earlier line is newer -> 4.0 stays
        "2,7,1.0,100\n"
    )
    folder = latest(tmp_path, ratings=ratings)
    with pytest.warns(DatasetWarning) as caught:
        r = load_folder(folder)
    messages = [str(w.message) for w in caught]
    assert any(
        "ratings.csv" in m and "3 duplicate" in m and "2 (user, film) pair" in m for m in messages
    )
    assert triples(r) == {(1, 1, 3.0), (2, 1, 0.5), (2, 7, 4.0)}
    assert any("3 duplicate" in note for note in r.notes)


def test_duplicates_without_timestamps_keep_the_later_line(tmp_path):
    folder = latest(tmp_path, ratings="userId,movieId,rating\n1,1,1\n1,3,2\n1,1,5\n")
    with pytest.warns(DatasetWarning, match="1 duplicate"):
        r = load_folder(folder)
    assert triples(r) == {(1, 1, 5.0), (1, 3, 2.0)}


def test_clean_file_raises_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_folder(latest(tmp_path))


# ------------------------------------------------------------------------------------ bad input


def test_folder_does_not_exist(tmp_path):
    expect_error(tmp_path / "nope", "nope", "no such folder")


def test_path_is_a_file(tmp_path):
    folder = latest(tmp_path)
    error = expect_error(folder / "ratings.csv", "ratings.csv", "is a file", "ml-latest-small")
    assert error.path == folder / "ratings.csv"


def test_zip_file_says_unzip(tmp_path):
    (tmp_path / "ml-latest-small.zip").write_bytes(b"PK\x03\x04")
    expect_error(tmp_path / "ml-latest-small.zip", "is a file", "unzip")


def test_folder_without_ratings_file_lists_every_layout(tmp_path):
    folder = write(tmp_path / "films", {"movies.csv": MOVIES_CSV})
    expect_error(
        folder, "films", "no movielens ratings file", "ratings.csv", "ratings.dat", "u.data"
    )


@pytest.mark.parametrize(
    ("header", "needles"),
    [
        ("userId,movieId,timestamp\n", ["missing column", "rating"]),
        ("userId,movieId,rating,timestamp,tag\n", ["unknown column", "'tag'"]),
        (
            "user,movieId,rating,timestamp\n",
            ["missing column", "userId", "unknown column", "'user'"],
        ),
        ("userId,movieId,rating,rating\n", ["repeated column", "rating"]),
    ],
)
def test_wrong_columns(tmp_path, header, needles):
    expect_error(latest(tmp_path, ratings=header + "1,1,4,1\n"), "ratings.csv", *needles)


def test_headerless_csv(tmp_path):
    expect_error(
        latest(tmp_path, ratings="1,1,4.0,100\n"), "ratings.csv", "no header", "userId,movieId"
    )


@pytest.mark.parametrize(("sep", "name"), [("\t", "tab"), (";", "';'")])
def test_wrong_separator_in_csv(tmp_path, sep, name):
    ratings = f"userId{sep}movieId{sep}rating{sep}timestamp\n1{sep}1{sep}4{sep}1\n"
    expect_error(
        latest(tmp_path, ratings=ratings), "ratings.csv", f"looks {name}-separated", "comma"
    )


def test_wrong_separator_in_movies_csv(tmp_path):
    movies = "movieId;title;genres\n1;Toy Story (1995);Comedy\n"
    expect_error(latest(tmp_path, movies=movies), "movies.csv", "';'-separated")


def test_wrong_separator_in_udata_and_ratings_dat(tmp_path):
    expect_error(write(tmp_path / "a", {"u.data": "1,2,3,4\n"}), "u.data", "not tab-separated")
    expect_error(
        write(tmp_path / "b", {"ratings.dat": "1\t2\t3\t4\n"}), "ratings.dat", "'::'", "tab"
    )


def test_rows_separated_differently_from_the_header(tmp_path):
    ratings = RATINGS_HEADER + "1,1,4,1\n1;2;4;1\n"
    expect_error(
        latest(tmp_path, ratings=ratings), "ratings.csv", "looks ';'-separated", "'1;2;4;1'"
    )


def test_non_utf8_header(tmp_path):
    ratings = b"user\xffId,movieId,rating,timestamp\n1,1,4,1\n"
    expect_error(
        latest(tmp_path, ratings=ratings), "ratings.csv", "not valid UTF-8", "byte 4", "line 1"
    )


def test_row_with_too_many_fields(tmp_path):
    ratings = RATINGS_HEADER + "1,1,4,1\n1,2,4,1,9\n"
    expect_error(latest(tmp_path, ratings=ratings), "ratings.csv", "5 field(s)", "4 are expected")


@pytest.mark.parametrize("name", ["ratings.csv", "movies.csv"])
def test_empty_file(tmp_path, name):
    folder = latest(tmp_path, **{name.split(".")[0]: ""})
    expect_error(folder, name, "is empty (0 bytes)")


def test_empty_udata(tmp_path):
    expect_error(write(tmp_path / "ml-100k", {"u.data": ""}), "u.data", "0 bytes")


def test_blank_lines_only(tmp_path):
    expect_error(latest(tmp_path, ratings="\n\n  \n"), "ratings.csv", "blank")


def test_header_only(tmp_path):
    expect_error(latest(tmp_path, ratings=RATINGS_HEADER), "ratings.csv", "header but no ratings")


@pytest.mark.parametrize(
    ("row", "needles"),
    [
        ("abc,1,4,1", ["userId on line 3", "'abc'", "whole number"]),
        ("1,1.5,4,1", ["movieId on line 3", "'1.5'", "whole number"]),
        ("1,1,four,1", ["rating on line 3", "'four'"]),
        ("1,1,4,yesterday", ["timestamp on line 3", "'yesterday'"]),
        ("1,99999999999,4,1", ["movieId on line 3", "99999999999"]),
        ("1,1,NaN,1", ["rating on line 3", "missing", "nan"]),
        ("1,,4,1", ["movieId on line 3", "missing"]),
        ("-1,1,4,1", ["userId on line 3", "-1", "negative"]),
        ("1,-5,4,1", ["movieId on line 3", "-5", "negative"]),
        ("1,1,5.5,1", ["rating on line 3", "5.5", "0.5 to 5"]),
        ("1,1,0,1", ["rating on line 3", "0.5 to 5"]),
        ("1,1,inf,1", ["rating on line 3", "0.5 to 5"]),
        ("1,1,3.7,1", ["rating on line 3", "3.7", "half-star"]),
        ("1,1,4.25,1", ["rating on line 3", "half-star"]),
    ],
)
def test_bad_cells_name_file_line_and_problem(tmp_path, row, needles):
    ratings = RATINGS_HEADER + "2,1,4,1\n" + row + "\n3,3,3,3\n"
    expect_error(latest(tmp_path, ratings=ratings), "ratings.csv", *needles)


def test_id_just_past_int32_is_located_after_a_valid_ten_digit_id(tmp_path):
    ratings = RATINGS_HEADER + "1,2147483647,4,1\n1,2147483648,4,1\n"
    expect_error(latest(tmp_path, ratings=ratings), "movieId on line 3", "'2147483648'")


def test_bad_rating_in_udata_counts_lines_without_header(tmp_path):
    folder = write(tmp_path / "ml-100k", {"u.data": "1\t1\t3\t1\n1\t2\t0\t1\n"})
    expect_error(folder, "u.data", "rating on line 2", "0.5 to 5")


def test_non_utf8_title_in_movies_csv_names_byte_and_line(tmp_path):
    movies = MOVIES_CSV.encode("utf-8") + "11,Am\xe9lie (2001),Comedy\n".encode("latin-1")
    offset = len(MOVIES_CSV.encode("utf-8")) + len(b"11,Am")
    expect_error(
        latest(tmp_path, movies=movies), "movies.csv", "not valid UTF-8", f"byte {offset}", "line 7"
    )


def test_non_utf8_bytes_in_ratings_csv(tmp_path):
    ratings = (RATINGS_HEADER + "1,1,4,1\n").encode() + b"1,\xff2,4,1\n"
    expect_error(latest(tmp_path, ratings=ratings), "ratings.csv", "not valid UTF-8", "line 3")


def test_bad_movies_csv_columns_and_ids(tmp_path):
    expect_error(
        latest(tmp_path / "a", movies="movieId,name\n1,x\n"),
        "movies.csv",
        "missing column",
        "title",
    )
    expect_error(
        latest(tmp_path / "b", movies="movieId,title,genres\nx1,Foo,Drama\n"),
        "movies.csv",
        "line 2",
        "'x1'",
    )


def test_bad_u_item_and_movies_dat(tmp_path):
    folder = write(
        tmp_path / "ml-100k", {"u.data": "1\t1\t3\t1\n", "u.item": "1|Toy Story (1995)|x\n"}
    )
    expect_error(folder, "u.item", "line 1", "expected 24")
    folder = write(
        tmp_path / "ml-1m", {"ratings.dat": "1::1::3::1\n", "movies.dat": "1,Toy Story,Comedy\n"}
    )
    expect_error(folder, "movies.dat", "line 1", "::")


def test_error_is_a_value_error_with_path_and_problem(tmp_path):
    error = expect_error(latest(tmp_path, ratings=RATINGS_HEADER + "1,1,9,1\n"), "ratings.csv")
    assert isinstance(error, ValueError)
    assert error.path.name == "ratings.csv" and "line 2" in error.problem


def test_largest_int32_ids_load(tmp_path):
    big = int(np.iinfo(np.int32).max)
    with pytest.warns(DatasetWarning):
        r = load_folder(
            latest(tmp_path, ratings=RATINGS_HEADER + f"{big},{big},4,1\n0,1,2,1\n", movies=None)
        )
    assert triples(r) == {(big, big, 4.0), (0, 1, 2.0)}
