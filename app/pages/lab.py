"""Lab page, for the operator only: training jobs (progress, cancel, the swap decisions),
which dataset this session uses, the trained models with their manifests (data,
hyperparameters, metrics, learned values such as PMF's precisions), and retraining a model.

Without the operator's sign-in the page shows the sign-in box and nothing else
(``app.pages._operator``). The retrain form is built from each model's declared
hyperparameters (``Config.declarations()``): widgets with the declared ranges and choices, and
the values checked again before a job is queued, so an invalid value never trains.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from app import session_keys as keys
from app.pages._flash import flash, show_flash
from app.pages._lab_jobs import jobs_section
from app.pages._lab_retrain import retrain_section
from app.pages._operator import is_operator, sign_in_box, sign_out
from app.services import catalogue, families, lab
from app.widgets.text import md
from engine.data.errors import DatasetError

PRECISION_NAMES = {
    "tau": "τ (rating noise precision)",
    "lambda_p": "λ_p (member factor precision)",
    "lambda_q": "λ_q (film factor precision)",
    "lambda_bu": "λ_bu (member bias precision)",
    "lambda_bi": "λ_bi (film bias precision)",
    "noise_std": "rating noise std (1/√τ)",
}


# --------------------------------------------------------------------------- dataset
def _use_folder() -> None:
    path = st.session_state.get(keys.LAB_PATH, "")
    try:
        with st.spinner("Reading the MovieLens folder…"):
            ratings = catalogue.set_dataset_path(path)
    except DatasetError as exc:
        flash("error", f"That folder cannot be used: {exc}")
        return
    flash(
        "success",
        f"Now using {ratings.name}: {len(ratings):,} ratings of {ratings.n_items:,} films. "
        "Models for it are trained on first use.",
    )


def _use_embedded() -> None:
    catalogue.set_dataset_path(None)
    st.session_state[keys.LAB_PATH] = ""
    flash("success", "Back to the embedded MovieLens sample.")


def dataset_section() -> None:
    st.header("Dataset")
    cat = catalogue.get_catalogue()
    source = catalogue.dataset_path() or "the embedded MovieLens sample (ml-latest-small)"
    c1, c2, c3 = st.columns(3)
    c1.metric("Members in the data", f"{cat.n_users:,}")
    c2.metric("Films", f"{cat.n_items:,}")
    c3.metric("Ratings", f"{len(cat):,}")
    st.caption(f"Source: {md(source)} · fingerprint `{cat.fingerprint}`")
    for note in cat.notes:
        st.caption(f"Note: {md(note)}")
    with st.form("dataset_form"):
        st.text_input(
            "Another MovieLens folder (unzipped: ml-latest-small, ml-1m, ml-100k, ml-25m, …)",
            key=keys.LAB_PATH,
            placeholder="/path/to/ml-latest-small",
        )
        st.form_submit_button("Use this folder", on_click=_use_folder)
    if catalogue.dataset_path():
        st.button("Back to the embedded films", on_click=_use_embedded, key=keys.LAB_EMBEDDED)
    st.caption(
        "The choice holds for this browser session and drives every page: the catalogue, the "
        "rating cards and the models."
    )


# --------------------------------------------------------------------------- models
def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flatten(f"{prefix}{k}.", v)]
    if isinstance(value, list):
        nums = [v for v in value if isinstance(v, int | float)]
        if nums and len(nums) == len(value):
            mean = sum(nums) / len(nums)
            return [(prefix.rstrip("."), f"{len(nums)} values, mean {mean:.4g}")]
        return [(prefix.rstrip("."), json.dumps(value)[:200])]
    if isinstance(value, float):
        return [(prefix.rstrip("."), f"{value:.4g}")]
    return [(prefix.rstrip("."), str(value))]


def learned_table(info: dict[str, Any]) -> pd.DataFrame:
    """A model's learned values (e.g. PMF's precisions) as readable rows."""
    rows = []
    for key, value in info.items():
        for name, text in _flatten(f"{key}.", value):
            head, _, rest = name.partition(".")
            label = PRECISION_NAMES.get(head, head) + (f" ({rest})" if rest else "")
            rows.append({"Learned value": label, "Value": text})
    return pd.DataFrame(rows, columns=["Learned value", "Value"])


def _held_out(manifest: dict[str, Any]) -> str:
    """The manifest's held-out score ("RMSE 0.8796"), or a dash when it was not measured."""
    score = (manifest.get("metrics") or {}).get("held_out") or {}
    if isinstance(score.get("value"), int | float):
        return f"{score.get('metric', '')} {score['value']:.4f}"
    e = (manifest.get("metrics") or {}).get("protocol_e") or {}
    return f"RMSE {e['rmse']:.4f}" if isinstance(e.get("rmse"), int | float) else "–"


