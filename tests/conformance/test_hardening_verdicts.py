"""The hardening group's verdicts on the two variants of the reference app, run as users do.

The rules fall in two kinds:
- the app's: the docs variant breaks exactly those of its known defects (binary data, no Origin
  check, normal closes logged as exceptions, departures lost when clients leave during a
  broadcast), and the default variant keeps them all;
- the server's (opening handshakes), judged before any app code runs: uvicorn breaks some
  of them itself, which ones depending on its WebSocket implementation. With --app the suite
  expects those failures (strict xfail), for both variants alike.
"""

import re

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
UVICORN_GAPS = {  # measured with uvicorn 0.54.0, websockets 17.4, wsproto 1.3.2
    "websockets-sansio": {"hardening.slow-handshake", "hardening.handshake-version",
                          "hardening.handshake-headers"},
    "websockets": {"hardening.slow-handshake", "hardening.handshake-version"},
    "wsproto": {"hardening.slow-handshake", "hardening.handshake-key",
                "hardening.handshake-headers"},
}
XFAILED_RULE = re.compile(r"^XFAIL \S+ - ([\w.-]+) broken by uvicorn ", re.MULTILINE)
QUICK = ("-m", "hardening", "--hypothesis-profile", "smoke", "--handshake-timeout-s", "3")


def xfailed_rules(output: str) -> set[str]:
    return set(XFAILED_RULE.findall(output))


def test_the_default_variant_keeps_every_rule_but_uvicorns_own() -> None:
    result = run_suite(*QUICK)
    assert result.returncode == 0, result.stdout[-3000:]
    assert rules_named(result.stdout) == set(), result.stdout[-3000:]
    assert xfailed_rules(result.stdout) == UVICORN_GAPS["websockets-sansio"], result.stdout
    assert "15 passed, 54 deselected, 3 xfailed" in result.stdout, result.stdout[-500:]


def test_the_docs_variant_breaks_exactly_its_known_defects() -> None:
    result = run_suite("--app", DOCS_APP, *QUICK)
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == DOCS_DEFECTS, result.stdout[-3000:]
    assert xfailed_rules(result.stdout) == UVICORN_GAPS["websockets-sansio"], result.stdout
    assert "7 failed, 8 passed, 54 deselected, 3 xfailed" in result.stdout, \
        result.stdout[-500:]


@pytest.mark.parametrize("impl", ["websockets", "wsproto"])
def test_uvicorns_gaps_depend_on_its_websocket_implementation(impl: str) -> None:
    result = run_suite("--ws-impl", impl, *QUICK, "-k", "handshake")
    assert result.returncode == 0, result.stdout[-3000:]
    assert xfailed_rules(result.stdout) == UVICORN_GAPS[impl], result.stdout
