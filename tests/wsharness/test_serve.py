"""serve: a server started for a run never outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from wsharness.serve import STARTUP_TIMEOUT_S

STARTS_A_SERVER_AND_HANGS = """
import time
from wsharness.serve import serve
with serve() as server:
    print(server.process.pid, flush=True)
    time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:  # reaped by init soon; a zombie is gone too
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("death", [signal.SIGTERM, signal.SIGKILL])
def test_the_server_stops_when_its_starter_dies(death: signal.Signals) -> None:
    with subprocess.Popen([sys.executable, "-c", STARTS_A_SERVER_AND_HANGS],
                          stdout=subprocess.PIPE, text=True) as starter:
        assert starter.stdout is not None
        server_pid = int(starter.stdout.readline())
        assert not _gone(server_pid)
        starter.send_signal(death)
        starter.wait(STARTUP_TIMEOUT_S)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not _gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(server_pid)
