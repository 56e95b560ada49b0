"""AppTest tests of the Lab page: only the operator gets past its sign-in; manifests (with PMF's
learned precisions); the retrain form built from the declared hyperparameters, refusing invalid
values; retrains as jobs that swap in when not worse, wait for the operator when worse, and can
be cancelled; the room's model as an operator setting; pointing the app at another folder."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_helpers import (
    PAGES,
    all_messages,
    app_env,  # noqa: F401  (fixture)
    assert_ok,
    frame_with,
    open_app,
    picks_frame,
    seed_room,
    store,
)

from app.jobs import JobSpec, candidate_dir
from app.services import catalogue, families, lab, model_choice, models, served
from app.services.store import get_store
from engine.data import load_embedded
from engine.data.paths import data_dir
from engine.group import Filters, Member, recommend
from engine.models import model_class
from engine.storage.artifacts import ArtifactError, read_manifest
from engine.train import model_dir, train_model

pytestmark = pytest.mark.usefixtures("app_env", "operator_token", "fast_models")

TOKEN = "a-long-operator-token-for-the-tests"
FAST = {"mf": {"factors": 8, "epochs": 3}, "pmf": {"factors": 3, "epochs": 2, "warmup": 1}}
SUBMIT = "FormSubmitter:dataset_form-Use this folder"
SIGN_IN = "FormSubmitter:operator_sign_in-Sign in"
RETRAIN = "FormSubmitter:retrain_form-Retrain"


@pytest.fixture
def operator_token(monkeypatch):
    monkeypatch.setenv("MOVIENIGHT_OPERATOR_TOKEN", TOKEN)


@pytest.fixture
def fast_models():
    """Small mf and pmf saved where the app looks for them (it reads their manifests)."""
    catalogue = load_embedded(data_dir() / "datasets")
    for name, params in FAST.items():
        try:
            read_manifest(model_dir(catalogue, name))
        except ArtifactError:
            train_model(name, catalogue, params=params)
    return catalogue


@pytest.fixture
def own_models(app_env, tmp_path, monkeypatch):  # noqa: F811  (after app_env)
    """A data dir of this test's own with a trained baseline (retrains here change nothing
    for the other tests), the films copied from the session's."""
    shared = Path(os.environ["MOVIENIGHT_DATA_DIR"]) / "datasets"
    own = tmp_path / "data"
    if shared.is_dir():
        shutil.copytree(shared, own / "datasets")
    monkeypatch.setenv("MOVIENIGHT_DATA_DIR", str(own))
    models.ensure_model("baseline")
    return own


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


