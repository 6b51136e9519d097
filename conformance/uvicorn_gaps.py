"""What uvicorn itself gets wrong in the hardening group: failures of the server the suite
starts for --app, whatever the app, since they happen before any app code runs.

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
}


def expect_uvicorn_gap(request: pytest.FixtureRequest, wire: WireTarget, check: str,
                       rule: str) -> None:
    """With --app, expect this check to break its rule where uvicorn itself gets it wrong."""
    reason = GAPS.get((check, wire.label))  # the label is the ws impl, or "url" under --url
    if reason is not None:
        request.applymarker(pytest.mark.xfail(
            reason=f"{rule} broken by uvicorn {version('uvicorn')} --ws {wire.label}: {reason}",
            strict=True, raises=SpecMismatch))
