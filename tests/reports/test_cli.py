"""`python -m reports` as CI runs it: exit 0 ok, 1 regression, 2 bad input (one line, no trace)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reports.results import Results
from tests.reports import factory
from tests.reports.conftest import MakeRun

PROJECT = Path(__file__).parents[2]


def reports(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reports", *map(str, args)], cwd=PROJECT,
                          capture_output=True, text=True, timeout=60, check=False)


def assert_bad_input(completed: subprocess.CompletedProcess[str], message: str) -> None:
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


def echo_results(shift_us: int = 0, seed: int = 1) -> Results:
    samples = [v + shift_us for v in factory.latencies_us(400, 5000, seed=seed)]
    return factory.results(metrics={"echo rtt": factory.metric("rtt", samples)})


def test_render_prints_where_the_report_is(make_run: MakeRun) -> None:
    run_dir = make_run()
    completed = reports("render", run_dir)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [f"report: {run_dir / 'report.html'}",
                                             f"summary: {run_dir / 'summary.md'}"]
    assert (run_dir / "report.html").is_file()


def test_compare_passes_the_same_distribution(make_run: MakeRun) -> None:
    completed = reports("compare", make_run("a", echo_results()),
                        make_run("b", echo_results(seed=2)) / "results.json")
    assert completed.returncode == 0, completed.stdout
    assert "no regression" in completed.stdout


def test_compare_fails_slower_replies_and_appends_markdown(make_run: MakeRun,
                                                           tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier\n")
    completed = reports("compare", make_run("a", echo_results()),
                        make_run("b", echo_results(shift_us=4000, seed=2)),
                        "--markdown", summary)
    assert completed.returncode == 1, completed.stdout
    assert "**REGRESSION**" in completed.stdout
    assert summary.read_text() == "earlier\n" + completed.stdout


def test_compare_reads_a_thresholds_file(make_run: MakeRun, tmp_path: Path) -> None:
    lenient = tmp_path / "lenient.json"
    latency = ("p50", "p90", "p99", "mean")
    lenient.write_text(json.dumps({"relative": dict.fromkeys(latency, False)}))
    completed = reports("compare", make_run("a", echo_results()),
                        make_run("b", echo_results(shift_us=4000, seed=2)),
                        "--thresholds", lenient)
    assert completed.returncode == 0, completed.stdout


def test_history_writes_a_page(make_run: MakeRun) -> None:
    run_dir = make_run()
    completed = reports("history", run_dir.parent)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"history: {run_dir.parent / 'history.html'}"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such results file"),
    ("{oops", "malformed JSON"),
    ('{"schema": "wsharness.results/99"}', "unknown schema 'wsharness.results/99'"),
    ("[]", "not a JSON object"),
    (b"\x1f\x8b\x08\x00\xa7", "not a results file: not UTF-8 text at byte 1"),
])
def test_bad_results_files_exit_2(make_run: MakeRun, tmp_path: Path,
                                  content: str | bytes | None, message: str) -> None:
    bad = tmp_path / "bad" / "results.json"
    bad.parent.mkdir()
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    assert_bad_input(reports("compare", make_run(), bad), message)
    assert_bad_input(reports("render", bad), message)


def test_a_bad_thresholds_file_exits_2(make_run: MakeRun, tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text("[relative]\np50 = 3\n")
    assert_bad_input(reports("compare", make_run(), make_run("b"), "--thresholds", bad),
                     "relative.p50 must be a table")


def test_a_bad_junit_file_exits_2(make_run: MakeRun, tmp_path: Path) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("<testsuite")
    assert_bad_input(reports("render", make_run(), "--junit", bad), "malformed XML")


def test_history_of_a_directory_without_runs_exits_2(tmp_path: Path) -> None:
    assert_bad_input(reports("history", tmp_path), "no readable results.json")


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["compare", "only-one"],
                                  ["render", "x", "--bogus"]])
def test_a_bad_command_line_exits_2(argv: list[str]) -> None:
    assert_bad_input(reports(*argv), "error:")
