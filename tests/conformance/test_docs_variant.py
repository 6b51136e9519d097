"""The documented code against the suite: it keeps the contract, and a scale property finds
its broadcast race (clients leaving during a broadcast make others miss `left the chat`)."""

from tests.conformance.suite import rules_named, run_suite

DOCS_APP = "target_app.docs:app"


def test_the_docs_variant_passes_the_contract() -> None:
    result = run_suite("--app", DOCS_APP, "-m", "contract", "--hypothesis-profile", "smoke")
    assert result.returncode == 0, result.stdout[-3000:]


def test_finding_the_docs_variant_loses_left_the_chat_in_a_wave_of_departures() -> None:
    result = run_suite("--app", DOCS_APP, "-m", "scale", "-k", "departures", timeout_scale="0.5")
    assert result.returncode == 1, result.stdout[-3000:]
    assert rules_named(result.stdout) == {"chat.left"}, result.stdout[-3000:]
    assert "left at once" in result.stdout
