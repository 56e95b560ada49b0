"""Movie Night: entry point for ``streamlit run streamlit_app.py``.

Sets the page up, keeps the room/member in the URL and session, and hands over to the page the
person picked (Room, Picks, Explore, Lab).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # AppTest and `streamlit run` from elsewhere still import app/
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Movie Night", page_icon="🎬", layout="wide")

from app import state  # noqa: E402

PAGES = [
    ("app/pages/room.py", "Room", ":material/group:"),
    ("app/pages/picks.py", "Picks", ":material/movie:"),
    ("app/pages/explore.py", "Explore", ":material/scatter_plot:"),
    ("app/pages/lab.py", "Lab", ":material/science:"),
]


@st.cache_data
def _css() -> str:
    return (ROOT / "assets" / "style.css").read_text(encoding="utf-8")


st.html(f"<style>{_css()}</style>")
state.sync()
state.keep_settings()
pages = [
    st.Page(path, title=title, icon=icon, default=i == 0)
    for i, (path, title, icon) in enumerate(PAGES)
    if (ROOT / path).exists()  # Explore/Lab arrive from another work stream
]
st.navigation(pages).run()
