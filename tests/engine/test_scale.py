"""The MovieLens-25M-size generator (at small sizes), its csv writer, and protocol S's pieces."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data.movielens import load_folder
from engine.data.ratings import Ratings
from engine.data.synthetic_scale import (
    ML25M_ITEMS,
    ML25M_RATINGS,
    ML25M_USERS,
    quick_sizes,
    synthetic_scale,
    write_movielens_folder,
)
from engine.evaluate import protocol_s
from engine.evaluate.protocol_s import _child
from engine.evaluate.report import BenchContext
from engine.evaluate.scale_steps import als_traffic

SMALL = {"n_users": 2_000, "n_items": 1_500, "n_ratings": 60_000}


@pytest.fixture(scope="module")
def small() -> Ratings:
    return synthetic_scale(**SMALL, seed=0)


def test_exact_sizes_distinct_pairs_and_everyone_present(small):
    assert (small.n_users, small.n_items, len(small)) == (2_000, 1_500, 60_000)
    keys = small.users.astype(np.int64) * small.n_items + small.items
    assert len(np.unique(keys)) == len(keys)  # no (person, film) pair twice
    assert np.all(small.user_counts() >= 1)
    assert np.all(np.diff(keys) > 0)  # sorted by (user, item): CSR-friendly


def test_values_are_half_stars_in_range(small):
    v = small.values
    assert v.min() >= 0.5 and v.max() <= 5.0
    np.testing.assert_array_equal(v * 2, np.round(v * 2))
    assert 3.0 < v.mean() < 4.0 and v.std() > 0.5


def test_zipf_popularity_and_lognormal_activity(small):
    counts = np.sort(small.item_counts())[::-1]
    top = counts[: len(counts) // 100].sum() / counts.sum()
    assert top > 0.05  # the top 1 % of films get far more than 1 % of the interactions
    # rank-frequency slope near −1 in the head (Zipf exponent 1, offset 40)
    ranks = np.arange(50, 400)
    slope = np.polyfit(np.log(ranks + 40), np.log(counts[ranks]), 1)[0]
    assert -1.4 < slope < -0.6
    activity = small.user_counts()
    assert np.mean(activity) > 1.5 * np.median(activity)  # right-skewed, like a lognormal
    logs = np.log(activity[activity > 3])
    assert abs(float(pd.Series(logs).skew())) < 1.0  # roughly symmetric on the log scale


def test_seeded_and_reproducible(small):
    again = synthetic_scale(**SMALL, seed=0)
    assert again.fingerprint == small.fingerprint
    other = synthetic_scale(**SMALL, seed=1)
    assert other.fingerprint != small.fingerprint


def test_full_size_constants_and_quick_sizes():
    assert (ML25M_USERS, ML25M_ITEMS, ML25M_RATINGS) == (162_541, 59_047, 25_000_000)
    q = quick_sizes(0.01)
    assert q["n_users"] == 1625 and q["n_ratings"] == 250_000
    assert q["n_ratings"] < 0.5 * q["n_users"] * q["n_items"]
    with pytest.raises(ValueError, match="at least one rating per user"):
        synthetic_scale(n_users=100, n_items=10, n_ratings=50)


def test_movielens_folder_round_trip(small, tmp_path):
    folder = write_movielens_folder(small, tmp_path / "ml")
    ratings = pd.read_csv(folder / "ratings.csv")
    movies = pd.read_csv(folder / "movies.csv")
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert list(movies.columns) == ["movieId", "title", "genres"]
    assert len(ratings) == len(small) and len(movies) == small.n_items
    assert movies["title"].iloc[0].endswith(")")  # "Film 0 (1950)", year in the title as in ml-25m
    back = Ratings.from_frames(ratings, movies.assign(year=None))
    np.testing.assert_array_equal(back.users, small.users)
    np.testing.assert_array_equal(back.items, small.items)
    np.testing.assert_array_equal(back.values, small.values)


def test_loader_reads_the_written_folder(small, tmp_path):
    folder = write_movielens_folder(small, tmp_path / "ml")
    loaded = load_folder(folder)
    assert len(loaded) == len(small) and loaded.n_items == small.n_items
    assert loaded.n_users == small.n_users
    assert loaded.movies["label"].iloc[3] == small.movies["label"].iloc[3]


def test_als_traffic_model_counts_kernels():
    nbytes, flops = als_traffic(nnz=1000, rows=10, cols=20, k=8, cg_steps=3)
    per_matvec = 1000 * (8 + 32 + 4 + 8 + 4 + 32)
    assert nbytes == pytest.approx(4 * (2 * per_matvec + 12 * 30 * 8 * 4))
    assert flops == pytest.approx(4 * (2 * 4 * 8 * 1000 + 2 * 30 * 64))


@pytest.mark.slow  # two fresh interpreters importing torch: ~10 s on a quiet machine
def test_protocol_s_steps_run_in_their_own_process(tmp_path):
    """The generate and ALS steps at a tiny size, through the same child-process path as bench."""
    sizes = {"n_users": 300, "n_items": 200, "n_ratings": 6_000}
    gen = _child(["--step", "generate", "--data", str(tmp_path), "--sizes", json.dumps(sizes)], 1)
    assert gen["n_ratings"] == 6_000 and gen["peak_mib"] > 10
    assert (tmp_path / "csv" / "ratings.csv").exists()
    als = _child(["--step", "als", "--data", str(tmp_path), "--epochs", "2"], 1)
    assert len(als["iterations"]) == 2 and als["seconds_per_iteration"] > 0
    assert als["nnz"] == 6_000 and als["group6_ms"] > 0 and als["fold_in_ms"] > 0
    with pytest.raises(RuntimeError, match="failed"):
        _child(["--step", "als", "--data", str(tmp_path / "missing")], 1)


def test_protocol_s_measures_every_device_the_same_way(monkeypatch, embedded):
    """The parent's one path: per device the same ALS and MF rows; the peer only on the CPU;
    a failing step is a note, not a lost table. Steps are canned here (their own test above)."""
    calls: list[list[str]] = []

    def child(args, threads):
        calls.append(args)
        step, device = args[1], args[args.index("--device") + 1] if "--device" in args else "cpu"
        if step == "generate":
            return {
                "seconds": 1.0,
                "peak_mib": 5.0,
                "n_ratings": 10,
                "csv_write_s": 0.1,
                "csv_mib": 1.0,
            }
        if step == "load":
            raise RuntimeError("step --step load failed: disk full")
        if step == "mf":
            out = {"seconds_per_epoch": 2.0, "ratings_per_s": 5.0, "peak_mib": 6.0}
            return out | ({"gpu_peak_mib": 7.0} if device == "cuda" else {})
        out = {"seconds_per_iteration": 0.5, "peak_mib": 8.0, "bytes_per_s": 1e9, "flop_per_s": 1e9}
        out |= {"fold_in_ms": 1.0, "score_ms": 2.0, "similar_ms": 3.0, "group6_ms": 4.0}
        out |= {"peak_bytes_per_s": 2e9 if device == "cuda" else None}
        return out | ({"gpu_peak_mib": 9.0} if device == "cuda" else {})

    monkeypatch.setattr(protocol_s, "_child", child)
    monkeypatch.setattr(protocol_s, "_devices", lambda threads: [("cpu", "CPU"), ("cuda", "GPU")])
    result = protocol_s.run(BenchContext(ratings=embedded, quick=True))
    table = result.table
    for device in ("CPU", "GPU"):
        rows = table[table["device"] == device]["measure"].tolist()
        assert "ALS 64 factors, s/iteration (ours)" in rows and "MF 64 factors, s/epoch" in rows
        assert "6-member group recommendation" in rows
    assert (table["measure"].str.contains("implicit")).sum() == 1  # the peer: CPU only
    assert table[table["measure"].str.contains("implicit")]["device"].item() == "CPU"
    gpu_als = table[(table["device"] == "GPU") & table["measure"].str.contains("ours")]
    assert "50 % of peak bandwidth" in gpu_als["note"].item()
    assert any("csv load: not measured" in n for n in result.notes)
    assert [c[c.index("--epochs") + 1] for c in calls if c[1] == "als"] == ["2", "4"]
