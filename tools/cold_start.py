"""``python -m tools.cold_start``: protocol App's cold start, run by ``tools.bench`` in a fresh
process: open the app as a member of a new room, with the model (``MOVIENIGHT_DEFAULT_MODEL``)
already saved, and print each stage's seconds as one JSON line. Its own module so that nothing ``tools.bench`` imports is
loaded before the clock starts: the first figure is the imports themselves.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def cold_child() -> dict[str, float]:
    """Open the app as a member of a new room, timing each stage from a bare process."""
    started = time.perf_counter()
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415  timed: the cold start's imports

    imported = time.perf_counter()
    from app import store as store_module  # noqa: PLC0415  timed: part of the cold start

    store = store_module.Store()
    room = store.create_room("Cold start")
    token = store.add_member(room.code, "Host").token
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.query_params.update({"room": room.code, "member": token})
    first = time.perf_counter()
    at.run()
    room_done = time.perf_counter()
    at.switch_page("app/pages/picks.py").run()
    picks_done = time.perf_counter()
    if at.exception:
        raise RuntimeError(f"cold start page failed: {at.exception[0].message}")
    return {
        "import_s": round(imported - started, 3),
        "room_page_first_run_s": round(room_done - first, 3),
        "picks_page_first_run_s": round(picks_done - room_done, 3),
        "total_s": round(picks_done - started, 3),
    }


if __name__ == "__main__":
    print(json.dumps(cold_child()))
    sys.exit(0)
