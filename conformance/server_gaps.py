"""What uvicorn itself gets wrong in the hardening, protocol and autobahn groups: failures of
the server the suite starts for --app, whatever the app, since they happen before any app code
runs (in the handshake, or in the WebSocket implementation's framing).

There the suite expects them: the check runs and must fail with its rule (a strict xfail, its
reason shown by -ra), so that the run judges the app, and a uvicorn that fixes one of them
fails the run until this list is updated. Against --url they are ordinary failures.

Measured with uvicorn 0.54.0 (httptools), websockets 17.4 and wsproto 1.3.2.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from conformance.mismatch import SpecMismatch
from conformance.targets import WireTarget
from wsharness.serve import WS_IMPLS

WEBSOCKETS_VERSION_ANSWER = ("websockets answers a wrong Sec-WebSocket-Version with 400 and no "
                             "Sec-WebSocket-Version header (RFC 6455 4.2.2 requires one)")

CLOSE_INSIDE_MESSAGE = ("websockets answers a close frame that comes between the fragments of a "
                        "message with 1002 (protocol error) instead of a normal close; websockets "
                        "documents this (Autobahn case 7.1.5) as a known failure")
LEGACY_FRAGMENTS = ("websockets' legacy implementation refuses a message of more than 4096 "
                    "fragments (WEBSOCKETS_MAX_FRAGMENTS) with 1009, whatever its size: this "
                    "case sends 4 MiB in fragments of 64 or 256 bytes")

GAPS: dict[tuple[str, str], str] = {  # (check, ws impl): what uvicorn does
    **{("slow-handshake", impl): "no timer runs before a request's headers are complete (the "
       "keep-alive timeout starts after a response): an unfinished handshake is kept for ever"
       for impl in WS_IMPLS},
    ("wrong-version", "websockets-sansio"): WEBSOCKETS_VERSION_ANSWER,
    ("wrong-version", "websockets"): WEBSOCKETS_VERSION_ANSWER,
    ("oversized-headers", "websockets-sansio"): "websockets' parser answers 431, but uvicorn "
    "writes out the parser's output only along with an event: nothing is sent and the "
    "connection hangs",
    ("oversized-headers", "wsproto"): "httptools has no header size limit and wsproto accepts "
    "any: HTTP 101",
    ("bad-key", "wsproto"): "wsproto accepts any Sec-WebSocket-Key: HTTP 101",
    ("close-inside-message", "websockets-sansio"): CLOSE_INSIDE_MESSAGE,
    ("close-1014", "wsproto"): "wsproto 1.3.2 does not know 1014 (bad gateway), registered "
    "with IANA after RFC 6455: it takes the close frame for a protocol error and drops the "
    "TCP connection without a close frame",
}

AUTOBAHN_GAPS: dict[tuple[str, str], str] = {  # (Autobahn case, ws impl): what uvicorn does
    ("7.1.5", "websockets-sansio"): CLOSE_INSIDE_MESSAGE,
    ("9.3.1", "websockets"): LEGACY_FRAGMENTS,
    ("9.3.2", "websockets"): LEGACY_FRAGMENTS,
    ("9.4.1", "websockets"): LEGACY_FRAGMENTS,
    ("9.4.2", "websockets"): LEGACY_FRAGMENTS,
}


def expect_uvicorn_gap(request: pytest.FixtureRequest, wire: WireTarget, check: str,
                       rule: str) -> None:
    """With --app, expect this check to break its rule where uvicorn itself gets it wrong."""
    reason = GAPS.get((check, wire.label))  # the label is the ws impl, or "url" under --url
    if reason is not None:
        request.applymarker(pytest.mark.xfail(
            reason=f"{rule} broken by {uvicorn_label(wire)}: {reason}", strict=True,
            raises=SpecMismatch))


def uvicorn_label(wire: WireTarget) -> str:
    return f"uvicorn {version('uvicorn')} --ws {wire.label}"


def autobahn_gaps(wire: WireTarget, cases: list[str]) -> dict[str, str]:
    """The cases among these that uvicorn's implementation serving --app is known to fail
    (none under --url, whose label is "url")."""
    return {case: AUTOBAHN_GAPS[case, wire.label] for case in cases
            if (case, wire.label) in AUTOBAHN_GAPS}
