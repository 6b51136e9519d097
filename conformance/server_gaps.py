"""What the servers themselves get wrong in the hardening, protocol and autobahn groups:
failures of the server the suite starts for --app (--server, and uvicorn's --ws-impl), whatever
the app, since they happen outside any app code (in the handshake, the WebSocket framing, the
server's own limits).

There the suite expects them: the check runs and must fail with its rule (a strict xfail, its
reason, naming the server and its version, shown by -ra), so that the run judges the app, and a
server that fixes one of them fails the run until this list is updated. Against --url they are
ordinary failures.

Measured with uvicorn 0.54.0 (httptools), websockets 17.4, wsproto 1.3.2, hypercorn 0.18.0
(h11 0.16.0, wsproto 1.3.2), granian 2.8.9 and daphne 4.2.3 (autobahn 26.10.2, Twisted 26.10.0).
Keys are (check, target label): `uvicorn-<ws impl>`, `hypercorn`, `granian`, `daphne`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import assume

from conformance.frames import WireFrame
from conformance.mismatch import SpecMismatch
from conformance.targets import WireTarget
from wsharness.servers import WS_IMPLS, describe

WEBSOCKETS_VERSION_ANSWER = ("websockets answers a wrong Sec-WebSocket-Version with 400 and no "
                             "Sec-WebSocket-Version header (RFC 6455 4.2.2 requires one)")

CLOSE_INSIDE_MESSAGE = ("websockets answers a close frame that comes between the fragments of a "
                        "message with 1002 (protocol error) instead of a normal close; websockets "
                        "documents this (Autobahn case 7.1.5) as a known failure")
LEGACY_FRAGMENTS = ("websockets' legacy implementation refuses a message of more than 4096 "
                    "fragments (WEBSOCKETS_MAX_FRAGMENTS) with 1009, whatever its size: this "
                    "case sends 4 MiB in fragments of 64 or 256 bytes")

WSPROTO_1014 = ("wsproto 1.3.2 does not know 1014 (bad gateway), registered with IANA after RFC "
                "6455: it takes the close frame for a protocol error and drops the TCP "
                "connection without a close frame")
UVICORN = {impl: f"uvicorn-{impl}" for impl in WS_IMPLS}
CLOSE_1014 = {
    "hypercorn": f"hypercorn's {WSPROTO_1014}",
    "granian": "granian does not know 1014 (bad gateway), registered with IANA after RFC 6455: "
    "it answers the close frame with 1002 (protocol error)",
    "daphne": "daphne (autobahn) does not know 1014 (bad gateway), registered with IANA after "
    "RFC 6455: it takes the close frame for a protocol error and resets the TCP connection",
}
GRANIAN_EMPTY_CLOSE = ("granian answers a framing error with a close frame without a code "
                       "(an empty body), not 1002 (protocol error) or 1007 (invalid data)")
DAPHNE_EMPTY_MESSAGE = ("daphne sends no frame for an empty message from the app (it tests "
                        "websocket.send's text or bytes for truth), so an empty message is "
                        "never echoed")
DAPHNE_FRAME_SIZE = ("daphne drops the TCP connection of a frame over 1 MiB (its "
                     "--websocket-max-frame-size default), which uvicorn's options cannot raise")
SLOW_HANDSHAKE = {  # a connection that sends nothing, or all of its request but the last line end
    "granian": "granian keeps a connection that sends nothing for ever (still open after 120 s, "
    "measured), whatever the check's deadline; one with part of a request it closes after "
    "--http1-header-read-timeout, 30 s by default",
    "daphne": "daphne (Twisted) runs no timer before a request's headers are complete: an "
    "unfinished handshake is kept for ever",
}

GAPS: dict[tuple[str, str], str] = {  # (check, target label): what the server does
    **{("slow-handshake", label): "no timer runs before a request's headers are complete (the "
       "keep-alive timeout starts after a response): an unfinished handshake is kept for ever"
       for label in UVICORN.values()},
    ("wrong-version", UVICORN["websockets-sansio"]): WEBSOCKETS_VERSION_ANSWER,
    ("wrong-version", UVICORN["websockets"]): WEBSOCKETS_VERSION_ANSWER,
    ("oversized-headers", UVICORN["websockets-sansio"]): "websockets' parser answers 431, but "
    "uvicorn writes out the parser's output only along with an event: nothing is sent and the "
    "connection hangs",
    ("oversized-headers", UVICORN["wsproto"]): "httptools has no header size limit and wsproto "
    "accepts any: HTTP 101",
    ("bad-key", UVICORN["wsproto"]): "wsproto accepts any Sec-WebSocket-Key: HTTP 101",
    ("close-inside-message", UVICORN["websockets-sansio"]): CLOSE_INSIDE_MESSAGE,
    ("close-1014", UVICORN["wsproto"]): WSPROTO_1014,
    **{("slow-handshake", server): reason for server, reason in SLOW_HANDSHAKE.items()},
    **{("close-1014", server): reason for server, reason in CLOSE_1014.items()},
    ("bad-key", "hypercorn"): "hypercorn (wsproto) accepts any Sec-WebSocket-Key: HTTP 101",
    ("wrong-version", "hypercorn"): "hypercorn answers a wrong Sec-WebSocket-Version with 400 "
    "and no Sec-WebSocket-Version header (RFC 6455 4.2.2 requires one)",
    ("shutdown", "hypercorn"): "hypercorn closes every WebSocket with 1011 (internal error) on "
    "a graceful shutdown, not 1012",
    ("bad-key", "granian"): "granian accepts any Sec-WebSocket-Key: HTTP 101",
    ("wrong-version", "granian"): "granian answers a wrong Sec-WebSocket-Version with 400 and "
    "no Sec-WebSocket-Version header (RFC 6455 4.2.2 requires one)",
    ("post", "granian"): "granian upgrades a POST request: HTTP 101",
    ("oversized-headers", "granian"): "granian upgrades a request with 64 KiB of headers: HTTP "
    "101 (its HTTP/1 buffer, --http1-buffer-size, is 408 KiB)",
    ("shutdown", "granian"): "granian drops every WebSocket's TCP connection on a graceful "
    "shutdown, without a close frame (the client sees 1006)",
    ("wrong-version", "daphne"): "daphne (autobahn) upgrades a handshake with a wrong "
    "Sec-WebSocket-Version: HTTP 101",
    ("oversized-headers", "daphne"): "daphne (Twisted) closes the connection of a request with "
    "64 KiB of headers without an HTTP answer",
    ("message-too-big", "daphne"): "daphne (autobahn) fails a connection whose message is over "
    "--websocket-max-message-size by dropping the TCP connection, without the 1009 close frame "
    "it logs (the client sees 1006)",
    ("ping-timeout", "daphne"): "daphne (autobahn) ends a connection whose pong is late "
    "(--ping-timeout) by resetting the TCP connection, without a 1011 close frame",
    ("shutdown", "daphne"): "daphne drops every WebSocket's TCP connection on a graceful "
    "shutdown, without a close frame (the client sees 1006)",
}

TEST_GAPS: dict[tuple[str, str], tuple[str, str]] = {  # (test, label): (rule, what it does)
    **{(test, "granian"): (rule, GRANIAN_EMPTY_CLOSE) for test, rule in (
        ("test_5_2_a_reserved_bit_fails_the_connection_with_1002", "rfc6455.reserved-bits"),
        ("test_5_2_a_reserved_opcode_fails_the_connection_with_1002", "rfc6455.reserved-opcode"),
        ("test_5_1_an_unmasked_client_frame_fails_the_connection_with_1002",
         "rfc6455.unmasked-frame"),
        ("test_5_5_a_control_frame_over_125_bytes_fails_the_connection_with_1002",
         "rfc6455.control-too-long"),
        ("test_5_5_a_fragmented_control_frame_fails_the_connection_with_1002",
         "rfc6455.control-fragmented"),
        ("test_5_4_a_continuation_with_no_message_started_fails_the_connection_with_1002",
         "rfc6455.continuation-without-start"),
        ("test_5_4_a_new_data_frame_inside_a_fragmented_message_fails_the_connection_with_1002",
         "rfc6455.data-inside-fragmented"),
        ("test_5_5_1_a_close_frame_with_a_one_byte_body_fails_the_connection_with_1002",
         "rfc6455.close-invalid-code"),
        ("test_8_1_a_close_reason_that_is_not_utf8_fails_the_connection",
         "rfc6455.close-invalid-reason"),
        ("test_8_1_invalid_utf8_anywhere_fails_the_connection_with_1007", "rfc6455.utf8-invalid"),
    )},
    ("test_a_stalled_member_is_closed_and_the_room_goes_on_wire", "daphne"): (
        "chat.stall-close", "daphne's send never waits for a client that reads nothing "
        "(Twisted buffers every frame: 256 MiB in 3 s, measured), so the app never sees the "
        "stall it must close with 1013"),
}
SENDS_NO_EMPTY_MESSAGE = {"daphne"}  # DAPHNE_EMPTY_MESSAGE: Autobahn 1.1.1 and 1.2.1 pin it
MAX_FRAME_BYTES = {"daphne": 2**20}  # DAPHNE_FRAME_SIZE: Autobahn 9.1.4-9.4.9 pin it

AUTOBAHN_GAPS: dict[tuple[str, str], str] = {  # (Autobahn case, target label): what it does
    ("7.1.5", UVICORN["websockets-sansio"]): CLOSE_INSIDE_MESSAGE,
    ("9.3.1", UVICORN["websockets"]): LEGACY_FRAGMENTS,
    ("9.3.2", UVICORN["websockets"]): LEGACY_FRAGMENTS,
    ("9.4.1", UVICORN["websockets"]): LEGACY_FRAGMENTS,
    ("9.4.2", UVICORN["websockets"]): LEGACY_FRAGMENTS,
    **{(case, "daphne"): DAPHNE_EMPTY_MESSAGE for case in ("1.1.1", "1.2.1", "6.1.1", "6.1.2",
                                                           "9.7.1", "9.8.1")},
    **{(case, "daphne"): DAPHNE_FRAME_SIZE for case in ("9.1.4", "9.1.5", "9.1.6", "9.2.4",
                                                        "9.2.5", "9.2.6", "9.3.9", "9.4.9")},
}


def expect_server_gap(request: pytest.FixtureRequest, wire: WireTarget, check: str,
                      rule: str) -> None:
    """With --app, expect this check to break its rule where the server itself gets it wrong."""
    reason = GAPS.get((check, wire.label))  # never under --url, whose label is "url"
    if reason is not None:
        request.applymarker(pytest.mark.xfail(
            reason=f"{rule} broken by {server_label(wire)}: {reason}", strict=True,
            raises=SpecMismatch))


def expect_test_gap(item: pytest.Item, wire: WireTarget) -> None:
    """Mark a check the server serving --app is known to fail as a whole (TEST_GAPS)."""
    gap = TEST_GAPS.get((getattr(item, "originalname", item.name), wire.label))
    if gap is not None:
        rule, reason = gap
        item.add_marker(pytest.mark.xfail(reason=f"{rule} broken by {server_label(wire)}: "
                                          f"{reason}", strict=True, raises=SpecMismatch))


def assume_within_limits(wire: WireTarget, messages: Sequence[str | bytes],
                         frames: Sequence[WireFrame] = ()) -> None:
    """Leave out (Hypothesis's assume) an example the server serving --app cannot take, for a
    gap pinned elsewhere (Autobahn's cases): an empty message where it never sends one, a frame
    over its frame size limit. The rest of the check still runs there."""
    assume(wire.label not in SENDS_NO_EMPTY_MESSAGE or all(messages))
    limit = MAX_FRAME_BYTES.get(wire.label)
    assume(limit is None or all(len(frame.payload) <= limit for frame in frames))


def server_label(wire: WireTarget) -> str:
    """The server with its version: `uvicorn 0.54.0 --ws wsproto`, `granian 2.8.9`."""
    return describe(wire.server, wire.ws) if wire.server is not None else wire.label


def autobahn_gaps(wire: WireTarget, cases: list[str]) -> dict[str, str]:
    """The cases among these that the server serving --app is known to fail (none under
    --url)."""
    return {case: AUTOBAHN_GAPS[case, wire.label] for case in cases
            if (case, wire.label) in AUTOBAHN_GAPS}
