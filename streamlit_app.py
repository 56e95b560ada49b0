"""Movie Night: entry point for ``streamlit run streamlit_app.py``.

Sets the page up, keeps the room/member in the URL and session, and hands over to the page the
person picked (Room, Picks, Explore, Lab; the Lab asks for the operator's token first).
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
from app.services import catalogue, models, threads  # noqa: E402
from app.store import StoreError  # noqa: E402

PAGES = [
    ("app/pages/room.py", "Room", ":material/group:"),
    ("app/pages/picks.py", "Picks", ":material/movie:"),
    ("app/pages/explore.py", "Explore", ":material/scatter_plot:"),
    ("app/pages/lab.py", "Lab", ":material/science:"),
]


@st.cache_data
def _css() -> str:
    return (ROOT / "assets" / "style.css").read_text(encoding="utf-8")


@st.cache_resource(show_spinner=False)
def _serving_process() -> bool:
    """Once per server process, before any page: torch's threads for serving (see
    ``threads.SERVING_THREADS``), the default model loaded in the background so the first
    request finds it ready, and the training-job supervisor woken, so a job a restart
    interrupted resumes from its checkpoint (``app.jobs``)."""
    threads.use_serving_threads()
    models.preload()
    models.wake_supervisor()
    return True


def main() -> None:
    _serving_process()
    state.sync()
    state.keep_settings()
    with st.spinner("Loading the film catalogue…"):
        catalogue.get_catalogue()
    if note := catalogue.take_dataset_note():  # the Lab's folder went away since it was chosen
        st.warning(note)
    pages = [
        st.Page(path, title=title, icon=icon, default=i == 0)
        for i, (path, title, icon) in enumerate(PAGES)
    ]
    st.navigation(pages).run()


st.html(f"<style>{_css()}</style>")
try:
    main()
except StoreError as exc:  # the database failed: its text for guests, never a traceback or path
    st.error(str(exc))