def signed_in(at=None, token: str = TOKEN):
    """A session (new unless given) on the Lab page, signed in with ``token``."""
    at = at or open_app(page="lab")
    at.text_input(key="mn_operator_typed").input(token)
    at.button(key=SIGN_IN).click().run()
    assert_ok(at)
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def wait_for_job(job_id: int, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get_store().jobs.get(job_id)
        if not job.active:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end")


def retrain(at, model: str, **values):
    """Fill the retrain form for ``model`` (number inputs, checkboxes, text areas by key) and
    submit it."""
    at.selectbox(key="mn_lab_model").set_value(model).run()
    for name, value in values.items():
        key = f"mn_lab_param:{model}:{name}"
        if isinstance(value, dict | str) and any(t.key == key for t in at.text_area):
            at.text_area(key=key).input(value if isinstance(value, str) else json.dumps(value))
        else:
            at.number_input(key=key).set_value(value)
    at.button(key=RETRAIN).click().run()
    assert_ok(at)
    return at


def candidate_jobs():
    return [j for j in lab.training_jobs() if j.purpose == "candidate"]


# --------------------------------------------------------------------------- the credential


def test_a_guest_sees_only_the_sign_in_box():
    at = open_app(page="lab")
    kinds = {e.type for e in at.main if e.type not in ("main", "block")}
    assert kinds <= {"title", "subheader", "caption", "form", "text_input", "button"}
    assert not at.dataframe and not at.number_input and not at.selectbox and not at.metric
    assert "Retrain" not in all_messages(at) and "fingerprint" not in all_messages(at)
    at.text_input(key="mn_operator_typed").input("guess")
    at.button(key=SIGN_IN).click().run()
    assert_ok(at)
    assert at.error[0].value == "That is not the organiser token."
    assert not at.dataframe and not at.selectbox and not at.number_input


def test_without_a_token_configured_the_lab_stays_locked(monkeypatch):
    monkeypatch.delenv("MOVIENIGHT_OPERATOR_TOKEN")
    at = open_app(page="lab")
    assert "The Lab is locked" in at.info[0].value
    assert not at.text_input and not at.dataframe  # nothing to type a guess into


def test_guests_get_no_model_controls_on_picks_or_explore():
    code, _ = seed_room("Guests", {"Ann": {260: 5.0}})
    picks = open_app(room=code, page="picks")
    assert "Film model: film and viewer averages (baseline)." in all_messages(picks)
    assert not [e for e in picks.expander if "organiser" in e.label]
    assert [box.key for box in picks.selectbox] == ["strategy"]
    text = all_messages(picks)
    assert "(implicit)" not in text and "(explicit)" not in text
    explore = open_app(room=code, page="explore")
    assert not [box for box in explore.selectbox if box.key == "mn_explore_model"]
    assert "Film model: predicted stars (mf)." in all_messages(explore)


def test_the_operator_signs_in_once_per_browser_session(monkeypatch):
    at = signed_in()
    assert "Signed in as the organiser" in all_messages(at)
    assert frame_with(at, "Trained") is not None and at.selectbox(key="mn_lab_model")
    at.switch_page(PAGES["room"]).run()
    at.switch_page(PAGES["lab"]).run()
    assert at.selectbox(key="mn_lab_model")  # not asked again in this session
    assert not open_app(page="lab").selectbox  # another browser session is a guest
    monkeypatch.setenv("MOVIENIGHT_OPERATOR_TOKEN", "a-new-token")
    at.run()
    assert not at.selectbox and at.text_input(key="mn_operator_typed")  # signed out


# --------------------------------------------------------------------------- manifests


def test_manifests_show_data_hyperparameters_and_learned_precisions(fast_models):
    at = signed_in()
    table = frame_with(at, "Trained")
    rows = table.set_index("Model")
    assert rows.loc["mf", "Trained"] != "not yet" and rows.loc["pmf", "Trained"] != "not yet"
    assert rows.loc["knn", "Trained"] == "not yet"
    text = all_messages(at)
    assert fast_models.fingerprint in text and f"{len(fast_models):,} ratings" in text

    # mf's table is the one listing exactly mf's hyperparameters (other saved models, e.g. a
    # hybrid another test trained, have tables of their own, in no set order)
    mf_names = list(read_manifest(model_dir(fast_models, "mf"))["hyperparameters"])
    hyper = [df.value for df in at.dataframe if "Hyperparameter" in df.value.columns]
    (mf_hyper,) = [h for h in hyper if list(h["Hyperparameter"]) == mf_names]
    shown = dict(zip(mf_hyper["Hyperparameter"], mf_hyper["Value"], strict=True))
    assert shown["factors"] == str(FAST["mf"]["factors"])
    meaning = dict(zip(mf_hyper["Hyperparameter"], mf_hyper["Meaning"], strict=True))
    assert meaning["lr"] == "Adam's step size"  # from the declaration
    # pmf's learned values: the table that has its precisions (other models have their own)
    learned_tables = [df.value for df in at.dataframe if "Learned value" in df.value.columns]
    (learned,) = [
        t for t in learned_tables if "τ (rating noise precision)" in set(t["Learned value"])
    ]
    assert "λ_q (film factor precision)" in set(learned["Learned value"])
    info = read_manifest(model_dir(fast_models, "pmf"))["info"]
    shown = dict(zip(learned["Learned value"], learned["Value"], strict=True))
    assert shown["τ (rating noise precision)"] == f"{info['tau']:.4g}"


# --------------------------------------------------------------------------- the retrain form


def test_the_form_has_the_declared_ranges_and_choices():
    at = signed_in()
    at.selectbox(key="mn_lab_model").set_value("baseline").run()
    for spec in model_class("baseline").hyperparameters():
        widget = at.number_input(key=f"mn_lab_param:baseline:{spec.name}")
        assert (widget.min, widget.max) == (spec.low, spec.high), spec.name
        assert widget.value == spec.default
    at.selectbox(key="mn_lab_model").set_value("hybrid").run()
    implicit = at.selectbox(key="mn_lab_param:hybrid:implicit")
    assert implicit.options == list(model_class("hybrid").config_class.declarations()[1].choices)
    assert at.number_input(key="mn_lab_param:hybrid:temperature").value is None  # automatic
    assert at.text_area(key="mn_lab_param:hybrid:explicit_params").value == "{}"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"explicit_params": {"epochs": -1}},
            "explicit_params (for pmf): epochs must be a whole number in 1..10000, got -1",
        ),
        ({"implicit_params": {"factor": 3}}, "implicit_params (for als): unknown hyperparameters"),
        ({"explicit_params": "{not json"}, "explicit_params must be a JSON object"),
        ({"temperature": 0.0}, "temperature must be a number in (0, 1000000] or None, got 0.0"),
    ],
)
def test_invalid_values_are_named_and_nothing_trains(values, message):
    at = signed_in()
    retrain(at, "hybrid", **values)
    (error,) = at.error
    assert error.value.startswith("Nothing was started:") and message in error.value
    assert candidate_jobs() == []


