"""Target options: bad values give one clear line and exit 4; --url checks a running server."""

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conformance.suite import REPO, run_suite
from wsharness.bind import bind_listening
from wsharness.serve import serve

USAGE_ERROR = 4


def assert_one_clear_line(result_stderr: str, *phrases: str) -> None:
    assert "Traceback" not in result_stderr
    line = next(line for line in result_stderr.splitlines() if line.startswith("ERROR:"))
    for phrase in phrases:
        assert phrase in line


def test_an_app_that_cannot_be_imported_is_a_usage_error() -> None:
    result = run_suite("--app", "no_such_module_here:app")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "--app", "no_such_module_here")


def test_an_app_option_without_an_attribute_is_a_usage_error() -> None:
    result = run_suite("--app", "target_app")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "MODULE:ATTR")


def test_a_url_where_nothing_listens_is_a_usage_error() -> None:
    with bind_listening("127.0.0.1", 0) as held:  # bound, never listening: refused
        result = run_suite("--url", f"http://127.0.0.1:{held.getsockname()[1]}")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "--url", "does not answer")


def test_a_url_with_another_scheme_is_a_usage_error() -> None:
    result = run_suite("--url", "ftp://127.0.0.1:21")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "--url", "expected http://")


def test_url_checks_a_running_server_on_the_wire_and_skips_in_process_checks(
        tmp_path: Path) -> None:
    junit = tmp_path / "suite.xml"
    with serve("tests.conformance.broken_apps:conforming", cwd=REPO) as server:
        result = run_suite("--url", server.url, "-m", "contract", "-k", "refused",
                           "--hypothesis-profile", "smoke", f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout[-3000:]
    outcomes: dict[str, list[str]] = {"passed": [], "skipped": []}
    for case in ET.parse(junit).iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None:
            outcomes["passed"].append(case.get("name", ""))
        else:
            assert "needs the app in-process" in skipped.get("message", "")
            outcomes["skipped"].append(case.get("name", ""))
    # the three refusals, each checked on the wire at --url and skipped in-process
    assert sorted(outcomes["passed"]) == [
        "test_non_int_client_id_refused_wire[wire-url]", "test_non_int_q_refused_wire[wire-url]",
        "test_refused_without_credentials_wire[wire-url]"]
    assert sorted(outcomes["skipped"]) == [
        "test_non_int_client_id_refused_in_process[in-process]",
        "test_non_int_q_refused_in_process[in-process]",
        "test_refused_without_credentials_in_process[in-process]"]


def test_a_stall_limit_that_is_not_positive_is_a_usage_error() -> None:
    result = run_suite("--stall-s", "0")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "--stall-s", "seconds > 0")


def test_a_timeout_scale_that_is_not_a_positive_number_is_one_line() -> None:
    result = run_suite(timeout_scale="0")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "WSHARNESS_TIMEOUT_SCALE",
                          "expected a finite number above 0, got '0'")
