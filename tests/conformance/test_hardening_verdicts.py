"""The hardening group's verdicts on the two variants of the reference app, run as users do.

The rules fall in two kinds:
- the app's: the docs variant breaks exactly those of its known defects (binary data, no Origin
  check, normal closes logged as exceptions, departures lost when clients leave during a
  broadcast), and the default variant keeps them all;
- the server's (opening handshakes): judged on uvicorn itself, before any app code runs, so
  both variants get the same verdict. Measured with uvicorn 0.54.0 (httptools), websockets
  17.4 and wsproto 1.3.2, uvicorn breaks some of them, and which depends on the WebSocket
  implementation (see UVICORN_GAPS).
"""

import pytest

from tests.conformance.suite import rules_named, run_suite

DOCS_APP = "target_app.docs:app"
DOCS_DEFECTS = {
    "hardening.binary-close",  # a binary frame raises in every handler: TCP closed, no frame
    "hardening.binary-room",  # ... and the dead chat socket stays in the room
    "hardening.cross-site",  # cookie authentication without an Origin check
    "hardening.close-logged",  # WebSocketDisconnect escapes the /ws and /items handlers
    "hardening.churn-departures",  # a send to a closed member ends the broadcast
}
UVICORN_GAPS = {
    # No timer bounds the first request: uvicorn arms its keep-alive timeout only after a
    # response, under httptools and h11 alike.
    # websockets' ServerProtocol answers a wrong Sec-WebSocket-Version with 400 and no
    # Sec-WebSocket-Version header (RFC 6455 4.2.2 requires it).
    # websockets' parser turns a 64 KiB header line into a 431, but uvicorn's sansio protocol
    # writes out the parser's output only when an event arrives: the 431 is never sent and the
    # connection hangs.
    "websockets-sansio": {"hardening.slow-handshake", "hardening.handshake-version",
                          "hardening.handshake-headers"},
    # The legacy implementation: the same two answers from websockets, but it reads the
    # request itself and answers oversized headers with 400.
    "websockets": {"hardening.slow-handshake", "hardening.handshake-version"},
    # wsproto answers a wrong version with 426 and Sec-WebSocket-Version: 13, but accepts any
    # Sec-WebSocket-Key (9 bytes in base64 too) and any header size (httptools has no limit).
    "wsproto": {"hardening.slow-handshake", "hardening.handshake-key",
                "hardening.handshake-headers"},
}
QUICK = ("-m", "hardening", "--hypothesis-profile", "smoke", "--handshake-timeout-s", "3")


def test_the_default_variant_breaks_no_rule_of_the_app_only_uvicorns() -> None:
    result = run_suite(*QUICK)
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == UVICORN_GAPS["websockets-sansio"], result.stdout[-3000:]
    assert " 15 passed" in result.stdout, result.stdout[-500:]


def test_the_docs_variant_breaks_exactly_its_known_defects_and_uvicorns() -> None:
    result = run_suite("--app", DOCS_APP, *QUICK)
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == DOCS_DEFECTS | UVICORN_GAPS["websockets-sansio"], \
        result.stdout[-3000:]
    assert " 8 passed" in result.stdout, result.stdout[-500:]


@pytest.mark.parametrize("impl", ["websockets", "wsproto"])
def test_the_handshake_verdicts_depend_on_uvicorns_websocket_implementation(impl: str) -> None:
    result = run_suite("--ws-impl", impl, *QUICK, "-k", "handshake")
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == UVICORN_GAPS[impl], result.stdout[-3000:]
