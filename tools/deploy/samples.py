"""What one kind of simulated member measured while a capacity step ran: tap and Picks latencies,
errors, and how many members have their page loaded.

Kept apart from the members themselves (``tools.deploy.browser_member``, Chromium pages, and
``tools.deploy.ws_member``, light websocket clients) so that ``tools.deploy.capacity`` can keep one
``Samples`` per kind and report the two side by side on the same load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Samples:
    """Latencies in seconds, appended by members as they happen.

    ``tap``: from a rating tap to the server's acknowledgement of that answer reaching the page
    (the ``ack`` the rating deck reads). ``picks``: from opening the Picks page to the group's
    bars drawn. ``errors``: waits that ran out (a tap or the Picks page slower than the member's
    patience, a page that never loaded, a lost connection). ``ready``: members whose first page
    has loaded; ``take`` does not reset it.
    """

    tap: list[float] = field(default_factory=list)
    picks: list[float] = field(default_factory=list)
    errors: int = 0
    ready: int = 0

    def take(self) -> Samples:
        """What was measured since the last call, leaving this empty (``ready`` stays)."""
        out = Samples(self.tap, self.picks, self.errors, self.ready)
        self.tap, self.picks, self.errors = [], [], 0
        return out


def percentile_ms(seconds: list[float], q: float) -> float:
    """The ``q``-th percentile of ``seconds`` in milliseconds (0.0 when there are none)."""
    if not seconds:
        return 0.0
    return round(float(np.percentile(np.asarray(seconds) * 1000, q)), 1)
