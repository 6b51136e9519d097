"""--target-server: the embedded target served by another ASGI server, named in the run's
results, report and summary; a server that is not installed is one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reports.results import load_results
from tests.absent import python_without
from tests.loadtests.running import REPO, RUN_TIMEOUT_S, locust_command, only_run_dir, run_locust
from wsharness.serve import serve
from wsharness.servers import describe


def test_the_run_names_the_server_that_served_its_target(tmp_path: Path) -> None:
    done = run_locust("-u", "2", "-r", "2", "-t", "2s", "--target-server", "granian", "EchoUser",
                      report_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = only_run_dir(tmp_path)
    results = load_results(run_dir)
    assert results["run"]["server"] == describe("granian")  # with its version
    assert results["run"]["settings"]["target_server"] == "granian"
    assert results["errors"] == {}
    assert f"server {describe('granian')}" in (run_dir / "summary.md").read_text()
    assert f"server {describe('granian')}" in (run_dir / "report.html").read_text()


def test_uvicorn_is_named_with_its_websocket_implementation(tmp_path: Path) -> None:
    done = run_locust("-u", "1", "-r", "1", "-t", "1s", "EchoUser", report_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    server = load_results(only_run_dir(tmp_path))["run"]["server"]
    assert server == describe("uvicorn")
    assert server.endswith(" --ws websockets-sansio")


def test_a_server_that_is_not_installed_is_one_line_and_a_failure(tmp_path: Path) -> None:
    python, env = python_without(tmp_path / "site", "daphne")
    done = subprocess.run(
        [*python, *locust_command("--headless", "-u", "1", "-t", "2s", "--report-dir",
                                  str(tmp_path / "runs"), "--target-server", "daphne",
                                  "EchoUser")[1:]],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if line.startswith("wsharness:")] == [
        "wsharness: --target-server daphne is not installed: pip install 'wsharness[servers]'"]
    assert "Traceback" not in done.stderr


def test_a_run_against_host_names_no_server(tmp_path: Path) -> None:
    """With --host the run did not serve its target: no server, in run.server or its settings."""
    with serve(cwd=REPO) as target:
        done = run_locust("-u", "1", "-r", "1", "-t", "1s", "--host", target.url, "EchoUser",
                          report_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run = load_results(only_run_dir(tmp_path))["run"]
    assert (run.get("server"), run["settings"]["target_server"]) == (None, None)
