"""serve under every server: each serves the app on the socket bound first (Granian on the
free port), translates uvicorn's options it has an equivalent of, refuses the others in one
line, and stops at the end of the block. A server that is not installed is one line naming
the extra."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode
from websockets.sync.client import connect

from tests.absent import REPO, python_without
from wsharness.serve import Server, serve
from wsharness.servers import SERVERS, Unsupported, label
from wsharness.timeouts import scaled

TIMEOUT_S = scaled(5.0)
SMALL_LIMIT = 1000  # bytes


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


@pytest.mark.parametrize("name", SERVERS)
def test_each_server_serves_the_app_and_stops_with_the_block(name: str) -> None:
    with serve(server=name, cwd=REPO) as server:
        assert (server.name, server.label) == (name, label(name))
        assert echo(server, name) == f"Message text was: {name}"
    assert server.process.returncode == 0
    assert refused(server.port)


def test_uvicorns_label_names_its_websocket_implementation() -> None:
    with serve(ws="wsproto", cwd=REPO) as server:
        assert server.label == "uvicorn-wsproto"


@pytest.mark.parametrize("name", ["hypercorn", "daphne"])
def test_the_size_limit_is_told_in_the_servers_own_words(name: str) -> None:
    """The limit holds on both; the close code differs (hypercorn 1009, daphne no 1009)."""
    with serve(server=name, cwd=REPO, options={"ws_max_size": SMALL_LIMIT}) as server, \
            connect(f"{server.ws_url}/raw", open_timeout=TIMEOUT_S) as ws:
        ws.send("x" * SMALL_LIMIT)
        assert ws.recv(TIMEOUT_S) == "x" * SMALL_LIMIT
        ws.send("x" * (SMALL_LIMIT + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(TIMEOUT_S)
    code = closed.value.rcvd.code if closed.value.rcvd is not None else None
    assert (code == CloseCode.MESSAGE_TOO_BIG) == (name == "hypercorn")


@pytest.mark.parametrize(("name", "kwargs", "line"), [
    ("granian", {"options": {"ws_max_size": SMALL_LIMIT}},
     "granian has no equivalent of uvicorn's ws_max_size"),
    ("hypercorn", {"options": {"ws_ping_timeout": 1.0}},
     "hypercorn has no equivalent of uvicorn's ws_ping_timeout"),
    ("daphne", {"workers": 2}, "daphne serves from one process: 2 workers are not available"),
    ("hypercorn", {"ws": "wsproto"},
     "hypercorn has one WebSocket implementation of its own: --ws wsproto picks uvicorn's"),
])
def test_what_a_server_cannot_do_is_one_line_before_it_starts(
        name: str, kwargs: dict[str, object], line: str) -> None:
    with pytest.raises(Unsupported) as refused_, serve(server=name, **kwargs):  # type: ignore[arg-type]
        pass
    assert str(refused_.value) == line


@pytest.mark.parametrize("name", ["hypercorn", "granian"])
def test_two_workers_serve(name: str) -> None:
    with serve(server=name, workers=2, cwd=REPO) as server:
        for n in range(4):
            assert echo(server, f"w{n}") == f"Message text was: w{n}"


def test_a_server_that_is_not_installed_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    python, env = python_without(tmp_path / "site", "hypercorn")
    result = subprocess.run(
        [*python, "-c", "from wsharness.serve import serve\nwith serve(server='hypercorn'): pass"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=scaled(60), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "wsharness.servers.NotInstalled: hypercorn is not installed: "
        "pip install 'wsharness[servers]'")
