"""The protocol group fails an echo server of our own that breaks one RFC 6455 rule, naming that
rule, and passes the same server without the flaw (tests/conformance/broken_framing_server.py)."""

from __future__ import annotations

import pytest

from tests.conformance.broken_framing_server import DROPS, FLAWS, framing_server
from tests.conformance.suite import rules_named, run_suite

SELECTION = {  # the rule's property, selected with -k
    "rfc6455.fragmentation": "any_split",
    "rfc6455.ping-between-fragments": "pings_between_fragments",
    "rfc6455.utf8-invalid": "invalid_utf8_anywhere",
    "rfc6455.utf8-valid": "valid_utf8_split",
    "rfc6455.reserved-bits": "reserved_bit",
    "rfc6455.reserved-opcode": "reserved_opcode",
    "rfc6455.unmasked-frame": "unmasked",
    "rfc6455.control-too-long": "over_125_bytes",
    "rfc6455.control-fragmented": "fragmented_control",
    "rfc6455.continuation-without-start": "continuation_with_no_message",
    "rfc6455.data-inside-fragmented": "new_data_frame_inside",
    "rfc6455.ping-pong": "ping_is_answered",
    "rfc6455.unsolicited-pong": "unsolicited_pong",
    "rfc6455.close-reply": "valid_close_code",
    "rfc6455.close-invalid-code": "invalid_close_code",
    "rfc6455.close-invalid-reason": "not_utf8",
    "rfc6455.nothing-after-close": "nothing_comes_after",
}
SMOKE = ("-m", "protocol", "--hypothesis-profile", "smoke")


@pytest.mark.parametrize(("flaw", "rule"), list(FLAWS.items()), ids=list(FLAWS))
def test_the_protocol_group_fails_a_broken_server_naming_its_rule(flaw: str, rule: str) -> None:
    with framing_server(flaw) as url:
        result = run_suite("--url", url, "--raw-path", "/echo", "-k", SELECTION[rule], *SMOKE,
                           timeout_scale="0.5")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert rules_named(result.stdout) == {rule}, result.stdout[-3000:]
    for line in ("sent:     ws://", "expected: ", "arrived:  "):
        assert line in result.stdout, result.stdout[-3000:]


def test_every_rule_of_the_group_has_a_broken_server() -> None:
    from conformance.rfc6455_rules import RFC6455_RULES

    assert set(FLAWS.values()) == set(RFC6455_RULES) == set(SELECTION)


def test_the_same_server_without_a_flaw_passes_the_protocol_group() -> None:
    """The control: each failure above is its flaw's."""
    with framing_server() as url:
        result = run_suite("--url", url, "--raw-path", "/echo", *SMOKE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


def test_a_failure_shows_the_frames_and_hypothesis_minimal_example() -> None:
    with framing_server("first-fragment-only") as url:
        result = run_suite("--url", url, "-m", "protocol", "-k", "any_split")
    assert result.returncode == 1
    assert "rule: rfc6455.fragmentation (" in result.stdout
    assert "sent:     " + url in result.stdout
    assert "CONT (" in result.stdout  # the fragments sent, frame by frame
    assert "Falsifying" in result.stdout or "Failing" in result.stdout


def test_a_dropped_connection_fails_it_unless_a_close_frame_is_required() -> None:
    """RFC 6455 7.1.7: the close frame that fails a connection is a SHOULD."""
    selection = ("-k", "reserved_bit or unmasked")
    with framing_server(DROPS) as url:
        lenient = run_suite("--url", url, *selection, *SMOKE)
        strict = run_suite("--url", url, *selection, *SMOKE, "--require-close-frame")
    assert lenient.returncode == 0, lenient.stdout[-3000:]
    assert strict.returncode == 1, strict.stdout[-3000:]
    assert rules_named(strict.stdout) == {"rfc6455.reserved-bits", "rfc6455.unmasked-frame"}
    assert "dropped without a close frame (--require-close-frame)" in strict.stdout
