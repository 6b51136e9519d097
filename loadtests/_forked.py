"""The worker processes Locust forks for --processes, ended when their master exits early.

Locust's master reaps its forked workers at exit but, asking waitpid without waiting, takes
a live worker for an exited one and leaves it running; a worker that never reached the master
then retries for minutes, holding the run's stdout open. A master that quits before its run
starts (bad input, a target that does not answer) ends them itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

POLL_S = 0.05


def child_pids() -> list[int]:
    """This process's children, from /proc (Linux)."""
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


def end_children(grace_s: float) -> None:
    """SIGTERM every child, wait up to grace_s for them to exit, then SIGKILL the rest. They
    are left to be reaped by Locust's own exit handler, which then finds them exited."""
    pids = child_pids()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if not _exited(pid)]
        if pids:
            time.sleep(POLL_S)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True  # reaped already
