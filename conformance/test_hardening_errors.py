"""A client's normal close is not an error: the server must not log it as one.

The check needs the server's log, so it runs with --app on a server of its own: clients close
normally (1000, 1001) on every socket after one exchange; once the server has had the time it
may take to log an app's exception (daphne: up to a second), it is stopped gracefully, which
waits for every handler to end, and its whole log is read.
"""

from __future__ import annotations

import re

import pytest
from websockets.frames import CloseCode

from conformance.client import open_connection, receive, run
from conformance.hardening_target import ServeOwn
from conformance.mismatch import SpecMismatch, shorten
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.hardening

SOCKETS = {  # path: replies to one message
    "/ws": 1,
    "/items/foo/ws?token=t": 2,
    "/ws/862001": 2,
}
NORMAL_CLOSES = (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY)
CHECK_TIMEOUT_S = scaled(30.0)
STOP_TIMEOUT_S = scaled(20.0)
ERROR_LINE = re.compile(  # a logged error, a traceback, or the exception that ends one
    r"^(ERROR|CRITICAL)\b|^Traceback \(most recent call last\)"
    r"|^[\w.]+(Error|Exception|Disconnect)\b")
SHOWN_LINES = 6


def errors_in(log: str) -> list[str]:
    """The lines of a server log that report an error or an exception."""
    return [line for line in log.splitlines() if ERROR_LINE.search(line)]


async def close_normally_everywhere(target: WireTarget) -> list[str]:
    """On every socket, for each normal close code: connect, one exchange, close with it.
    What went wrong on the way (it makes the check unable to judge)."""
    problems = []
    for path, replies in SOCKETS.items():
        for code in NORMAL_CLOSES:
            websocket = await open_connection(target.url(path))
            try:
                await websocket.send("before closing")
                got = await receive(websocket, replies)
                if len(got.messages) < replies:
                    problems.append(f"{path}: {len(got.messages)} of {replies} replies, then "
                                    f"{got.ending}")
            finally:
                await websocket.close(code)
    return problems


def test_a_normal_close_is_never_logged_as_an_exception_wire(own_server: ServeOwn) -> None:
    with own_server() as server:
        problems = run(close_normally_everywhere(server.target), CHECK_TIMEOUT_S)
        server.wait_for_late_logs()
        server.begin_shutdown()
        stopped = server.wait_stopped(STOP_TIMEOUT_S)
        log = server.log()
    if problems:
        pytest.fail(f"cannot judge the log: the exchanges before closing failed: {problems}",
                    pytrace=False)
    if not stopped:
        pytest.fail(f"cannot judge the log: the server did not stop within {STOP_TIMEOUT_S:g}s "
                    "of SIGINT", pytrace=False)
    errors = errors_in(log)
    if errors:
        codes = " and ".join(f"{int(c)} ({c.name})" for c in NORMAL_CLOSES)
        raise SpecMismatch("hardening.close-logged",
                           sent=f"on {', '.join(SOCKETS)}: one message, its replies, then a "
                           f"close with {codes}; then the server stopped gracefully",
                           expected="no error or exception in the server's log",
                           arrived=f"{len(errors)} line(s) of errors and tracebacks in the log, "
                           "e.g. " + "; ".join(shorten(e) for e in errors[:SHOWN_LINES]))
