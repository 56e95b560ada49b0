"""The ``Ratings`` container: immutability, encoding, views, subset/concat, fingerprint, find."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data import Ratings

MOVIES = pd.DataFrame(
    {
        "movieId": [30, 10, 20, 40, 50],
        "title": ["Hamlet", "Hamlet", "Toy Story", " Heat  ", None],  # titles are stripped
        "year": [1996, 1948, 1995, None, 2001],
        "genres": ["Drama", "Drama", "Animation|Comedy", "(no genres listed)", "Drama"],
    }
)
# userIds 7, 3, 9 -> indices 1, 0, 2 (sorted ids); movieIds 10, 20, 30, 40, 50 -> items 0..4
FRAME = pd.DataFrame(
    {
        "userId": [7, 7, 3, 9, 3],
        "movieId": [10, 20, 20, 30, 40],
        "rating": [4.0, 2.5, 5.0, 1.0, 3.5],
        "timestamp": [5, 6, 7, 8, 9],
    }
)


@pytest.fixture
def r() -> Ratings:
    return Ratings.from_frames(FRAME, MOVIES, name="tiny")


def test_encoding_is_sorted_ids_and_catalogue_order(r):
    assert r.user_ids.tolist() == [3, 7, 9]
    assert r.item_ids.tolist() == [10, 20, 30, 40, 50]
    # rows in canonical order, by (userId, movieId), whatever the frame's order
    assert r.users.tolist() == [0, 0, 1, 1, 2]
    assert r.items.tolist() == [1, 3, 0, 1, 2]
    assert r.values.tolist() == [5.0, 3.5, 4.0, 2.5, 1.0]
    assert r.timestamps is not None and r.timestamps.tolist() == [7, 9, 5, 6, 8]
    assert (r.users.dtype, r.items.dtype, r.values.dtype) == (np.int32, np.int32, np.float32)
    assert (r.n_users, r.n_items, len(r)) == (3, 5, 5)


def test_movies_frame_labels_years_genres_and_placeholders(r):
    m = r.movies
    assert m["label"].tolist() == [
        "Hamlet (1948)",
        "Toy Story (1995)",
        "Hamlet (1996)",
        "Heat",
        "Untitled film #50 (2001)",
    ]
    assert m.loc[3, "genres"] == "" and pd.isna(m.loc[3, "year"])
    assert str(m["year"].dtype) == "Int64"


def test_rated_film_missing_from_catalogue_gets_a_placeholder_row():
    frame = pd.DataFrame({"userId": [1, 1], "movieId": [20, 99], "rating": [3.0, 4.0]})
    r = Ratings.from_frames(frame, MOVIES)
    assert r.n_items == 6 and r.item_ids[-1] == 99
    assert r.labels[-1] == "Untitled film #99"
    assert r.timestamps is None


def test_arrays_are_read_only_and_the_object_frozen(r):
    for array in (r.users, r.items, r.values, r.user_ids, r.timestamps):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.name = "other"  # type: ignore[misc]


def test_callers_arrays_are_copied_not_frozen(r):
    users = np.array([0, 1], dtype=np.int32)
    items = np.array([0, 1], dtype=np.int32)
    values = np.array([1.0, 2.0], dtype=np.float32)
    own = Ratings(
        users=users, items=items, values=values, user_ids=np.array([5, 6]), movies=r.movies
    )
    values[0] = 5.0  # the caller keeps a writable array; the Ratings must not see the change
    assert users.flags.writeable and own.values[0] == 1.0


def test_read_only_view_of_a_writable_array_is_still_copied(r):
    values = np.array([1.0, 2.0], dtype=np.float32)
    view = values.view()
    view.setflags(write=False)
    own = Ratings(np.array([0, 1]), np.array([0, 1]), view, np.array([5, 6]), r.movies)
    values[0] = 5.0
    assert own.values[0] == 1.0


def test_constructor_rejects_inconsistent_arrays(r):
    with pytest.raises(ValueError, match="same length"):
        Ratings(np.array([0, 1]), np.array([0]), np.array([1.0, 2.0]), np.array([1, 2]), r.movies)
    with pytest.raises(ValueError, match="user index"):
        Ratings(
            np.array([0, 2]), np.array([0, 1]), np.array([1.0, 2.0]), np.array([1, 2]), r.movies
        )
    with pytest.raises(ValueError, match="item index"):
        Ratings(
            np.array([0, 1]), np.array([0, 5]), np.array([1.0, 2.0]), np.array([1, 2]), r.movies
        )


def test_csr_shape_and_values(r):
    m = r.csr()
    assert m.shape == (3, 5) and m.nnz == 5
    dense = m.toarray()
    assert dense[1, 0] == 4.0 and dense[1, 1] == 2.5 and dense[0, 1] == 5.0
    assert dense[2, 2] == 1.0 and dense[0, 3] == 3.5
    assert dense[:, 4].sum() == 0  # film 50 is in the catalogue but unrated


def test_user_views_counts_and_means(r):
    items, values = r.user_items(0)  # userId 3
    assert dict(zip(items.tolist(), values.tolist(), strict=True)) == {1: 5.0, 3: 3.5}
    assert r.user_rows(1).tolist() == [2, 3]
    assert r.user_counts().tolist() == [2, 2, 1]
    assert r.item_counts().tolist() == [1, 2, 1, 1, 0]
    means = r.item_means()
    assert means[1] == pytest.approx(3.75) and np.isnan(means[4])


def test_to_torch(r):
    users, items, values = r.to_torch()
    assert (
        users.dtype == torch.int64 and items.dtype == torch.int64 and values.dtype == torch.float32
    )
    assert values.tolist() == r.values.tolist()
    values[0] = 0  # a copy: the container stays untouched
    assert r.values[0] == 5.0


def test_subset_keeps_index_space_and_concat_restores(r):
    a, b = r.subset(np.array([0, 3])), r.subset(np.array([False, True, True, False, True]))
    assert (a.n_users, a.n_items, len(a)) == (3, 5, 2)
    assert a.movies is r.movies and a.user_ids.tolist() == r.user_ids.tolist()
    assert a.timestamps.tolist() == [7, 6]
    both = a.concat(b)
    assert len(both) == 5
    key = lambda x: sorted(zip(x.users.tolist(), x.items.tolist(), x.values.tolist(), strict=True))  # noqa: E731
    assert key(both) == key(r)
    assert both.fingerprint == r.subset(np.array([0, 3, 1, 2, 4])).fingerprint


def test_concat_refuses_another_catalogue(r):
    other = Ratings.from_frames(FRAME.head(2), MOVIES.head(3))
    with pytest.raises(ValueError, match="catalogues"):
        r.concat(other)


def test_fingerprint_stable_and_sensitive(r):
    again = Ratings.from_frames(FRAME.copy(), MOVIES.copy(), name="renamed")
    assert again.fingerprint == r.fingerprint
    changed = FRAME.copy()
    changed.loc[2, "rating"] = 4.5
    assert Ratings.from_frames(changed, MOVIES).fingerprint != r.fingerprint
    moved = FRAME.copy()
    moved.loc[2, "movieId"] = 30
    assert Ratings.from_frames(moved, MOVIES).fingerprint != r.fingerprint
    renumbered = FRAME.copy()
    renumbered["userId"] = renumbered["userId"] + 100
    assert Ratings.from_frames(renumbered, MOVIES).fingerprint != r.fingerprint


def test_find_exact_bare_title_ambiguous_and_missing(r):
    assert r.find("Toy Story (1995)") == 1
    assert r.find("  toy story (1995) ") == 1
    assert r.find("Toy Story") == 1  # unique bare title
    assert r.find("Hamlet (1948)") == 0
    with pytest.raises(
        KeyError, match=r"several films.*Hamlet \(1948\).*Hamlet \(1996\).*add the year"
    ):
        r.find("Hamlet")
    with pytest.raises(
        KeyError, match=r"no film called 'Toy Storey'; did you mean Toy Story \(1995\)"
    ):
        r.find("Toy Storey")
    with pytest.raises(KeyError, match=r"^\"no film called 'Zzz'\"$"):
        r.find("Zzz")
    with pytest.raises(KeyError, match="no film called ''"):
        r.find("")
    with pytest.raises(KeyError, match=r"did you mean Toy Story \(1995\)"):
        r.find("Toy Story 2")


def test_large_sparse_ids_take_the_general_path():
    """Ids far apart (not a dense range) still encode to sorted, contiguous indices."""
    big = [2**40, 5, 2**33]
    frame = pd.DataFrame({"userId": big, "movieId": [1, 2, 3], "rating": [1.0, 2.0, 3.0]})
    movies = pd.DataFrame({"movieId": [1, 2, 3], "title": list("abc"), "year": None, "genres": ""})
    r = Ratings.from_frames(frame, movies)
    assert r.user_ids.tolist() == sorted(big)
    assert r.users.tolist() == [0, 1, 2]  # canonical order: by user id
    assert r.values.tolist() == [2.0, 3.0, 1.0]
