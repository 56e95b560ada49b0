"""app/pages/_flash.py: a message set in a callback shows on the next run, once, then it is gone."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from app.pages._flash import flash, show_flash

    show_flash()
    st.button("Save", on_click=flash, args=("success", "Saved."))
    st.button("Fail", on_click=flash, args=("error", "That did not work."))


def test_a_flash_shows_on_the_next_run_once_then_it_is_gone() -> None:
    at = AppTest.from_function(_script).run()
    assert not at.success and not at.error
    at.button[0].click().run()
    assert [m.value for m in at.success] == ["Saved."]
    at.run()  # any later run (a widget, a fragment redrawing) finds nothing left
    assert not at.success and not at.error
    at.button[1].click().run()
    assert [m.value for m in at.error] == ["That did not work."] and not at.success
    at.run()
    assert not at.error
