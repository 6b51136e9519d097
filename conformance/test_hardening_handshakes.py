"""Opening handshakes that are unfinished or malformed, over a raw TCP socket.

A connection that never finishes its upgrade request must not be kept for ever (a handful of
them would otherwise hold a server's connections: slowloris). A malformed upgrade request
gets an HTTP error, never a crash: after it, the server still accepts a proper handshake.

uvicorn breaks some of these rules itself, whatever the app: with --app those failures are
expected (server_gaps.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from conformance.client import ACCEPTED, describe_status, handshake_status, run
from conformance.hardening_target import Limits
from conformance.mismatch import SpecMismatch
from conformance.rawclient import (
    SUPPORTED_VERSION,
    Endpoint,
    HttpAnswer,
    http_answer,
    kept_open,
    upgrade_request,
    websocket_key,
)
from conformance.server_gaps import expect_server_gap
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.hardening

PATH = "/ws"
ANSWER_TIMEOUT_S = scaled(5.0)
CHECK_TIMEOUT_S = scaled(30.0)
HANDSHAKE_SLACK_S = scaled(2.0)  # beyond the limit: the server's timer on a busy machine
OVERSIZED_HEADER_BYTES = 64 * 1024
SHORT_KEY = "c2hvcnQga2V5"  # base64 of 9 bytes ("short key"), not of 16
OLD_VERSION = "8"


@dataclass(frozen=True)
class Malformed:
    """One malformed upgrade request, and the rule its answer is judged by."""

    rule: str
    sent: str
    request: Callable[[Endpoint], bytes]
    names_version: bool = False  # the answer must list the supported version


MALFORMED = {
    "missing-key": Malformed(
        "hardening.handshake-key", "an upgrade request without Sec-WebSocket-Key",
        lambda e: upgrade_request(e, key=None)),
    "bad-key": Malformed(
        "hardening.handshake-key", f"an upgrade request with Sec-WebSocket-Key: {SHORT_KEY} "
        "(9 bytes in base64, not 16)", lambda e: upgrade_request(e, key=SHORT_KEY)),
    "wrong-version": Malformed(
        "hardening.handshake-version", "an upgrade request with Sec-WebSocket-Version: "
        f"{OLD_VERSION}", lambda e: upgrade_request(e, key=websocket_key(), version=OLD_VERSION),
        names_version=True),
    "post": Malformed(
        "hardening.handshake-method", "an upgrade request with method POST",
        lambda e: upgrade_request(e, method="POST", key=websocket_key())),
    "oversized-headers": Malformed(
        "hardening.handshake-headers", f"an upgrade request with a header of "
        f"{OVERSIZED_HEADER_BYTES // 1024} KiB",
        lambda e: upgrade_request(e, key=websocket_key(), extra_headers=[
            ("X-Oversized", "a" * OVERSIZED_HEADER_BYTES)])),
}


def lists_supported_version(answer: HttpAnswer) -> bool:
    versions = answer.headers.get("sec-websocket-version", "")
    return SUPPORTED_VERSION in (v.strip() for v in versions.split(","))


def expected_answer(case: Malformed) -> str:
    if case.names_version:
        return (f"an HTTP 4xx error (426 Upgrade Required) with Sec-WebSocket-Version: "
                f"{SUPPORTED_VERSION}")
    return "an HTTP 4xx error"


def is_right_answer(case: Malformed, answer: HttpAnswer) -> bool:
    if answer.status is None or not 400 <= answer.status < 500:
        return False
    return lists_supported_version(answer) or not case.names_version


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_a_malformed_handshake_gets_an_http_error_wire(request: pytest.FixtureRequest,
                                                       wire: WireTarget, case: str) -> None:
    malformed = MALFORMED[case]
    expect_server_gap(request, wire, case, malformed.rule)
    url = wire.url(PATH)
    endpoint = Endpoint.of(url)
    answer = run(http_answer(endpoint, malformed.request(endpoint), ANSWER_TIMEOUT_S),
                 CHECK_TIMEOUT_S)
    if not is_right_answer(malformed, answer):
        raise SpecMismatch(malformed.rule, sent=f"{malformed.sent}, to {url}",
                           expected=expected_answer(malformed), arrived=answer.describe())
    status = run(handshake_status(url), CHECK_TIMEOUT_S)
    if status != ACCEPTED:
        raise SpecMismatch(malformed.rule, sent=f"{malformed.sent}, then a proper handshake to "
                           f"{url}", expected=f"{expected_answer(malformed)}, then the proper "
                           "handshake accepted (HTTP 101)",
                           arrived=f"{answer.describe()}, then {describe_status(status)}")


def nothing(endpoint: Endpoint) -> bytes:
    return b""


def all_but_the_last_line_end(endpoint: Endpoint) -> bytes:
    return upgrade_request(endpoint, key=websocket_key())[:-2]


UNFINISHED: dict[str, Callable[[Endpoint], bytes]] = {
    "nothing": nothing, "half a request": all_but_the_last_line_end}


def test_a_handshake_that_never_finishes_is_closed_wire(request: pytest.FixtureRequest,
                                                        wire: WireTarget, limits: Limits) -> None:
    """Two connections at once: one sends nothing, one all but its request's last CRLF."""
    expect_server_gap(request, wire, "slow-handshake", "hardening.slow-handshake")
    url = wire.url(PATH)
    endpoint = Endpoint.of(url)
    bound_s = limits.handshake_timeout_s + HANDSHAKE_SLACK_S

    async def both() -> list[str | None]:
        return list(await asyncio.gather(*(kept_open(endpoint, request(endpoint), bound_s)
                                           for request in UNFINISHED.values())))

    outcomes = run(both(), bound_s + CHECK_TIMEOUT_S)
    still_open = [f"{name}: {outcome}" for name, outcome in zip(UNFINISHED, outcomes,
                                                                strict=True) if outcome]
    if still_open:
        raise SpecMismatch("hardening.slow-handshake",
                           sent=f"two TCP connections to {endpoint.host_header}, one sending "
                           "nothing and one half an upgrade request, then nothing more",
                           expected=f"both closed by the server within {bound_s:g}s "
                           "(--handshake-timeout-s)", arrived="; ".join(still_open))
