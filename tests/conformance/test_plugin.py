"""The plugin is loaded by every pytest run where wsharness is installed: it must leave runs
that do not collect the suite alone (no target demanded, Hypothesis settings untouched)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

USERS_OWN_TEST = """
from hypothesis import settings

def test_own_settings():
    print("SETTINGS", repr(settings.default))
"""


def users_own_run(directory: Path, *extra: str) -> str:
    """The Hypothesis settings a user's own test sees, run by pytest in directory."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "-s", *extra], cwd=directory, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    return next(line for line in result.stdout.splitlines() if "SETTINGS" in line)


def test_a_run_of_other_tests_needs_no_target_and_keeps_hypothesis_settings(
        tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(USERS_OWN_TEST)
    assert users_own_run(tmp_path) == users_own_run(tmp_path, "-p", "no:wsharness")


def test_the_suites_markers_are_known_everywhere(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(
        "import pytest\n\n@pytest.mark.contract\ndef test_marked():\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "--strict-markers", "-m", "contract"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_bad_timeout_scale_does_not_stop_a_run_of_other_tests(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text("def test_mine():\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False, env={**os.environ, "WSHARNESS_TIMEOUT_SCALE": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
