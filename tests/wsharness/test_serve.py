"""serve: uvicorn on a socket bound before it starts, with one or more workers; the port is
the server's alone, and the server never outlives the process that started it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.workers import holder, worker_pids
from wsharness.serve import STARTUP_S, LaunchError, Server, serve
from wsharness.timeouts import scaled

TIMEOUT_S = scaled(5.0)

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
        starter.wait(scaled(STARTUP_S))
    deadline = time.monotonic() + scaled(STARTUP_S)
    while not _gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(server_pid)


def echo(server: Server, text: str) -> object:
    with connect(f"{server.ws_url}/ws", open_timeout=TIMEOUT_S) as ws:
        ws.send(text)
        return ws.recv(TIMEOUT_S)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S).close()
    except ConnectionRefusedError:
        return True
    return False


def test_two_workers_serve_on_the_one_socket() -> None:
    with serve(workers=2) as server:
        for n in range(4):
            assert echo(server, f"w{n}") == f"Message text was: w{n}"


def test_with_workers_the_block_begins_once_every_worker_serves() -> None:
    """The socket listens as soon as one worker does; connections made before the others
    serve would all go to it."""
    with serve(workers=2) as server, contextlib.ExitStack() as stack:
        workers = worker_pids(server.process.pid)
        holders = set()
        for n in range(40):
            ws = stack.enter_context(connect(f"{server.ws_url}/ws/{n}", open_timeout=TIMEOUT_S))
            holders.add(holder(workers, server.port, ws.socket.getsockname()[1]))
            if len(holders) == 2:
                break
        assert holders == set(workers)


def test_workers_that_fail_to_start_are_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="exited with code"), serve(
            "no_such_module:app", workers=2, log_path=tmp_path / "server.log"):
        pass


def test_a_killed_server_leaves_its_port_refusing_and_free_to_serve_again() -> None:
    with serve() as server:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        assert refused(server.port)  # nothing here kept a copy of the socket
        with serve(port=server.port) as again:
            assert echo(again, "back") == "Message text was: back"


def test_a_port_in_use_is_a_launch_error_of_one_line(busy_port: int) -> None:
    with pytest.raises(LaunchError) as failed, serve(port=busy_port):
        pass
    assert str(failed.value) == f"binding 127.0.0.1:{busy_port} is already in use"
