"""Comparison verdicts on constructed results, and the thresholds file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.compare import Check, compare, comparison_markdown
from reports.results import Metric, Results
from reports.thresholds import (
    DEFAULTS,
    Relative,
    ThresholdsError,
    load_thresholds,
    thresholds_from,
)
from tests.reports import factory

SAMPLES = 5000


def echo_run(median_us: float, *, seed: int = 1, errors: int = 0, count: int = SAMPLES,
             duration_s: float = 10.0, shift_us: int = 0) -> Results:
    samples = [v + shift_us for v in factory.latencies_us(median_us, count, seed=seed)]
    return factory.results(metrics={"echo rtt": factory.metric("rtt", samples, errors)},
                           duration_s=duration_s)


def verdicts(baseline: Results, current: Results) -> dict[str, str]:
    return {c.stat: c.verdict for c in compare(baseline, current, DEFAULTS).checks}


def only(checks: tuple[Check, ...], stat: str) -> Check:
    return next(c for c in checks if c.stat == stat)


def test_two_samples_of_the_same_distribution_do_not_regress() -> None:
    result = compare(echo_run(400, seed=1), echo_run(400, seed=2), DEFAULTS)
    assert result.regressions == []
    assert {c.verdict for c in result.checks} == {"ok"}


def test_replies_a_few_milliseconds_slower_regress() -> None:
    result = compare(echo_run(400), echo_run(400, seed=2, shift_us=4000), DEFAULTS)
    assert [c.stat for c in result.regressions] == ["p50"]


def test_a_fraction_of_a_millisecond_on_a_fast_server_is_within_the_slack() -> None:
    assert verdicts(echo_run(300), echo_run(300, seed=2, shift_us=300))["p50"] == "ok"


def test_a_relative_slowdown_of_a_slow_metric_regresses() -> None:
    slower = verdicts(echo_run(20_000), echo_run(20_000, seed=2, shift_us=15_000))
    a_little_slower = verdicts(echo_run(20_000), echo_run(20_000, seed=2, shift_us=5_000))
    assert slower["p50"] == "regression"
    assert a_little_slower["p50"] == "ok"


def test_a_faster_run_is_an_improvement() -> None:
    assert verdicts(echo_run(4000), echo_run(400, seed=2))["p50"] == "improved"


def test_errors_regress_by_share_and_by_absolute_limit() -> None:
    check = only(compare(echo_run(400), echo_run(400, errors=100), DEFAULTS).checks,
                 "error_share")
    assert check.verdict == "regression"
    assert check.current == pytest.approx(100 / (SAMPLES + 100))


def test_a_throughput_drop_regresses() -> None:
    result = compare(echo_run(400), echo_run(400, duration_s=20.0), DEFAULTS)
    assert only(result.checks, "throughput").verdict == "regression"


def test_tail_percentiles_of_few_samples_are_skipped() -> None:
    result = compare(echo_run(400, count=200), echo_run(400, count=200, shift_us=50_000), DEFAULTS)
    assert only(result.checks, "p99").verdict == "skipped"
    assert only(result.checks, "p50").verdict == "regression"


def test_a_metric_missing_from_the_current_run_regresses() -> None:
    current = echo_run(400)
    current["metrics"] = {"other rtt": current["metrics"]["echo rtt"]}
    result = compare(echo_run(400), current, DEFAULTS)
    missing = next(c for c in result.checks if c.metric == "echo rtt")
    assert missing.verdict == "regression"
    assert {c.verdict for c in result.checks if c.metric == "other rtt"} <= {"new", "skipped"}


def test_connect_times_have_their_own_looser_defaults() -> None:
    connect = DEFAULTS.for_metric("connect /ws", "connect")
    assert connect.relative["p50"].slack > DEFAULTS.default.relative["p50"].slack
    assert connect.relative["error_share"] == DEFAULTS.default.relative["error_share"]


def test_a_metric_without_samples_in_the_current_run_regresses() -> None:
    empty: Metric = factory.metric("rtt", [], errors=0)
    current = factory.results(metrics={"echo rtt": empty})
    result = compare(echo_run(400), current, DEFAULTS)
    assert only(result.checks, "samples").verdict == "regression"


def test_an_absolute_limit_fails_a_run_whatever_the_baseline() -> None:
    thresholds = thresholds_from({"absolute": {"p99": 0.5}})
    result = compare(echo_run(400), echo_run(400, seed=2), thresholds)
    assert only(result.checks, "p99").verdict == "regression"
    assert "absolute" in only(result.checks, "p99").note


def test_the_markdown_table_lists_every_check_and_the_verdict() -> None:
    result = compare(echo_run(400), echo_run(400, seed=2, shift_us=4000), DEFAULTS)
    text = comparison_markdown(result, "base", "cur")
    assert text.count("**REGRESSION**") == 2 * len(result.regressions)
    assert f"{len(result.regressions)} regression(s)" in text
    assert "| echo rtt | p50 |" in text
    assert "<details><summary>All " in text


def test_a_thresholds_file_overrides_per_statistic_and_per_metric(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_text('min_tail_samples = 3\n[relative]\np50 = { percent = 5, slack = 0.1 }\n'
                    'p99 = false\n[metrics.connect.absolute]\np99 = 250\n')
    thresholds = load_thresholds(path)
    assert thresholds.default.relative["p50"] == Relative(5, 0.1)
    assert "p99" not in thresholds.default.relative
    assert thresholds.default.relative["p90"] == DEFAULTS.default.relative["p90"]
    assert thresholds.for_metric("echo connect", "connect").absolute["p99"] == 250
    assert thresholds.for_metric("echo connect", "connect").min_tail_samples == 3
    assert thresholds.for_metric("echo rtt", "rtt") is thresholds.default


def test_json_thresholds_work_too(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"absolute": {"error_share": 0.2}}))
    assert load_thresholds(path).default.absolute["error_share"] == 0.2


def test_the_shipped_thresholds_file_states_the_defaults() -> None:
    shipped = Path(__file__).parents[2] / "reports" / "thresholds.toml"
    assert load_thresholds(shipped) == DEFAULTS


@pytest.mark.parametrize(("content", "message"), [
    ("[relative\n", "malformed toml"),
    ("[relative]\np42 = { percent = 1 }\n", "unknown statistic 'p42'"),
    ("[relative]\np50 = { percent = -1 }\n", "non-negative"),
    ("[relative]\np50 = { pct = 1 }\n", "unknown key 'pct'"),
    ("speed = 1\n", "unknown key 'speed'"),
    ("min_tail_samples = 0\n", "positive integer"),
    ("relative = 'caf\udce9'\n", "not UTF-8 text"),
])
def test_bad_thresholds_files_raise_one_line_errors(tmp_path: Path, content: str,
                                                    message: str) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(ThresholdsError, match=message) as caught:
        load_thresholds(path)
    assert "\n" not in str(caught.value)


def test_a_partial_rule_keeps_the_other_default_and_names_override_kinds(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_text('[relative]\np50 = { percent = 5 }\n'
                    '[metrics."rtt /ws".absolute]\np99 = 20\n')
    thresholds = load_thresholds(path)
    assert thresholds.default.relative["p50"] == Relative(5, DEFAULTS.default.relative["p50"].slack)
    assert thresholds.for_metric("rtt /ws", "rtt").absolute["p99"] == 20
    assert thresholds.for_metric("rtt /ws", "rtt").relative["p50"].percent == 5
    assert "p99" not in thresholds.for_metric("rtt /chat", "rtt").absolute


def test_a_rate_of_few_samples_is_not_judged() -> None:
    result = compare(echo_run(400, count=60), echo_run(400, count=60, duration_s=30.0), DEFAULTS)
    assert only(result.checks, "throughput").verdict == "skipped"


def test_runs_under_different_load_are_flagged() -> None:
    baseline, current = echo_run(400), echo_run(400, seed=2)
    current["run"]["users"] = 50
    current["run"]["settings"] = {**current["run"].get("settings", {}), "message_rate": 20.0}
    warnings = compare(baseline, current, DEFAULTS).warnings
    assert warnings == ("the runs differ in users: baseline 20, current 50",)
