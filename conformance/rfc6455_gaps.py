"""What uvicorn's WebSocket implementations themselves get wrong in the protocol and autobahn
groups: failures of the server the suite starts for --app, whatever the app, since they
happen in the framing, before any app code runs.

There the suite expects them (an expected failure, with what the implementation does as the
reason, shown by -ra), so that the run judges the app; an implementation that fixes one fails
the run until this list is updated. Against --url they are ordinary failures.

Measured with uvicorn 0.54.0, websockets 17.4 and wsproto 1.3.2.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from conformance.mismatch import SpecMismatch
from conformance.targets import WireTarget

LEGACY_FRAGMENTS = ("websockets' legacy implementation refuses a message of more than 4096 "
                    "fragments (WEBSOCKETS_MAX_FRAGMENTS) with 1009, whatever its size: this "
                    "case sends 4 MiB in fragments of 64 or 256 bytes")

CLOSE_INSIDE_MESSAGE = ("websockets answers a close frame that comes between the fragments of a "
                        "message with 1002 (protocol error) instead of a normal close; websockets "
                        "documents this (Autobahn case 7.1.5) as a known failure")

PROTOCOL_GAPS: dict[tuple[str, str], str] = {  # (check, ws impl): what uvicorn does
    ("close-inside-message", "websockets-sansio"): CLOSE_INSIDE_MESSAGE,
    ("close-1014", "wsproto"): "wsproto 1.3.2 does not know 1014 (bad gateway), registered "
    "with IANA after RFC 6455: it takes the close frame for a protocol error and drops the "
    "TCP connection without a close frame",
}

AUTOBAHN_GAPS: dict[tuple[str, str], str] = {  # (case, ws impl): what uvicorn does
    ("7.1.5", "websockets-sansio"): CLOSE_INSIDE_MESSAGE,
    ("9.3.1", "websockets"): LEGACY_FRAGMENTS,
    ("9.3.2", "websockets"): LEGACY_FRAGMENTS,
    ("9.4.1", "websockets"): LEGACY_FRAGMENTS,
    ("9.4.2", "websockets"): LEGACY_FRAGMENTS,
}


def uvicorn_label(wire: WireTarget) -> str:
    return f"uvicorn {version('uvicorn')} --ws {wire.label}"


def expect_protocol_gap(request: pytest.FixtureRequest, wire: WireTarget, check: str,
                        rule: str) -> None:
    """With --app, expect this check to break its rule where uvicorn itself gets it wrong."""
    reason = PROTOCOL_GAPS.get((check, wire.label))  # the label is "url" under --url
    if reason is not None:
        request.applymarker(pytest.mark.xfail(
            reason=f"{rule} broken by {uvicorn_label(wire)}: {reason}", strict=True,
            raises=SpecMismatch))


def autobahn_gaps(wire: WireTarget, cases: list[str]) -> dict[str, str]:
    """The cases among these that uvicorn's implementation serving --app is known to fail."""
    return {case: AUTOBAHN_GAPS[case, wire.label] for case in cases
            if (case, wire.label) in AUTOBAHN_GAPS}
