"""The delivery properties (marker scale) pass a flow-controlled room of our own and fail each
app that loses messages or closes a reader, naming the rule it breaks."""

import pytest

from tests.conformance.suite import rules_named, run_suite

DELIVERY_CHECKS = "delivery or long_connection"
STALL_S = ("--stall-s", "1")
BROKEN = [  # (app under tests.conformance, tests selected with -k, the rules it breaks)
    ("delivery_apps:drops_one_in_100", "burst_reaches or long_connection",
     {"chat.no-loss", "echo.long-connection"}),
    ("delivery_apps:closes_busy_reader", "burst_reaches or stalled",
     {"chat.no-loss", "chat.stall-close"}),
    ("broken_apps:left_duplicated", "drops", {"chat.left"}),
]


def test_a_flow_controlled_room_of_our_own_keeps_the_delivery_rules() -> None:
    """The control: bursts, a stalled member, drops and long connections all pass."""
    result = run_suite("--app", "tests.conformance.delivery_apps:delivering", "-m", "scale",
                       "-k", DELIVERY_CHECKS, *STALL_S)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize(("app", "selection", "rules"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_delivery_properties_fail_an_app_that_breaks_them(app: str, selection: str,
                                                              rules: set[str]) -> None:
    result = run_suite("--app", f"tests.conformance.{app}", "-m", "scale", "-k", selection,
                       *STALL_S, "--hypothesis-profile", "smoke", timeout_scale="0.5")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert rules_named(result.stdout) == rules, result.stdout[-3000:]
    assert "sent:" in result.stdout