def model_row(name: str, manifest: dict[str, Any] | str) -> dict[str, str]:
    """A model's line in the table: when and how well it was trained, or "not yet" (the
    manifest is then the reason there is none)."""
    if isinstance(manifest, str):
        return {
            "Model": name,
            "Kind": families.model_kind(name),
            "Trained": "not yet",
            "Held-out score": "–",
            "Fit seconds": "–",
        }
    fit = (manifest.get("metrics") or {}).get("fit_seconds")
    return {
        "Model": name,
        "Kind": manifest.get("kind", ""),
        "Trained": str(manifest.get("created", "")),
        "Held-out score": _held_out(manifest),
        "Fit seconds": f"{fit:.1f}" if isinstance(fit, int | float) else "–",
    }


def hyperparameter_table(name: str, manifest: dict[str, Any]) -> pd.DataFrame:
    """What the model was trained with, each value beside its declared meaning."""
    hyper = manifest.get("hyperparameters") or {}
    meaning = {p.name: p.help for p in _declarations(name)}
    return pd.DataFrame(
        {
            "Hyperparameter": list(hyper),
            "Value": [str(v) for v in hyper.values()],
            "Meaning": [meaning.get(k, "") for k in hyper],
        }
    )


def manifest_details(name: str, manifest: dict[str, Any]) -> None:
    """One trained model's manifest, drawn in its expander: data, size, hyperparameters,
    learned values, metrics and versions."""
    data = manifest.get("dataset") or {}
    st.markdown(
        f"**Dataset:** {md(data.get('name', '?'))} · {data.get('n_ratings', '?'):,} ratings · "
        f"fingerprint `{data.get('fingerprint', '?')}`  \n"
        f"**Size:** {manifest.get('n_users', '?')} members × {manifest.get('n_items', '?')} "
        f"films · **kind:** {manifest.get('kind', '?')}"
    )
    st.markdown("**Hyperparameters**")
    st.dataframe(hyperparameter_table(name, manifest), hide_index=True, key=keys.lab_hyper(name))
    info = manifest.get("info") or {}
    if info:
        st.markdown("**Learned values**")
        st.dataframe(learned_table(info), hide_index=True, key=keys.lab_info(name))
    if manifest.get("metrics"):
        st.markdown("**Metrics**")
        st.json(manifest["metrics"], expanded=False)
    versions = manifest.get("versions") or {}
    st.caption(
        " · ".join(f"{md(k)} {md(v)}" for k, v in versions.items())
        + f" · checksum {str(manifest.get('sha256', ''))[:12]}…"
    )


def models_section(manifests: dict[str, dict[str, Any] | str]) -> None:
    """Every model in one table, then each trained one's manifest to unfold."""
    st.header("Trained models")
    rows = [model_row(name, manifest) for name, manifest in manifests.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=keys.LAB_MODELS)
    st.caption(
        "The held-out score (RMSE for star models, NDCG@10 for ranking ones) is measured by "
        "every retrain here and by `python -m engine train`; a retrain replaces the live model "
        "only if it scores no more than 2 % worse. docs/BENCHMARKS.md has the full benchmark."
    )
    for name, manifest in manifests.items():
        if isinstance(manifest, dict):
            with st.expander(f"{name} — manifest"):
                manifest_details(name, manifest)


def _declarations(name: str) -> tuple:
    try:
        return lab.model_declarations(name)
    except (ImportError, AttributeError, ValueError):
        return ()


def operator_bar() -> None:
    left, right = st.columns([4, 1])
    left.caption("Signed in as the organiser for this browser session.")
    right.button("Sign out", key=keys.LAB_SIGN_OUT, on_click=sign_out)


def lab_page() -> None:
    st.title("🧪 Lab")
    if not is_operator():
        sign_in_box()
        return
    operator_bar()
    show_flash()
    jobs_section()
    dataset_section()
    manifests = lab.model_manifests()
    models_section(manifests)
    retrain_section(manifests)


lab_page()
