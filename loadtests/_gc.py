"""Python's full garbage collections in a process that holds many connections.

A full collection walks every object the process holds, and one comes each time the
long-lived objects have grown by a quarter: while thousands of users connect, each pause is
longer than the last (about 0.7 µs an object: 0.6 s at 12,000 connections, measured), and on
a busy machine it stops the process long enough for its Locust master to count it missing.
Once the connections have grown by a quarter since the last time (from FREEZE_FROM on), the
objects that survive a collection are frozen (gc.freeze): later collections walk only what
came after, so a pause stays short however many connections the process holds. Objects
frozen and later dropped in a cycle wait until the run ends, when everything is unfrozen.
"""

from __future__ import annotations

import gc

FREEZE_FROM = 2000  # open connections: below this, collections are short anyway
GROWTH = 1.25  # as CPython's own rule for full collections


class Freezer:
    def __init__(self) -> None:
        self.frozen_at = 0  # open connections at the last freeze; 0: nothing frozen

    def grown(self, open_connections: int) -> None:
        """Freeze what survives a collection if the connections have grown enough."""
        if open_connections >= max(FREEZE_FROM, self.frozen_at * GROWTH):
            gc.collect()
            gc.freeze()
            self.frozen_at = open_connections

    def release(self) -> None:
        """The run is over: everything frozen is collected as usual again."""
        if self.frozen_at:
            gc.unfreeze()
            self.frozen_at = 0


FREEZER = Freezer()
