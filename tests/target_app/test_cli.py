"""`python -m target_app`: serves either variant, prints its URL, one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.absent import python_without
from tests.target_app.wire import TIMEOUT_S, open_socket, receive_text
from wsharness.serve import stop, wait_until_listening


@contextmanager
def target_app_process(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "target_app", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield process
    finally:
        stop(process)
        assert process.stdout is not None
        process.stdout.close()


def announced_port(process: subprocess.Popen[bytes], variant: str) -> int:
    """The port of the URL the app prints first (--port 0: the one it was given)."""
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    announced = re.fullmatch(
        rf"wsharness reference app \({variant}\) at http://127\.0\.0\.1:(\d+)/", line)
    assert announced, line
    return int(announced[1])


@pytest.mark.parametrize(("variant", "socket_origin"),
                         [("docs", "ws://localhost:8000"), ("hardened", "location.host")])
@pytest.mark.parametrize("ws_impl", ["websockets-sansio", "wsproto"])
def test_serves_the_variant(variant: str, socket_origin: str, ws_impl: str) -> None:
    with target_app_process("--variant", variant, "--port", "0", "--ws", ws_impl) as proc:
        port = announced_port(proc, variant)
        wait_until_listening("127.0.0.1", port, TIMEOUT_S, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=TIMEOUT_S) as page:
            assert socket_origin in page.read().decode()
        with open_socket(f"ws://127.0.0.1:{port}/ws") as ws:
            ws.send("ping")
            assert receive_text(ws) == "Message text was: ping"


def test_two_workers_serve() -> None:
    with target_app_process("--port", "0", "--workers", "2") as proc:
        port = announced_port(proc, "hardened")
        wait_until_listening("127.0.0.1", port, TIMEOUT_S, proc)
        for _ in range(4):
            with open_socket(f"ws://127.0.0.1:{port}/ws") as ws:
                ws.send("w")
                assert receive_text(ws) == "Message text was: w"


@pytest.mark.parametrize("server", ["hypercorn", "granian", "daphne"])
def test_another_server_serves(server: str) -> None:
    with target_app_process("--port", "0", "--server", server) as proc:
        port = announced_port(proc, "hardened")
        wait_until_listening("127.0.0.1", port, TIMEOUT_S, proc)
        with open_socket(f"ws://127.0.0.1:{port}/ws") as ws:
            ws.send(server)
            assert receive_text(ws) == f"Message text was: {server}"


def test_a_server_that_is_not_installed_is_one_line(tmp_path: Path) -> None:
    python, env = python_without(tmp_path / "site", "granian")
    result = subprocess.run([*python, "-m", "target_app", "--server", "granian"],
                            capture_output=True, text=True, env=env, timeout=TIMEOUT_S * 4,
                            check=False)
    assert (result.returncode, result.stderr) == (1, "python -m target_app: error: granian is "
                                                  "not installed: pip install "
                                                  "'wsharness[servers]'\n")


def run_and_fail(*args: str) -> tuple[int, list[str]]:
    result = subprocess.run([sys.executable, "-m", "target_app", *args], capture_output=True,
                            text=True, timeout=TIMEOUT_S * 4, check=False)
    return result.returncode, [line for line in result.stderr.splitlines() if "error" in line]


def test_port_in_use_is_one_line(busy_port: int) -> None:
    code, errors = run_and_fail("--port", str(busy_port))
    assert code == 1
    assert errors == [
        f"python -m target_app: error: binding 127.0.0.1:{busy_port} is already in use"]


@pytest.mark.parametrize(("args", "message"), [
    (["--variant", "nope"], "invalid choice: 'nope'"),
    (["--port", "70000"], "--port 70000 is not a port number"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--ws", "tornado"], "invalid choice: 'tornado'"),
    (["--server", "tornado"], "invalid choice: 'tornado'"),
    (["--server", "daphne", "--workers", "2"], "daphne serves from one process"),
    (["--server", "granian", "--ws", "wsproto"], "--ws wsproto picks uvicorn's"),
    (["--server", "granian", "--backlog", "64"], "granian's --backlog is at least 128"),
    (["--server", "daphne", "--host", "::1"], "daphne adopts IPv4 sockets only"),
    (["--host", "no.such.host.invalid"], "cannot resolve host"),
])
def test_bad_options_are_one_line(args: list[str], message: str) -> None:
    code, errors = run_and_fail(*args)
    assert code != 0
    assert len(errors) == 1
    assert message in errors[0]
