"""Target options: bad values give one clear line and exit 4; --url checks a running server."""

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


def test_url_checks_a_running_server_on_the_wire_and_skips_in_process_checks() -> None:
    with serve("tests.conformance.broken_apps:conforming", cwd=REPO) as server:
        result = run_suite("--url", server.url, "-m", "contract", "-k", "refused", "-rs",
                           "--hypothesis-profile", "smoke")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "needs the app in-process" in result.stdout
    assert "wire-url" in result.stdout or " passed" in result.stdout


def test_a_stall_limit_that_is_not_positive_is_a_usage_error() -> None:
    result = run_suite("--stall-s", "0")
    assert result.returncode == USAGE_ERROR
    assert_one_clear_line(result.stderr, "--stall-s", "seconds > 0")


def test_a_timeout_scale_that_is_not_a_positive_number_is_one_line() -> None:
    result = run_suite(timeout_scale="0")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "wsharness: WSHARNESS_TIMEOUT_SCALE: expected a finite number above 0, got '0'"]
