"""The suite fails every app that breaks a rule of PROTOCOL.md, and names that rule."""

import pytest

from tests.conformance.suite import rules_named, run_suite

BROKEN = [  # (app in broken_apps, tests selected with -k, the rule it breaks)
    ("echo_wrong_text", "one_reply_per_message", "echo.reply"),
    ("echo_extra_reply", "one_reply_per_message", "echo.reply"),
    ("echo_crosstalk", "concurrent_connections", "echo.isolation"),
    ("echo_reordered", "keep_order", "echo.order"),
    ("accepts_without_credentials", "refused_without_credentials",
     "items.refuse-without-credentials"),
    ("token_wins", "cookie_wins", "items.cookie-wins"),
    ("accepts_non_int_q", "non_int_q", "items.refuse-non-int-q"),
    ("q_reply_missing", "int_q", "items.q-int"),
    ("accepts_non_int_client_id", "non_int_client_id", "chat.refuse-non-int-id"),
    ("broadcast_before_personal_reply", "chat_room", "chat.personal-reply"),
    ("broadcast_skips_sender", "chat_room", "chat.broadcast"),
    ("chat_reordered", "chat_room", "chat.order"),
    ("left_missing", "chat_room", "chat.left"),
    ("left_duplicated", "chat_room", "chat.left"),
]
SMOKE = ("-m", "contract", "--hypothesis-profile", "smoke")


@pytest.mark.parametrize(("app", "selection", "rule"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_suite_fails_a_broken_app_naming_its_rule(app: str, selection: str,
                                                      rule: str) -> None:
    result = run_suite("--app", f"tests.conformance.broken_apps:{app}", "-k", selection, *SMOKE,
                       timeout_scale="0.5")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert rules_named(result.stdout) == {rule}, result.stdout[-3000:]
    assert "sent:" in result.stdout
    assert "expected:" in result.stdout
    assert "arrived:" in result.stdout


def test_a_conforming_app_of_our_own_passes_the_contract() -> None:
    """The control: the same app without a flaw passes, so each failure above is its flaw's."""
    result = run_suite("--app", "tests.conformance.broken_apps:conforming", *SMOKE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


def test_a_failure_shows_hypothesis_minimal_example() -> None:
    result = run_suite("--app", "tests.conformance.broken_apps:echo_wrong_text", "-m",
                       "contract", "-k", "one_reply_per_message")
    assert result.returncode == 1
    assert "rule: echo.reply (" in result.stdout
    assert "Falsifying" in result.stdout or "Failing" in result.stdout
