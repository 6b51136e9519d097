"""The server's limits, as close codes: a message too big (1009), a client that never answers
pings (1011), a graceful shutdown (1012).

The size limit and the ping settings of a --url target come from options (uvicorn's defaults);
with --app the suite tells its servers the size limit, and the ping check's own server pings
every second (each skipped on a server that cannot be told so). Shutdown needs a server the
suite can stop: skipped under --url.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from websockets.frames import CloseCode

from conformance.client import run
from conformance.closes import describe, read_until_closed
from conformance.crowd import close_many, open_many
from conformance.hardening_target import Limits, ServeOwn, ServeOwnOrUrl, skip_unless_told
from conformance.mismatch import SpecMismatch
from conformance.rawclient import never_answer_pings, send_while_reading
from conformance.server_gaps import expect_server_gap
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.hardening

CHECK_TIMEOUT_S = scaled(60.0)
PING_SLACK_S = scaled(5.0)  # beyond interval + timeout: the server's timers, a busy machine
SHUTDOWN_TIMEOUT_S = scaled(15.0)
SIZE_TIMEOUT_S = scaled(20.0)
SHUTDOWN_CLIENTS = {"echo": "/ws", "items": "/items/foo/ws?token=t",
                    "chat member #861001": "/ws/861001", "chat member #861002": "/ws/861002"}


def test_a_message_over_the_size_limit_closes_with_1009_wire(
        request: pytest.FixtureRequest, wire: WireTarget, limits: Limits) -> None:
    skip_unless_told(wire, "ws_max_size")
    expect_server_gap(request, wire, "message-too-big", "hardening.message-too-big")
    url = wire.url("/ws")
    size = limits.max_message_bytes + 1
    seen = run(send_while_reading(url, "x" * size, SIZE_TIMEOUT_S), CHECK_TIMEOUT_S)
    if seen.close is None or seen.close.code != CloseCode.MESSAGE_TOO_BIG:
        raise SpecMismatch("hardening.message-too-big",
                           sent=f"{url}: one uncompressed text message of {size} bytes "
                           f"(--max-message-bytes {limits.max_message_bytes}, plus one)",
                           expected=f"a close frame with code {int(CloseCode.MESSAGE_TOO_BIG)}",
                           arrived=seen.describe())


def test_a_client_that_never_answers_pings_is_closed_with_1011_wire(
        request: pytest.FixtureRequest, wire: WireTarget, own_server_or_url: ServeOwnOrUrl,
        limits: Limits) -> None:
    expect_server_gap(request, wire, "ping-timeout", "hardening.ping-timeout")
    bound_s = limits.ping_interval_s + limits.ping_timeout_s + PING_SLACK_S
    with own_server_or_url(**limits.uvicorn_ping_options()) as target:
        url = target.url("/ws")
        seen = run(never_answer_pings(url, bound_s), bound_s + CHECK_TIMEOUT_S)
    if seen.close is None or seen.close.code != CloseCode.INTERNAL_ERROR:
        raise SpecMismatch("hardening.ping-timeout",
                           sent=f"{url}: a client that reads but never sends a byte after the "
                           f"handshake (pings every {limits.ping_interval_s:g}s, timeout "
                           f"{limits.ping_timeout_s:g}s: --ping-interval-s, --ping-timeout-s)",
                           expected=f"a close frame with code {int(CloseCode.INTERNAL_ERROR)} "
                           f"within {bound_s:g}s", arrived=seen.describe())


def test_a_graceful_shutdown_closes_every_client_with_1012_wire(
        request: pytest.FixtureRequest, wire: WireTarget, own_server: ServeOwn) -> None:
    expect_server_gap(request, wire, "shutdown", "hardening.shutdown")
    with own_server() as server:
        outcomes = run(clients_at_shutdown(server.target, server.begin_shutdown),
                       CHECK_TIMEOUT_S)
        server.wait_stopped(SHUTDOWN_TIMEOUT_S)
    wrong = {name: outcome for name, outcome in outcomes.items()
             if outcome != CloseCode.SERVICE_RESTART}
    if wrong:
        shown = "; ".join(f"{name}: {describe(outcome)}" for name, outcome in wrong.items())
        raise SpecMismatch("hardening.shutdown",
                           sent=f"clients on {', '.join(SHUTDOWN_CLIENTS.values())}, then the "
                           "server asked to stop (SIGINT, as Ctrl-C)",
                           expected=f"every client: a close frame with code "
                           f"{int(CloseCode.SERVICE_RESTART)}", arrived=shown)


async def clients_at_shutdown(target: WireTarget,
                              begin_shutdown: Callable[[], None]) -> dict[str, int | str]:
    clients = await open_many([target.url(path) for path in SHUTDOWN_CLIENTS.values()])
    try:
        begin_shutdown()
        closes = await asyncio.gather(*(read_until_closed(c, SHUTDOWN_TIMEOUT_S)
                                        for c in clients))
        return dict(zip(SHUTDOWN_CLIENTS, closes, strict=True))
    finally:
        await close_many(clients)
