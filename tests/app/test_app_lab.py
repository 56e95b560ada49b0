"""AppTest tests of the Lab page: model manifests (with PMF's learned precisions), retraining
with a progress bar, and pointing the app at another MovieLens folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from app_helpers import (
    all_messages,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    frame_with,
    open_app,
)

pytestmark = pytest.mark.usefixtures("app_env", "fast_models")

FAST = {"mf": {"factors": 8, "epochs": 3}, "pmf": {"factors": 3, "epochs": 2, "warmup": 1}}
SUBMIT = "FormSubmitter:dataset_form-Use this folder"


@pytest.fixture
def fast_models():
    """Small mf and pmf saved where the app looks for them (it reads their manifests)."""
    from engine.artifacts import ArtifactError, read_manifest
    from engine.data import load_embedded
    from engine.data.paths import data_dir
    from engine.train import model_dir, train_model

    catalogue = load_embedded(data_dir() / "datasets")
    for name, params in FAST.items():
        try:
            read_manifest(model_dir(catalogue, name))
        except ArtifactError:
            train_model(name, catalogue, params=params)
    return catalogue


@pytest.fixture
def tiny_folder(tmp_path):
    """A valid ml-latest-style folder: 30 people, 12 films (one with markup in its title)."""
    rng = np.random.default_rng(0)
    rows = [
        (u, m, float(rng.integers(1, 11)) / 2)
        for u in range(1, 31)
        for m in range(1, 13)
        if rng.random() < 0.6
    ]
    folder = tmp_path / "ml-tiny"
    folder.mkdir()
    pd.DataFrame(rows, columns=["userId", "movieId", "rating"]).assign(timestamp=1).to_csv(
        folder / "ratings.csv", index=False
    )
    titles = [f"Tiny film {i} (2001)" for i in range(1, 12)] + ["<b>Bold</b> & brave (1999)"]
    pd.DataFrame({"movieId": range(1, 13), "title": titles, "genres": "Drama|Comedy"}).to_csv(
        folder / "movies.csv", index=False
    )
    return folder


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_manifests_show_data_hyperparameters_and_learned_precisions(fast_models):
    at = open_app(page="lab")
    table = frame_with(at, "Trained")
    rows = table.set_index("Model")
    assert rows.loc["mf", "Trained"] != "not yet" and rows.loc["pmf", "Trained"] != "not yet"
    assert rows.loc["knn", "Trained"] == "not yet"
    text = all_messages(at)
    assert fast_models.fingerprint in text and f"{len(fast_models):,} ratings" in text
    hyper = [df.value for df in at.dataframe if "Hyperparameter" in df.value.columns]
    mf_hyper = next(
        h
        for h in hyper
        if "epochs" in set(h["Hyperparameter"]) and "lr" in set(h["Hyperparameter"])
    )
    assert dict(zip(mf_hyper["Hyperparameter"], mf_hyper["Value"], strict=True))["factors"] == "8"
    learned = frame_with(at, "Learned value")
    labels = " ".join(learned["Learned value"])
    assert "τ (rating noise precision)" in labels and "λ_q (film factor precision)" in labels
    # the values are the saved ones
    from engine.artifacts import read_manifest
    from engine.train import model_dir

    info = read_manifest(model_dir(fast_models, "pmf"))["info"]
    shown = dict(zip(learned["Learned value"], learned["Value"], strict=True))
    assert shown["τ (rating noise precision)"] == f"{info['tau']:.4g}"


@pytest.fixture
def restore_baseline():
    """Other app tests share the trained baseline: put the default one back afterwards."""
    yield
    from app import services
    from engine.progress import silent

    services.retrain_model("baseline", silent)


@pytest.mark.usefixtures("restore_baseline")
def test_retrain_with_progress_bar_updates_model_and_manifest(fast_models):
    at = open_app(page="lab")
    at.selectbox(key="mn_lab_model").set_value("baseline").run()
    at.number_input(key="mn_lab_param:baseline:epochs").set_value(3).run()
    at.checkbox(key="mn_lab_evaluate").check().run()
    at.button(key="mn_lab_retrain").click().run()
    assert_ok(at)
    (bar,) = at.get("progress")
    assert bar.proto.value == 100 and "Trained baseline" in bar.proto.text
    (done,) = at.success
    assert "Retrained baseline" in done.value and "held-out RMSE" in done.value
    from engine.artifacts import read_manifest
    from engine.train import model_dir

    manifest = read_manifest(model_dir(fast_models, "baseline"))
    assert manifest["hyperparameters"]["epochs"] == 3
    rmse = manifest["metrics"]["protocol_e"]["rmse"]
    assert 0.5 < rmse < 1.2  # bias baseline on MovieLens: about 0.9
    assert f"{rmse:.4f}" in done.value
    # the models table (drawn after the retrain) and the app's model now reflect it
    assert (
        frame_with(at, "Trained").set_index("Model").loc["baseline", "Held-out RMSE"]
        == f"{rmse:.4f}"
    )
    from app import services

    model, message = services.get_model("baseline")
    assert model.config.epochs == 3 and "retrained" in message


def test_bad_folder_shows_the_dataset_error(tmp_path):
    at = open_app(page="lab")
    before = metrics(at)
    at.text_input(key="mn_lab_path").input(str(tmp_path / "nowhere"))
    at.button(key=SUBMIT).click().run()
    assert_ok(at)
    (error,) = at.error
    assert "cannot be used" in error.value and "no such folder" in error.value
    assert str(tmp_path / "nowhere") in error.value
    assert metrics(at) == before  # still the embedded films
    (tmp_path / "empty").mkdir()
    at.text_input(key="mn_lab_path").input(str(tmp_path / "empty"))
    at.button(key=SUBMIT).click().run()
    assert "no MovieLens ratings file found" in at.error[0].value


def test_another_folder_drives_the_other_pages_for_this_session(tiny_folder):
    at = open_app(page="lab")
    at.text_input(key="mn_lab_path").input(str(tiny_folder))
    at.button(key=SUBMIT).click().run()
    assert_ok(at)
    assert "Now using ml-tiny" in at.success[0].value
    assert metrics(at)["Films"] == "12" and metrics(at)["Members in the data"] == "30"
    # the Explore page now maps the tiny catalogue (its mf trains on first use)
    at.switch_page("app/pages/explore.py").run()
    assert_ok(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    hover = json.dumps(spec["data"])
    assert "Tiny film" in hover and "&lt;b&gt;Bold&lt;/b&gt; &amp; brave" in hover
    assert "<b>Bold</b>" not in hover
    # a new session starts from the embedded films again; this one can go back explicitly
    assert metrics(open_app(page="lab"))["Films"] != "12"
    at.switch_page("app/pages/lab.py").run()
    at.button(key="mn_lab_embedded").click().run()
    assert_ok(at)
    assert metrics(at)["Films"] != "12" and "embedded" in all_messages(at)


def test_a_folder_that_goes_away_is_dropped_with_a_warning(tiny_folder):
    at = open_app(page="lab")
    at.text_input(key="mn_lab_path").input(str(tiny_folder))
    at.button(key=SUBMIT).click().run()
    assert metrics(at)["Films"] == "12"
    tiny_folder.rename(tiny_folder.with_name("ml-moved"))
    at.run()
    assert_ok(at)
    (warning,) = at.warning
    assert warning.value.startswith("Back to the embedded films:") and "ml-tiny" in warning.value
    assert metrics(at)["Films"] != "12"
    at.run()  # said once, not on every run
    assert not at.warning and metrics(at)["Films"] != "12"
