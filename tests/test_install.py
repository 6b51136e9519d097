"""What a user does: install the wheel, without extras, into a fresh venv, and use it from a
directory that is not the checkout: the suite against an app of their own, a one-line
locustfile, and the gate.

Building and installing take a minute or two (pip's cache makes it quicker): the test is
marked `install` and CI runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.results import load_results
from wsharness.serve import serve

REPO = Path(__file__).resolve().parents[1]
USER_APP = REPO / "tests" / "conformance" / "broken_apps.py"
INSTALL_TIMEOUT_S = 900.0
RUN_TIMEOUT_S = 300.0
MACHINE_PIP_WARNING = "WARNING: Location "
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                    ".*_cache", ".hypothesis", "runs")

pytestmark = [pytest.mark.install, pytest.mark.timeout(int(INSTALL_TIMEOUT_S + 3 * RUN_TIMEOUT_S))]


def run(command: list[str], cwd: Path, timeout_s: float = RUN_TIMEOUT_S) -> str:
    """Run a command with a clean environment; its output, or a failure showing it."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout_s, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n" \
        f"{output[-4000:]}"
    return output


def warnings(output: str) -> list[str]:
    """Warning lines, but for pip's about index locations this machine's configuration names."""
    return [line for line in output.splitlines() if "warning" in line.lower()
            and not line.startswith(MACHINE_PIP_WARNING)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin directory of a fresh venv holding the wheel built from this checkout."""
    root = tmp_path_factory.mktemp("install")
    wheels, source = root / "wheels", root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)  # setuptools builds in place: not here
    build = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--wheel-dir", str(wheels), str(source)], cwd=root,
                timeout_s=INSTALL_TIMEOUT_S)
    assert warnings(build) == []
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    (wheel,) = wheels.glob("wsharness-*.whl")
    install = run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                   "--disable-pip-version-check", str(wheel)], cwd=root,
                  timeout_s=INSTALL_TIMEOUT_S)
    assert warnings(install) == []
    yield bin_dir
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: an empty directory with their app and nothing of the checkout."""
    shutil.copy(USER_APP, tmp_path / "mysvc.py")
    return tmp_path


def test_the_suite_checks_an_app_of_the_users_own(installed: Path, project: Path) -> None:
    output = run([str(installed / "pytest"), "--pyargs", "conformance", "--app",
                  "mysvc:conforming", "-m", "contract", "-p", "no:cacheprovider"], cwd=project)
    assert " passed" in output
    assert " failed" not in output


def test_no_target_outside_the_checkout_is_one_error_line(installed: Path, project: Path) -> None:
    result = subprocess.run([str(installed / "pytest"), "--pyargs", "conformance",
                             "-p", "no:cacheprovider"], cwd=project, capture_output=True,
                            text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1
    assert "--app" in errors[0]
    assert "--url" in errors[0]


def test_a_one_line_locustfile_loads_the_users_service_and_the_gate_passes_it(
        installed: Path, project: Path) -> None:
    (project / "mine.py").write_text("from loadtests import EchoUser  # noqa: F401\n")
    with serve("mysvc:conforming", cwd=project) as service:
        output = run([str(installed / "locust"), "-f", "mine.py", "--headless", "--users", "2",
                      "--spawn-rate", "2", "--run-time", "2s", "--host", service.url],
                     cwd=project)
    assert "latencies in µs" in output
    (run_dir,) = (project / "reports" / "runs").iterdir()
    round_trips = load_results(run_dir)["metrics"]["rtt /ws"]
    assert round_trips["count"] > 0
    assert round_trips["errors"] == 0
    assert (run_dir / "report.html").is_file()
    run([str(installed / "python"), "-m", "reports", "compare", str(run_dir), str(run_dir)],
        cwd=project)
