"""The hardening group's options and targets: bad limits are one line; under --url the checks
that need the server under the suite's control are skipped with a reason; and a server that
closes unfinished handshakes passes the check that uvicorn fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from websockets.sync.server import ServerConnection, serve

from conformance.hardening_target import NEEDS_OWN_SERVER
from tests.conformance.suite import REPO, rules_named, run_suite
from tests.conformance.test_options import USAGE_ERROR, assert_one_clear_line
from wsharness.serve import serve as serve_app

OPEN_TIMEOUT_S = 1.0  # the control server's bound on an unfinished handshake


@pytest.mark.parametrize("option", ["--max-message-bytes", "--ping-interval-s",
                                    "--ping-timeout-s", "--handshake-timeout-s"])
def test_a_limit_that_is_not_positive_is_a_usage_error(option: str) -> None:
    result = run_suite(option, "0")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, option, "> 0")


def test_under_url_the_checks_of_a_server_the_suite_controls_are_skipped() -> None:
    pings = {"ws_ping_interval": 1.0, "ws_ping_timeout": 1.0}
    with serve_app("target_app:app", cwd=REPO, options=pings) as server:
        result = run_suite("--url", server.url, "-m", "hardening", "-k", "not churn and not "
                           "handshake", "--ping-interval-s", "1", "--ping-timeout-s", "1", "-rs",
                           "--hypothesis-profile", "smoke")
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.count(NEEDS_OWN_SERVER) == 2, result.stdout[-3000:]  # shutdown, log
    assert "9 passed, 2 skipped" in result.stdout, result.stdout[-500:]


def echo(connection: ServerConnection) -> None:
    for message in connection:
        connection.send(f"Message text was: {message!s}")


@pytest.fixture
def closes_unfinished_handshakes() -> Iterator[str]:
    """A websockets server (not uvicorn) that drops a handshake unfinished after 1 s."""
    with serve(echo, "127.0.0.1", 0, open_timeout=OPEN_TIMEOUT_S) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        finally:
            server.shutdown()
            thread.join()


def test_a_server_that_closes_unfinished_handshakes_passes(
        closes_unfinished_handshakes: str) -> None:
    result = run_suite("--url", closes_unfinished_handshakes, "-m", "hardening", "-k",
                       "never_finishes", "--handshake-timeout-s", "5")
    assert result.returncode == 0, result.stdout[-3000:]
    assert rules_named(result.stdout) == set()
    assert "1 passed" in result.stdout