# --------------------------------------------------------------------------- retrain jobs


@pytest.mark.usefixtures("own_models")
def test_a_retrain_runs_as_a_job_and_goes_live_when_not_worse():
    at = signed_in()
    retrain(at, "baseline", epochs=3)
    (job,) = candidate_jobs()
    assert f"Retraining baseline (job {job.id})" in at.success[0].value
    assert job.params["epochs"] == 3
    done = wait_for_job(job.id)
    assert done.state == "done" and done.result["swapped"] is True, done.error
    at.run()
    assert_ok(at)
    recent = frame_with(at, "Outcome").set_index("Job")
    assert recent.loc[job.id, "State"] == "done"
    assert recent.loc[job.id, "New score"].startswith("RMSE 0.8")
    manifest = read_manifest(model_dir(catalogue.get_catalogue(), "baseline"))
    assert manifest["hyperparameters"]["epochs"] == 3
    score = frame_with(at, "Trained").set_index("Model").loc["baseline", "Held-out score"]
    assert score == f"RMSE {manifest['metrics']['held_out']['value']:.4f}"


@pytest.mark.usefixtures("own_models")
def test_a_worse_retrain_waits_and_the_operator_decides():
    live = model_dir(catalogue.get_catalogue(), "baseline")
    before = read_manifest(live)["sha256"]
    at = signed_in()
    retrain(at, "baseline", user_damping=1000.0, item_damping=1000.0)
    (job,) = candidate_jobs()
    assert wait_for_job(job.id).state == "review"
    at.run()
    shown = metrics(at)
    assert shown["Retrained model, held-out"].startswith("RMSE 1.0")
    assert shown["Live model, held-out"].startswith("RMSE 0.8")
    assert read_manifest(live)["sha256"] == before  # rooms still use the live model
    at.button(key=f"mn_job_keep:{job.id}").click().run()
    assert_ok(at)
    assert "Kept the live model" in at.success[0].value
    assert read_manifest(live)["sha256"] == before
    # the same retrain again, and this time the operator puts it live after seeing both
    retrain(at, "baseline", user_damping=1000.0, item_damping=1000.0)
    assert wait_for_job(job.id).state == "review"
    at.run()
    at.button(key=f"mn_job_confirm:{job.id}").click().run()
    assert_ok(at)
    assert "The retrained model is live" in at.success[0].value
    assert read_manifest(live)["hyperparameters"]["user_damping"] == 1000.0


