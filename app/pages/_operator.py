"""The operator's sign-in, once per browser session (not a page itself).

The token typed on the Lab page is kept in this session only and checked again (constant time)
on every use, so changing the token signs every session out. Guests never see any operator
control: pages draw those only when ``is_operator()``.
"""

from __future__ import annotations

import streamlit as st

from app import session_keys as keys
from app.operator import TOKEN_ENV, TOKEN_FILE, expected_token, is_operator_token


def is_operator() -> bool:
    """Whether this browser session signed in with the operator token in force."""
    return is_operator_token(st.session_state.get(keys.OPERATOR_TOKEN))


def _sign_in() -> None:
    typed = st.session_state.get(keys.OPERATOR_TYPED, "")
    st.session_state[keys.OPERATOR_TYPED] = ""
    if is_operator_token(typed):
        st.session_state[keys.OPERATOR_TOKEN] = typed.strip()
    else:
        st.session_state[keys.OPERATOR_REFUSED] = True


def sign_out() -> None:
    st.session_state.pop(keys.OPERATOR_TOKEN, None)


def sign_in_box() -> None:
    """The only thing a guest sees of the Lab."""
    st.subheader("Organiser sign-in")
    if expected_token() is None:
        st.info(
            "The Lab is locked: no organiser token is set up on this server. Start the app "
            f"with ./scripts/start (it creates one in data/{TOKEN_FILE}), or set {TOKEN_ENV}."
        )
        return
    st.caption(
        "The Lab is for whoever runs this server: it retrains the film models every room "
        "uses. Guests need nothing here."
    )
    if st.session_state.pop(keys.OPERATOR_REFUSED, False):
        st.error("That is not the organiser token.")
    with st.form("operator_sign_in"):
        st.text_input("Organiser token", type="password", key=keys.OPERATOR_TYPED)
        st.form_submit_button("Sign in", on_click=_sign_in)
