"""The protocol and autobahn groups' options, against any echo server (--url, --raw-path), and
the autobahn group without kosoku: skipped, with the install command as the reason."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.autobahn import CATALOGUE_GROUPS, INSTALL, cases_of, parse_groups
from tests.conformance.broken_framing_server import framing_server
from tests.conformance.suite import REPO, RUN_TIMEOUT_S, run_suite
from wsharness.serve import serve

USAGE_ERROR = 4
NO_KOSOKU = "raise ModuleNotFoundError(\"No module named 'kosoku'\", name='kosoku')\n"


def error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    return next(line for line in stderr.splitlines() if line.startswith("ERROR:"))


def test_a_raw_path_that_is_not_a_path_is_a_usage_error() -> None:
    result = run_suite("--raw-path", "raw")
    assert result.returncode == USAGE_ERROR
    assert "--raw-path 'raw': expected a path starting with /" in error_line(result.stderr)


def test_autobahn_groups_that_do_not_parse_are_a_usage_error() -> None:
    result = run_suite("--autobahn-groups", "1-x")
    assert result.returncode == USAGE_ERROR
    assert "--autobahn-groups: '1-x' is not a group number or range" in \
        error_line(result.stderr)


def properties(junit: Path) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in ET.parse(junit).iter("property")}


def test_both_groups_check_any_echo_server_at_its_raw_path(tmp_path: Path) -> None:
    junit = tmp_path / "suite.xml"
    with framing_server() as url:
        result = run_suite("--url", url, "--raw-path", "/anywhere", "-m", "protocol or autobahn",
                           "--autobahn-groups", "1,2,10", "--hypothesis-profile", "smoke",
                           f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout[-3000:]
    found = properties(junit)
    assert found["autobahn group 1"] == "OK 16"
    assert found["autobahn 2.11"] == "OK"
    assert found["autobahn 10.1.1"] == "OK"


def test_autobahn_verdicts_go_into_the_junit_xml_with_reasons(tmp_path: Path) -> None:
    junit = tmp_path / "suite.xml"
    with serve("target_app:app", cwd=REPO, ws="websockets-sansio") as server:
        result = run_suite("--url", server.url, "-m", "autobahn", "--autobahn-groups", "7",
                           f"--junitxml={junit}")
    assert result.returncode == 1, result.stdout[-3000:]  # --url: no expected failures
    found = properties(junit)
    assert found["autobahn 7.1.1"] == "OK"
    assert found["autobahn 7.1.5"].startswith("FAILED: ")
    assert found["autobahn 7.13.1"].startswith("INFORMATIONAL: ")
    assert "case 7.1.5 FAILED (" in result.stdout


def test_without_kosoku_the_autobahn_group_is_skipped_with_the_install_command(
        tmp_path: Path) -> None:
    (tmp_path / "kosoku.py").write_text(NO_KOSOKU)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-m",
         "autobahn", "-rs"], cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        check=False, env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(tmp_path), os.environ.get("PYTHONPATH", "")])})
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"kosoku is not installed: {INSTALL}" in result.stdout
    assert "9 skipped" in result.stdout  # groups 1 to 10: the catalogue has no group 8


def test_groups_parse_as_numbers_and_ranges() -> None:
    assert parse_groups("1-10") == list(range(1, 11))
    assert parse_groups("9, 1-3,12,13,2") == [1, 2, 3, 9, 12, 13]
    for bad in ("", "0", "3-1", "a", "1-"):
        with pytest.raises(ValueError, match="is not a"):
            parse_groups(bad)


def test_the_catalogue_groups_are_kosokus() -> None:
    kosoku_cases = pytest.importorskip("kosoku.cases", reason=INSTALL)
    groups = {int(case.split(".")[0]) for case in kosoku_cases.CASES}
    assert groups == set(CATALOGUE_GROUPS)
    assert sum(len(cases) for cases in cases_of(range(1, 11)).values()) == 301
