"""Fixtures for the reports tests: run directories holding constructed results files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reports.results import Results
from tests.reports import factory

MakeRun = Callable[..., Path]


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """make_run(name="run-1", **factory.results kwargs) -> the run directory it wrote."""

    def make(name: str = "run-1", document: Results | None = None, **kwargs: Any) -> Path:
        return factory.run_dir(tmp_path / "runs", document or factory.results(**kwargs), name)

    return make


SAMPLE_SUITE = {
    "test_echo.py": (
        "import pytest\n"
        "def test_reply(): assert 'a' == 'a'\n"
        "def test_order(): assert [1, 2] == [2, 1], 'out of order <b>'\n"
        "@pytest.mark.skip(reason='not here')\n"
        "def test_skipped(): pass\n"
    ),
    "test_chat.py": (
        "import pytest\n"
        "@pytest.fixture\n"
        "def room(): raise RuntimeError('room did not open')\n"
        "def test_broadcast(room): pass\n"
        "class TestLeave:\n"
        "    def test_left_once(self): pass\n"
    ),
    "test_framing.py": (
        "def test_masked(): pass\n"
    ),
}


def junit_of(suite: Path, files: dict[str, str], *, returncode: int,
             env: dict[str, str] | None = None) -> Path:
    """JUnit XML written by a real pytest run of the files, in suite; the run must end with
    returncode."""
    (suite / "pytest.ini").write_text("[pytest]\n")
    for name, source in files.items():
        (suite / name).write_text(source)
    output = suite / "conformance.xml"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={output}",
         str(suite)], cwd=suite, capture_output=True, timeout=60, check=False,
        env={**os.environ, **(env or {})})
    assert completed.returncode == returncode, completed.stdout.decode()
    return output


@pytest.fixture(scope="session")
def junit_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JUnit XML written by a real pytest run of a small suite: pass, fail, skip and error."""
    return junit_of(tmp_path_factory.mktemp("suite"), SAMPLE_SUITE, returncode=1)
