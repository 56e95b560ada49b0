"""The CLI: train reports RMSE and saves; recommend folds in a person; bad input gives a message."""

from __future__ import annotations

import re

import pytest

from engine.cli import main
from engine.cli.common import parse_params


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
