"""The same ratings in another row order give the same encoding, fingerprint,
splits and protocol figures (a split is a function of the ratings alone, not of the file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import Ratings, split_e, split_f, split_r, validation_split
from engine.data.movielens import load_folder
from engine.data.ratings import canonical_order
from engine.data.synthetic_movielens import synthetic_movielens
from engine.evaluate.report import BenchContext
from engine.evaluate.run_protocols import run_protocol

SIZES = {"n_users": 150, "n_items": 800, "n_ratings": 9_000}


def frame_of(r: Ratings) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "userId": r.user_ids[r.users],
            "movieId": r.item_ids[r.items],
            "rating": r.values,
            "timestamp": np.arange(len(r), dtype=np.int64) * 7 % 1000,
        }
    )


def movies_of(r: Ratings) -> pd.DataFrame:
    return r.movies.loc[:, ["movieId", "title", "year", "genres"]]


@pytest.fixture(scope="module")
def orders() -> tuple[Ratings, Ratings]:
    """One dataset built from its rows in (user, film) order and in a shuffled order."""
    base = synthetic_movielens(seed=3, **SIZES)
    frame = frame_of(base)
    shuffled = frame.iloc[np.random.default_rng(11).permutation(len(frame))]
    shuffled = shuffled.reset_index(drop=True)
    assert not shuffled["userId"].is_monotonic_increasing  # the rows really moved
    a = Ratings.from_frames(frame, movies_of(base), name="a")
    b = Ratings.from_frames(shuffled, movies_of(base), name="b")
    return a, b


def identical(x: Ratings, y: Ratings) -> bool:
    return (
        np.array_equal(x.users, y.users)
        and np.array_equal(x.items, y.items)
        and np.array_equal(x.values, y.values)
        and np.array_equal(x.user_ids, y.user_ids)
        and x.fingerprint == y.fingerprint
    )


def test_canonical_order_sorts_by_user_then_film_and_skips_sorted_input():
    users = np.array([2, 0, 1, 0, 2])
    items = np.array([0, 3, 1, 1, 2])
    order = canonical_order(users, items, n_items=4)
    assert order is not None
    assert list(zip(users[order].tolist(), items[order].tolist(), strict=True)) == [
        (0, 1), (0, 3), (1, 1), (2, 0), (2, 2),
    ]  # fmt: skip
    assert canonical_order(users[order], items[order], n_items=4) is None  # already canonical


def test_canonical_order_of_repeated_pairs_does_not_depend_on_input_order():
    users, items = np.array([0, 0, 0]), np.array([1, 1, 0])
    values = np.array([4.0, 2.0, 3.0])
    stamps = np.array([5, 9, 1])
    first = canonical_order(users, items, 2, values, stamps)
    flipped = [1, 0, 2]
    second = canonical_order(users[flipped], items[flipped], 2, values[flipped], stamps[flipped])
    assert first is not None and second is not None
    assert values[first].tolist() == values[flipped][second].tolist() == [3.0, 2.0, 4.0]


def test_encoding_and_fingerprint_ignore_row_order(orders):
    a, b = orders
    assert identical(a, b)
    assert a.timestamps is not None and b.timestamps is not None
    assert np.array_equal(a.timestamps, b.timestamps)  # every column moved with its row


def test_every_seeded_split_ignores_row_order(orders):
    a, b = orders
    for left, right in zip(split_e(a), split_e(b), strict=True):
        assert identical(left, right)
    for left, right in zip(split_r(a), split_r(b), strict=True):
        assert identical(left, right)
    for protocol in ("E", "R"):
        for left, right in zip(
            validation_split(split_r(a)[0], protocol),
            validation_split(split_r(b)[0], protocol),
            strict=True,
        ):
            assert identical(left, right)
    for seed in (1, 2):
        fa, fb = split_f(a, seed=seed), split_f(b, seed=seed)
        assert fa.new_users.tolist() == fb.new_users.tolist()
        assert identical(fa.train, fb.train) and identical(fa.held, fb.held)


def test_a_movielens_folder_in_another_row_order_loads_the_same(orders, tmp_path):
    a, _ = orders
    frame = frame_of(a)
    movies = pd.DataFrame(
        {"movieId": a.movies["movieId"], "title": a.movies["label"], "genres": a.movies["genres"]}
    )
    for name, rows in (("sorted", frame), ("shuffled", frame.sample(frac=1.0, random_state=4))):
        (tmp_path / name).mkdir()
        rows.to_csv(tmp_path / name / "ratings.csv", index=False)
        movies.to_csv(tmp_path / name / "movies.csv", index=False)
    left, right = load_folder(tmp_path / "sorted"), load_folder(tmp_path / "shuffled")
    assert identical(left, right) and left.fingerprint == a.fingerprint


@pytest.mark.parametrize("protocol", ["E", "R", "F"])
def test_protocol_figures_ignore_row_order(orders, protocol):
    tables = []
    for ratings in orders:
        ctx = BenchContext(
            ratings=ratings, models=["baseline", "popularity", "mf"], peers=False, quick=True
        )
        result = run_protocol(protocol, ctx)
        assert result.status == "ok", result.notes
        figures = result.table.drop(columns=[c for c in result.table if c.endswith((" s", " ms"))])
        tables.append(figures.reset_index(drop=True))
    assert len(tables[0]) > 0
    pd.testing.assert_frame_equal(tables[0], tables[1])
