"""The servers' verdicts on the default variant, run as users do (`--server all`): every check
the app answers for passes under every server, and what a server gets wrong itself is expected
(a strict xfail naming the server) or, where the server cannot be told the setting a check
tests, skipped naming it. The checks run are the hardening group's that judge the server: the
opening handshakes and the limits (size, pings, shutdown), and daphne's scale gap (a stalled
chat member is never noticed), which no group CI runs would reach otherwise; the protocol
group's pins are exercised by `--server all -m protocol`.

Server versions are left out of what is compared (`granian 2.8.9` is `granian`): the pins say
what each server does, and the gaps' own list says with which version it was measured.
"""

import re

from tests.conformance.suite import rules_named, run_suite
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
CANNOT_SET = "the suite cannot set what this check tests"
SKIPPED = {  # the settings a server has no equivalent of, so the check cannot be set up
    f"hypercorn: hypercorn has no equivalent of uvicorn's ws_ping_timeout: {CANNOT_SET}",
    f"granian: granian has no equivalent of uvicorn's ws_max_size: {CANNOT_SET}",
    f"granian: granian has no equivalent of uvicorn's ws_ping_interval, ws_ping_timeout: "
    f"{CANNOT_SET}",
}
XFAILED = re.compile(r"^XFAIL \S+ - ([\w.-]+) broken by (\w+) [\w.]+(?: --ws ([\w-]+))?:",
                     re.MULTILINE)
SKIP_REASON = re.compile(r"^SKIPPED \[\d+\] \S+: (.+)$", re.MULTILINE)
SERVER_VERSION = re.compile(r"^(\w+) \d[\w.]*(?= --ws |:)")  # `granian 2.8.9: ...` -> `granian`
SERVER_CHECKS = ("-m", "hardening", "-k", "handshake or size_limit or pings or shutdown",
                 "--hypothesis-profile", "smoke", "--handshake-timeout-s", "7")


def xfailed_by_server(output: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule, server, ws in XFAILED.findall(output):
        found.setdefault(label(server, ws or None), set()).add(rule)
    return found


def skip_reasons(output: str) -> set[str]:
    """The reasons checks were skipped for, without the servers' versions."""
    return {SERVER_VERSION.sub(r"\1", reason) for reason in SKIP_REASON.findall(output)}


def test_each_server_keeps_every_rule_but_its_own_gaps() -> None:
    result = run_suite("--server", "all", *SERVER_CHECKS, "-vv")  # -q -vv: one line a test
    assert result.returncode == 0, result.stdout[-3000:]
    assert xfailed_by_server(result.stdout) == SERVER_GAPS, result.stdout[-5000:]
    assert skip_reasons(result.stdout) == SKIPPED, result.stdout[-3000:]
    for target in ("uvicorn-websockets-sansio", "hypercorn", "granian", "daphne"):
        assert f"test_a_graceful_shutdown_closes_every_client_with_1012_wire[wire-{target}]" \
            in result.stdout


def test_daphne_never_lets_the_app_see_a_stalled_member() -> None:
    """The scale group's one server gap, pinned here: --stall-s 1 keeps it short."""
    result = run_suite("--server", "daphne", "-m", "scale", "-k", "stalled_member",
                       "--stall-s", "1", "-rx")
    assert result.returncode == 0, result.stdout[-3000:]
    assert xfailed_by_server(result.stdout) == {"daphne": {"chat.stall-close"}}, \
        result.stdout[-3000:]


def test_daphnes_late_log_still_shows_the_docs_variants_disconnect_tracebacks() -> None:
    """daphne logs an app's exception from a checker that runs once a second: the check waits
    for it before stopping the server, so the docs variant's defect is found there too."""
    result = run_suite("--app", "target_app.docs:app", "--server", "daphne", "-m", "hardening",
                       "-k", "normal_close")
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == {"hardening.close-logged"}, result.stdout[-3000:]
