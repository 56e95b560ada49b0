"""The CLI: train reports RMSE and saves; recommend folds in a person; bad input gives a message."""

from __future__ import annotations

import re

import pytest

import engine.cli.train as cli_train
import engine.tuning.searches as tuning
from engine.cli import build_parser, common, main
from engine.cli.train import describe
from engine.data.synthetic import planted_implicit
from engine.data.synthetic_scale import write_movielens_folder
from engine.models import REGISTRY, model_class
from engine.models.config import parse_params


def test_recommend_folds_in_and_lists_films(capsys, embedded):
    code = main(
        [
            "recommend",
            "--model",
            "baseline",
            "--rate",
            "Toy Story (1995)=5",
            "--rate",
            "Heat (1995)=2",
            "-k",
            "5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if re.match(r"\s*\d+\. ", line)]
    assert len(lines) == 5
    assert "Toy Story (1995)" not in "\n".join(lines)  # rated films are never recommended


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("Toy Story (1995)=7", "0.5 to 5"),
        ("Toy Story (1995)=3.3", "half steps"),
        ("Toy Story (1995)", "Title (Year)=stars"),
        ("No Such Film (2099)=4", "no film called"),
        ("Toy Story (1995)=lots", "not a number"),
    ],
)
def test_recommend_bad_ratings_get_a_clear_message(capsys, rate, message, embedded):
    assert main(["recommend", "--model", "baseline", "--rate", rate]) == 2
    assert message in capsys.readouterr().err


def test_train_prints_rmse_and_artifact(capsys, embedded):
    assert main(["train", "--model", "baseline"]) == 0
    out = capsys.readouterr().out
    assert "test RMSE 0.8" in out  # damped biases reach ~0.88 on protocol E
    assert "saved to" in out


def test_parse_params_reads_json_values():
    assert parse_params(["factors=32", "lr=0.01", "name=x"]) == {
        "factors": 32,
        "lr": 0.01,
        "name": "x",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_params(["factors"])


def test_tune_reruns_a_recorded_search_and_prints_the_winner(tmp_path, capsys, monkeypatch):
    data = planted_implicit(n_users=120, n_items=60, n_clusters=3, per_user=10, seed=1)
    folder = write_movielens_folder(data, tmp_path / "ml")
    # the recorded knn search, shrunk to two points whose answer the planted clusters fix
    monkeypatch.setitem(tuning.SEARCHES, "knn", ("R", {"neighbours": [1, 19]}, {"shrink": 0.0}))
    assert main(["tune", "knn", "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "best for knn (protocol R, seed 100): {'neighbours': 19}" in out
    assert re.search(r"^\s*neighbours\s+recall\s+ndcg", out, re.M)


def test_tune_names_the_searches_it_knows(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "nope"])
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "als" in err and "fair" in err


def test_every_command_is_registered():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"train", "recommend", "bench", "tune"}


# ---------------------------------------------------------------------- hyperparameters
def test_train_help_lists_every_declared_hyperparameter_with_range_and_meaning(capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name in REGISTRY:
        for spec in model_class(name).hyperparameters():
            assert describe(spec) in out, (name, spec.name)
    # one line per field: its name, what is allowed, its default and its meaning
    assert "epochs — a whole number in 1..10000; default 30." in out  # pmf's
    with pytest.raises(SystemExit):
        main(["train", "--model", "baseline", "--help"])
    only = capsys.readouterr().out
    assert "  baseline:" in only and "  pmf:" not in only
    assert "user_damping — a number in [0, " in only


@pytest.mark.parametrize(
    ("model", "setting", "message"),
    [
        ("baseline", "epochs=-1", "epochs must be a whole number in 1..1000, got -1"),
        ("baseline", "epochs=2.5", "epochs must be a whole number in 1..1000, got 2.5"),
        ("baseline", "user_damping=-5", "user_damping must be a number in [0, "),
        ("mf", "lr=0", "lr must be a number in (0, "),
        ("pmf", "method=gibbs", "method must be one of 'vb', 'map', got 'gibbs'"),
        ("hybrid", 'explicit_params={"epochs": 0}', "explicit_params (for pmf): epochs must be"),
        ("baseline", "nope=1", "unknown hyperparameters for BiasConfig: ['nope']"),
    ],
)
def test_train_rejects_a_bad_value_naming_the_field_and_trains_nothing(
    capsys, monkeypatch, model, setting, message
):
    def never(*args, **kwargs):
        raise AssertionError("nothing may load or train after a bad hyperparameter")

    monkeypatch.setattr(cli_train, "train_model", never)
    monkeypatch.setattr(common, "load_embedded", never)
    monkeypatch.setattr(cli_train, "load_data", never)
    assert main(["train", "--model", model, "--set", setting]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
