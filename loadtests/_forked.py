"""The worker processes Locust forks for --processes, killed when their master quits before
its run starts (bad input, a target that does not answer).

Locust's master reaps its forked workers at exit but, asking waitpid without waiting, takes
a live worker for an exited one and leaves it running; a worker that never reached the master
then retries for minutes, holding the run's stdout open. Stopped gently instead, a worker in
the middle of its start-up can send the master a report it cannot read (a traceback). Killed,
it has nothing to lose: the run has not begun.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def child_pids() -> list[int]:
    """This process's children, from /proc (Linux)."""
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


def kill_children() -> list[int]:
    """SIGKILL every child; the pids killed. They are left for Locust's exit handler to reap."""
    pids = child_pids()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids
