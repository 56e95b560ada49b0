"""The serving process's torch threads: one intra-op thread, set once when the server starts.

Each Streamlit rerun runs on its own thread, and a request's tensor work is tiny (fold-ins of a
few ratings, one blend over the catalogue): with several intra-op threads, waking the pool for
10×32 matrices cost 50–1000 ms on a busy 2-core machine against ~0.5 ms for the maths itself (6
fold-ins: 2.5 ms on one thread, 127–1421 ms on two). Concurrency comes from sessions, not from
splitting one small product. Training runs in worker processes with threads of their own
(``app.jobs.worker``).
"""

from __future__ import annotations

import torch

SERVING_THREADS = 1


def use_serving_threads() -> None:
    """Set torch's intra-op threads for serving, once when the server process starts.

    Threads started later (every rerun's) take the setting from the process; setting it per
    request instead (and restoring it after) raced between sessions' threads.
    """
    torch.set_num_threads(SERVING_THREADS)
