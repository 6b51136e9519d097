"""Cross-site WebSocket hijacking: a browser sends a site's cookies with any page's handshake,
naming the page in `Origin`. A handshake that relies on the `session` cookie must come from an
allowed origin; a query token is not sent by the browser on its own, so any origin may use it.

The target's own origin (http(s)://host:port of the target) stands for an allowed one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import assume, example, given
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from conformance import strategies
from conformance.client import (
    ACCEPTED,
    CLOSE_TIMEOUT_S,
    OPEN_TIMEOUT_S,
    Received,
    receive,
    run,
    sentinel,
)
from conformance.mismatch import SpecMismatch, expect_messages, show_list
from conformance.refusals import REFUSED_ON_THE_WIRE
from conformance.spec import items_replies
from conformance.targets import WireTarget
from wsharness.target import url_host
from wsharness.timeouts import scaled

pytestmark = pytest.mark.hardening

CHECK_TIMEOUT_S = scaled(30.0)
ITEM_ID = "foo"
COOKIE = "session-value"
TOKEN = "token-value"


def own_origin(target: WireTarget) -> str:
    """The origin a browser sends from the target's own pages: no port when it is the
    scheme's default, as browsers leave it out (and as the Host header does)."""
    parts = urlsplit(target.base)
    scheme = "https" if parts.scheme == "wss" else "http"
    default_port = {"http": 80, "https": 443}[scheme]
    port = "" if parts.port == default_port else f":{parts.port}"
    return f"{scheme}://{url_host(parts.hostname or '')}{port}"


def describe(url: str, cookie: str | None, origin: str) -> str:
    credentials = f"cookie session={cookie!r}" if cookie is not None else "no cookie"
    return f"{url} with {credentials} and Origin: {origin}"


async def items_handshake(url: str, cookie: str | None, origin: str,
                          messages: list[str]) -> int | Received:
    """The HTTP status of a refused handshake, or the replies to messages once accepted."""
    headers = {"Cookie": f"session={cookie}"} if cookie is not None else None
    try:
        websocket = await connect(url, additional_headers=headers, origin=Origin(origin),
                                  open_timeout=OPEN_TIMEOUT_S, close_timeout=CLOSE_TIMEOUT_S,
                                  ping_interval=None)
    except InvalidStatus as exc:
        return exc.response.status_code
    try:
        for message in messages:
            await websocket.send(message)
        return await receive(websocket, 2 * len(messages))
    finally:
        await websocket.close()


def expect_accepted(target: WireTarget, *, cookie: str | None, token: str | None,
                    origin: str) -> None:
    url = target.url(f"/items/{ITEM_ID}/ws" + (f"?token={token}" if token is not None else ""))
    messages = ["m", sentinel()]
    outcome = run(items_handshake(url, cookie, origin, messages), CHECK_TIMEOUT_S)
    sent = describe(url, cookie, origin)
    if not isinstance(outcome, Received):
        raise SpecMismatch("hardening.allowed-origin", sent=sent,
                           expected="accepted (HTTP 101)", arrived=f"refused with HTTP {outcome}")
    value = cookie if cookie is not None else token or ""
    expected = [reply for m in messages
                for reply in items_replies(value, None, m, ITEM_ID, "hardening.allowed-origin")]
    expect_messages(f"{sent}, then {show_list(messages)}", expected, outcome.messages,
                    outcome.ending, extra_rule="items.replies")


@given(origin=strategies.foreign_origins())
@example(origin="https://attacker.example")
@example(origin="null")
def test_the_session_cookie_from_a_foreign_origin_is_refused_wire(wire: WireTarget,
                                                                  origin: str) -> None:
    assume(origin != own_origin(wire))
    url = wire.url(f"/items/{ITEM_ID}/ws")
    outcome = run(items_handshake(url, COOKIE, origin, []), CHECK_TIMEOUT_S)
    if outcome != REFUSED_ON_THE_WIRE:
        arrived = (f"accepted (HTTP {ACCEPTED})" if isinstance(outcome, Received)
                   else f"refused with HTTP {outcome}")
        raise SpecMismatch("hardening.cross-site", sent=describe(url, COOKIE, origin),
                           expected="refused before accept, like missing credentials: HTTP 403",
                           arrived=arrived)


def test_the_session_cookie_from_the_targets_own_origin_is_accepted_wire(
        wire: WireTarget) -> None:
    expect_accepted(wire, cookie=COOKIE, token=None, origin=own_origin(wire))


@given(origin=strategies.foreign_origins())
@example(origin="https://attacker.example")
def test_a_query_token_from_any_origin_is_accepted_wire(wire: WireTarget, origin: str) -> None:
    expect_accepted(wire, cookie=None, token=TOKEN, origin=origin)
