"""serve under every server: each serves the app on the socket bound first (Granian on the
port held for it), translates uvicorn's options it has an equivalent of, refuses the others,
and values its own settings refuse, in one line, and stops at the end of the block. A server
that is not installed is one line naming the extra."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode
from websockets.sync.client import connect

from tests.absent import REPO, python_without
from tests.wsharness.test_serve import echo, refused
from wsharness.bind import BindError, bind_listening
from wsharness.serve import listening_sockets, process_tree, serve
from wsharness.servers import SERVERS, ServerError, Unsupported, label
from wsharness.timeouts import scaled

TIMEOUT_S = scaled(5.0)
SMALL_LIMIT = 1000  # bytes


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
    ("daphne", {"options": {"ws_ping_interval": 1.5}},
     "daphne takes whole seconds for --ping-interval (uvicorn's ws_ping_interval): not 1.5"),
    ("daphne", {"options": {"ws_ping_timeout": 0.5}},
     "daphne takes whole seconds for --ping-timeout (uvicorn's ws_ping_timeout): not 0.5"),
    ("granian", {"options": {"backlog": 64}}, "granian's --backlog is at least 128: not 64"),
    ("granian", {"options": {"timeout_graceful_shutdown": 0.5}},
     "granian takes whole seconds for --workers-kill-timeout (uvicorn's "
     "timeout_graceful_shutdown): not 0.5"),
    ("granian", {"options": {"timeout_graceful_shutdown": 3600}},
     "granian's --workers-kill-timeout is 1 to 1800 seconds: not 3600"),
    ("granian", {"log_level": "trace"},
     "granian has no log level 'trace' (one of critical, error, warning, info, debug)"),
    ("hypercorn", {"log_level": "trace"},
     "hypercorn has no log level 'trace' (one of critical, error, warning, info, debug)"),
    ("daphne", {"host": "::1"},
     "daphne adopts IPv4 sockets only (its --fd): serve it on an IPv4 address, not ::1 (bound "
     "as IPv6)"),
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


def test_granians_block_begins_with_every_worker_listening_and_the_port_held() -> None:
    """Each Granian worker binds the port (SO_REUSEPORT) beside the socket serve() holds: once
    the block begins both workers listen, and nobody else can bind the port meanwhile."""
    with serve(server="granian", workers=2, cwd=REPO) as server:
        assert listening_sockets(server.port, process_tree(server.process.pid)) == 2
        with pytest.raises(BindError, match="is already in use"):
            bind_listening("127.0.0.1", server.port)
    assert server.process.returncode == 0


def test_an_unknown_log_level_is_one_line() -> None:
    with pytest.raises(ServerError) as refused_, serve(log_level="loud"):
        pass
    assert str(refused_.value) == ("unknown log level 'loud' (one of critical, error, warning, "
                                   "info, debug, trace)")


def test_a_server_that_is_not_installed_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    python, env = python_without(tmp_path / "site", "hypercorn")
    result = subprocess.run(
        [*python, "-c", "from wsharness.serve import serve\nwith serve(server='hypercorn'): pass"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=scaled(60), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "wsharness.servers.NotInstalled: hypercorn is not installed: "
        "pip install 'wsharness[servers]'")
