"""The Lab's retrain form (operator only; not a page itself), built from the model's declared
hyperparameters: each widget has the declared range or choices and the meaning as its help,
and the values are checked against the declarations again before a job is queued (a hand-edited
JSON field, a value at an open end of a range), so an invalid value is named and nothing trains.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app import session_keys as keys
from app.pages._flash import flash
from app.services import families, lab
from engine.models import Param

FORM = "retrain_form"


class FieldError(ValueError):
    """A form field that could not even be read (e.g. text that is not JSON)."""


def _help(spec: Param) -> str:
    return f"{spec.help.rstrip('.')}. Allowed: {spec.allowed()}; default {spec.default!r}."


def _number(spec: Param, key: str, current: Any) -> Any:
    """A number input with the declared range; an optional one may be left empty, which means
    None ("automatic": fitted, as its meaning says)."""
    integer = spec.type == "int"
    cast = int if integer else float
    low = None if spec.low is None else cast(spec.low)
    high = None if spec.high is None else cast(spec.high)
    if current is None and not spec.optional:
        current = spec.default
    return st.number_input(
        spec.name,
        min_value=low,
        max_value=high,
        value=None if current is None else cast(current),
        step=1 if integer else None,
        format=None if integer else "%g",
        placeholder="automatic" if spec.optional else None,
        help=_help(spec) + (" Leave it empty for automatic." if spec.optional else ""),
        key=key,
    )


def param_widget(model: str, spec: Param, current: Any) -> Any:
    """One hyperparameter's widget; returns what it holds (None for "automatic")."""
    key = keys.lab_param(model, spec.name)
    if spec.choices is not None:
        options = list(spec.choices)
        index = options.index(current) if current in options else 0
        return st.selectbox(spec.name, options, index=index, help=_help(spec), key=key)
    if spec.type == "bool":
        return st.checkbox(spec.name, value=bool(current), help=_help(spec), key=key)
    if spec.type == "dict":
        text = st.text_area(
            f"{spec.name} (JSON)",
            value=json.dumps(current or {}),
            help=_help(spec),
            key=key,
        )
        try:
            return json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise FieldError(f"{spec.name} must be a JSON object, e.g. {{}}: {exc}") from None
    if spec.type in ("int", "float"):
        return _number(spec, key, current)
    return st.text_input(spec.name, value=str(current), help=_help(spec), key=key)


def retrain_section(manifests: dict[str, dict[str, Any] | str]) -> None:
    st.header("Retrain a model")
    names = families.model_names()
    name = st.selectbox("Model", names, key=keys.LAB_MODEL)
    declared = lab.model_declarations(name)
    saved = manifests.get(name)
    current = {p.name: p.default for p in declared}
    if isinstance(saved, dict):  # start from what the live model was trained with
        current |= {k: v for k, v in (saved.get("hyperparameters") or {}).items() if k in current}
    st.caption(
        "Starts from the live model's settings. The retrained model is measured on held-out "
        "ratings and replaces the live one only if it is no more than 2 % worse; otherwise you "
        "decide under Training jobs."
    )
    with st.form(FORM):
        cols = st.columns(3)
        params: dict[str, Any] = {}
        problems: list[str] = []
        for i, spec in enumerate(declared):
            with cols[i % 3]:
                try:
                    params[spec.name] = param_widget(name, spec, current[spec.name])
                except FieldError as exc:
                    problems.append(str(exc))
        submitted = st.form_submit_button("Retrain", type="primary")
    if not submitted:
        return
    if problems:
        st.error("Nothing was started: " + "; ".join(problems) + ".")
        return
    try:
        job = lab.request_retrain(name, params)
    except ValueError as exc:  # the declarations' own message: the field and what is allowed
        st.error(f"Nothing was started: {exc}.")
        return
    flash(
        "success",
        f"Retraining {name} (job {job.id}); follow it under Training jobs. Rooms keep using "
        "the live model meanwhile.",
    )
    st.rerun()
