"""Run Locust on the harness's locustfiles as a subprocess, the way users do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reports.results import Results, load_results
from target_app.launch import free_port

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SCALE = float(os.environ.get("WSHARNESS_TIMEOUT_SCALE", "1"))
RUN_TIMEOUT_S = 90 * TIMEOUT_SCALE


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", "loadtests", *args]


def two_workers() -> tuple[str, ...]:
    """--processes 2 on a free master port: parallel runs must not share Locust's default one."""
    port = str(free_port())
    return ("--processes", "2", "--master-bind-port", port, "--master-port", port)


def run_locust(*args: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    """A bounded headless run from the repository root; its report dir is report_dir."""
    return subprocess.run(
        locust_command("--headless", "--report-dir", str(report_dir), *args),
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)


def only_run_dir(report_dir: Path) -> Path:
    runs = [path for path in report_dir.iterdir() if path.is_dir()]
    assert len(runs) == 1, f"expected one run directory, found {runs}"
    return runs[0]


def results_of(done: subprocess.CompletedProcess[str], report_dir: Path) -> Results:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return load_results(only_run_dir(report_dir))
