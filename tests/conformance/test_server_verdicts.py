"""The servers' verdicts on the default variant, run as users do (`--server all`): every check
the app answers for passes under every server, and what a server gets wrong itself is expected
(a strict xfail naming the server) or, where the server cannot be told the setting a check
tests, skipped naming it. The checks run are the hardening group's that judge the server: the
opening handshakes and the limits (size, pings, shutdown); the protocol group's pins are
exercised by `--server all -m protocol`.
"""

import re

from tests.conformance.suite import run_suite
from wsharness.servers import label

UVICORN = label("uvicorn")
SERVER_GAPS = {  # measured with uvicorn 0.54.0, hypercorn 0.18.0, granian 2.8.9, daphne 4.2.3
    UVICORN: {"hardening.slow-handshake", "hardening.handshake-version",
              "hardening.handshake-headers"},
    "hypercorn": {"hardening.handshake-key", "hardening.handshake-version", "hardening.shutdown"},
    "granian": {"hardening.slow-handshake", "hardening.handshake-key",
                "hardening.handshake-version", "hardening.handshake-method",
                "hardening.handshake-headers", "hardening.shutdown"},
    "daphne": {"hardening.slow-handshake", "hardening.handshake-version",
               "hardening.handshake-headers", "hardening.message-too-big",
               "hardening.ping-timeout", "hardening.shutdown"},
}
SKIPPED = {  # the settings a server has no equivalent of, so the check cannot be set up
    "hypercorn 0.18.0: hypercorn has no equivalent of uvicorn's ws_ping_timeout",
    "granian 2.8.9 has no equivalent of uvicorn's ws_max_size: the suite cannot set what this "
    "check tests",
    "granian 2.8.9: granian has no equivalent of uvicorn's ws_ping_interval, ws_ping_timeout",
}
XFAILED = re.compile(r"^XFAIL \S+ - ([\w.-]+) broken by (\w+) [\w.]+(?: --ws ([\w-]+))?:",
                     re.MULTILINE)
SKIP_REASON = re.compile(r"^SKIPPED \[\d+\] \S+: (.+)$", re.MULTILINE)
SERVER_CHECKS = ("-m", "hardening", "-k", "handshake or size_limit or pings or shutdown",
                 "--hypothesis-profile", "smoke", "--handshake-timeout-s", "7")


def xfailed_by_server(output: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule, server, ws in XFAILED.findall(output):
        found.setdefault(label(server, ws or None), set()).add(rule)
    return found


def test_each_server_keeps_every_rule_but_its_own_gaps() -> None:
    result = run_suite("--server", "all", *SERVER_CHECKS, "-vv")  # -q -vv: one line a test
    assert result.returncode == 0, result.stdout[-3000:]
    assert xfailed_by_server(result.stdout) == SERVER_GAPS, result.stdout[-5000:]
    assert set(SKIP_REASON.findall(result.stdout)) == SKIPPED, result.stdout[-3000:]
    for target in ("uvicorn-websockets-sansio", "hypercorn", "granian", "daphne"):
        assert f"test_a_graceful_shutdown_closes_every_client_with_1012_wire[wire-{target}]" \
            in result.stdout
