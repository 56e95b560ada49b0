"""The shared store, one per server process: the lowest of the services, which every other one
may use (rooms, models, tonight, lab) without importing each other for it."""

from __future__ import annotations

import streamlit as st

from app.store import Store, default_url


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def get_store() -> Store:
    """The shared store (SQLite under data/ unless MOVIENIGHT_DB_URL says otherwise)."""
    return _store(default_url())


__all__ = ["get_store"]
