"""Lab page: which dataset the app uses, the trained models with their manifests (data,
hyperparameters, metrics, learned values such as PMF's precisions), and retraining a model."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from app import services
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
    path = st.session_state.get("mn_lab_path", "")
    try:
        with st.spinner("Reading the MovieLens folder…"):
            catalogue = services.set_dataset_path(path)
    except DatasetError as exc:
        st.session_state["mn_lab_flash"] = ("error", f"That folder cannot be used: {exc}")
        return
    st.session_state["mn_lab_flash"] = (
        "success",
        f"Now using {catalogue.name}: {len(catalogue):,} ratings of {catalogue.n_items:,} films. "
        "Models for it are trained on first use.",
    )


def _use_embedded() -> None:
    services.set_dataset_path(None)
    st.session_state["mn_lab_path"] = ""
    st.session_state["mn_lab_flash"] = ("success", "Back to the embedded MovieLens sample.")


def dataset_section() -> None:
    st.header("Dataset")
    cat = services.get_catalogue()
    source = services.dataset_path() or "the embedded MovieLens sample (ml-latest-small)"
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
            key="mn_lab_path",
            placeholder="/path/to/ml-latest-small",
        )
        st.form_submit_button("Use this folder", on_click=_use_folder)
    if services.dataset_path():
        st.button("Back to the embedded films", on_click=_use_embedded, key="mn_lab_embedded")
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


def _held_out_rmse(manifest: dict[str, Any]) -> str:
    e = (manifest.get("metrics") or {}).get("protocol_e") or {}
    return f"{e['rmse']:.4f}" if isinstance(e.get("rmse"), int | float) else "–"


def models_section(manifests: dict[str, dict[str, Any] | str]) -> None:
    st.header("Trained models")
    rows = []
    for name, manifest in manifests.items():
        if isinstance(manifest, str):
            kind = services.model_kind(name)
            rows.append(
                {"Model": name, "Kind": kind, "Trained": "not yet"}
                | {"Held-out RMSE": "–", "Fit seconds": "–"}
            )
            continue
        fit = (manifest.get("metrics") or {}).get("fit_seconds")
        rows.append(
            {
                "Model": name,
                "Kind": manifest.get("kind", ""),
                "Trained": str(manifest.get("created", "")),
                "Held-out RMSE": _held_out_rmse(manifest),
                "Fit seconds": f"{fit:.1f}" if isinstance(fit, int | float) else "–",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="mn_lab_models")
    st.caption(
        "Held-out RMSE is measured when a model is retrained with “measure held-out RMSE” (or "
        "by `python -m engine train`); docs/BENCHMARKS.md has the full benchmark."
    )
    for name, manifest in manifests.items():
        if isinstance(manifest, str):
            continue
        with st.expander(f"{name} — manifest"):
            data = manifest.get("dataset") or {}
            st.markdown(
                f"**Dataset:** {md(data.get('name', '?'))} · {data.get('n_ratings', '?'):,} ratings · "
                f"fingerprint `{data.get('fingerprint', '?')}`  \n"
                f"**Size:** {manifest.get('n_users', '?')} members × {manifest.get('n_items', '?')} "
                f"films · **kind:** {manifest.get('kind', '?')}"
            )
            st.markdown("**Hyperparameters**")
            hyper = manifest.get("hyperparameters") or {}
            st.dataframe(
                pd.DataFrame(
                    {"Hyperparameter": list(hyper), "Value": [str(v) for v in hyper.values()]}
                ),
                hide_index=True,
                key=f"mn_lab_hyper:{name}",
            )
            info = manifest.get("info") or {}
            if info:
                st.markdown("**Learned values**")
                st.dataframe(learned_table(info), hide_index=True, key=f"mn_lab_info:{name}")
            if manifest.get("metrics"):
                st.markdown("**Metrics**")
                st.json(manifest["metrics"], expanded=False)
            versions = manifest.get("versions") or {}
            st.caption(
                " · ".join(f"{md(k)} {md(v)}" for k, v in versions.items())
                + f" · checksum {str(manifest.get('sha256', ''))[:12]}…"
            )


# --------------------------------------------------------------------------- retrain
def _param_input(name: str, key: str, value: Any) -> Any:
    widget_key = f"mn_lab_param:{name}:{key}"
    if isinstance(value, bool):
        return st.checkbox(key, value=value, key=widget_key)
    if isinstance(value, int):
        return int(st.number_input(key, value=value, step=1, key=widget_key))
    if isinstance(value, float):
        return float(st.number_input(key, value=value, format="%g", key=widget_key))
    return st.text_input(key, value=str(value), key=widget_key)


def retrain_section(manifests: dict[str, dict[str, Any] | str]) -> None:
    st.header("Retrain a model")
    names = services.model_names()
    name = st.selectbox(
        "Model", names, format_func=lambda n: f"{n} ({services.model_kind(n)})", key="mn_lab_model"
    )
    defaults = services.model_hyperparameters(name)
    saved = manifests.get(name)
    if isinstance(saved, dict):
        defaults |= {k: v for k, v in (saved.get("hyperparameters") or {}).items() if k in defaults}
    with st.expander("Hyperparameters", expanded=False):
        cols = st.columns(3)
        params = {}
        for i, (key, value) in enumerate(defaults.items()):
            with cols[i % 3]:
                params[key] = _param_input(name, key, value)
    evaluate = st.checkbox(
        "Also measure held-out RMSE (explicit models; trains twice)", key="mn_lab_evaluate"
    )
    if not st.button("Retrain", type="primary", key="mn_lab_retrain"):
        return
    bar = st.progress(0.0, text=f"Training {name}…")

    def progress(done: int, total: int, message: str = "") -> None:
        frac = min(max(done / max(total, 1), 0.0), 1.0)
        bar.progress(frac, text=f"Training {name}: {done}/{total} {message}".rstrip())

    try:
        _, metrics = services.retrain_model(name, progress, params=params, evaluate=evaluate)
    except (ValueError, TypeError, RuntimeError) as exc:
        st.error(f"Training {name} failed: {exc}. Check the hyperparameters.")
        return
    bar.progress(1.0, text=f"Trained {name}")
    rmse = (metrics.get("protocol_e") or {}).get("rmse")
    extra = f", held-out RMSE {rmse:.4f}" if rmse is not None else ""
    st.success(
        f"Retrained {name} in {metrics['fit_seconds']:.1f} s{extra}; every page now uses it."
    )


def lab_page() -> None:
    st.title("🧪 Lab")
    kind, message = st.session_state.pop("mn_lab_flash", (None, None))
    if message:
        getattr(st, kind)(message)
    dataset_section()
    models_box = st.container()  # filled last, so a retrain below shows up in it at once
    retrain_section(services.model_manifests())
    with models_box:
        models_section(services.model_manifests())


lab_page()
