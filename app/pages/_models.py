"""Which model a page uses: the room's (an operator setting), shown to guests in plain words,
with the operator's "advanced" panel listing trained models only (not a page itself)."""

from __future__ import annotations

import streamlit as st

from app import session_keys as keys
from app.pages._flash import flash
from app.pages._operator import is_operator
from app.services import families, insights, model_choice, served


def _set_room_model(room_code: str) -> None:
    chosen = st.session_state.get(keys.ROOM_MODEL_CHOICE)
    try:
        model_choice.set_room_model(room_code, chosen)
    except ValueError as exc:
        flash("error", str(exc))
        return
    label = families.model_label(chosen) if chosen else "the default model"
    flash("success", f"This room now uses {label}.")


def room_model_section(room_code: str) -> str:
    """The room's model (drawn as one caption line; the operator also gets a panel to change
    it for this room, among trained models that give stars)."""
    name = model_choice.room_model(room_code)
    st.caption(f"Film model: {families.model_label(name)}.")
    if is_operator():
        trained = served.trained_models(model_choice.room_model_families())
        with st.expander("Advanced (organiser): this room's model"):
            if not trained:
                st.info("No model is trained yet for this dataset; retrain one in the Lab.")
            else:
                st.selectbox(
                    "Model for this room (trained models only)",
                    trained,
                    index=trained.index(name) if name in trained else 0,
                    format_func=families.model_label,
                    key=keys.ROOM_MODEL_CHOICE,
                )
                st.button(
                    "Use for this room",
                    key=keys.ROOM_MODEL_SET,
                    on_click=_set_room_model,
                    args=(room_code,),
                )
    return name


def explore_model_section(room_code: str | None) -> str:
    """The model Explore draws: the room's when it has film vectors (else a default that has);
    the operator may look at another trained one in this session."""
    name = model_choice.explore_model(room_code)
    if is_operator():
        drawable = [
            n
            for n in served.trained_models(insights.insight_models())
            if families.model_family(n) is not None
        ]
        if st.session_state.get(keys.EXPLORE_MODEL) not in drawable:
            st.session_state.pop(keys.EXPLORE_MODEL, None)  # e.g. a model no longer trained
        if drawable:
            with st.expander("Advanced (organiser): look at another trained model"):
                chosen = st.selectbox(
                    "Model",
                    drawable,
                    index=drawable.index(name) if name in drawable else 0,
                    format_func=families.model_label,
                    key=keys.EXPLORE_MODEL,
                )
            name = chosen or name
    st.caption(f"Film model: {families.model_label(name)}.")
    return name