@pytest.mark.usefixtures("own_models")
def test_a_running_retrain_can_be_cancelled():
    at = signed_in()
    retrain(at, "mf", epochs=3000)
    (job,) = candidate_jobs()
    deadline = time.monotonic() + 120
    while get_store().jobs.get(job.id).state != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    at.run()
    at.button(key=f"mn_job_cancel:{job.id}").click().run()
    assert_ok(at)
    assert "Cancelling" in at.info[0].value
    ended = wait_for_job(job.id, timeout=120)
    assert ended.state == "cancelled" and ended.done < 0.5

    assert not candidate_dir(JobSpec.of(ended)).exists()


# --------------------------------------------------------------------------- the room's model


def test_the_operator_sets_a_rooms_model_and_its_guests_see_it(fast_models):
    code, _ = seed_room("Operator's room", {"Ann": {260: 5.0, 318: 2.0}, "Bob": {318: 5.0}})
    at = signed_in()
    at.query_params["room"] = code
    at.switch_page(PAGES["picks"]).run()
    assert_ok(at)
    assert [e.label for e in at.expander if "organiser" in e.label]
    choice = at.selectbox(key="mn_room_model_choice")
    offered = set(choice.options)  # as shown: plain words with the name
    allowed = {families.model_label(n) for n in model_choice.room_model_families()}
    assert offered <= allowed and not {"popularity", "knn", "als"} & offered
    trained = served.trained_models(model_choice.room_model_families())
    assert offered == {families.model_label(n) for n in trained}  # trained ones only
    assert {families.model_label(n) for n in ("baseline", "mf", "pmf")} <= offered
    choice.set_value("mf").run()
    at.button(key="mn_room_model_set").click().run()
    assert_ok(at)
    assert model_choice.room_model(code) == "mf"
    guest = open_app(room=code, page="picks")
    assert "Film model: predicted stars (mf)." in all_messages(guest)

    model, _ = models.get_model("mf")
    cat = catalogue.get_catalogue()
    index = {int(m): i for i, m in enumerate(cat.item_ids)}
    members = [
        Member("Ann", np.array([index[260], index[318]]), np.array([5.0, 2.0])),
        Member("Bob", np.array([index[318]]), np.array([5.0])),
    ]
    expected = recommend(model, cat, members, filters=Filters(min_ratings=10))["label"].tolist()
    assert picks_frame(guest)["Film"].tolist() == expected
    assert store().room_model(code) == "mf"


# --------------------------------------------------------------------------- the dataset


def test_bad_folder_shows_the_dataset_error(tmp_path):
    at = signed_in()
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
    at = signed_in()
    at.text_input(key="mn_lab_path").input(str(tiny_folder))
    at.button(key=SUBMIT).click().run()
    assert_ok(at)
    assert "Now using ml-tiny" in at.success[0].value
    assert metrics(at)["Films"] == "12" and metrics(at)["Members in the data"] == "30"
    # the Explore page now maps the tiny catalogue: its mf is trained by a job on first use
    at.switch_page("app/pages/explore.py").run()
    assert_ok(at)
    (job,) = [j for j in lab.training_jobs() if j.dataset_path == str(tiny_folder)]
    assert wait_for_job(job.id).state == "done"
    at.run()
    assert_ok(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    hover = json.dumps(spec["data"])
    assert "Tiny film" in hover and "&lt;b&gt;Bold&lt;/b&gt; &amp; brave" in hover
    assert "<b>Bold</b>" not in hover
    # a new session starts from the embedded films again; this one can go back explicitly
    assert metrics(signed_in())["Films"] != "12"
    at.switch_page("app/pages/lab.py").run()
    at.button(key="mn_lab_embedded").click().run()
    assert_ok(at)
    assert metrics(at)["Films"] != "12" and "embedded" in all_messages(at)


def test_a_folder_that_goes_away_is_dropped_with_a_warning(tiny_folder):
    at = signed_in()
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
