"""A run started and stopped through Locust's web UI writes its results file too."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from reports.results import load_results
from tests.loadtests.running import (
    REPO,
    TIMEOUT_SCALE,
    locust_command,
    only_run_dir,
    two_workers,
)
from wsharness.bind import free_port
from wsharness.serve import wait_until_listening

WAIT_S = 30 * TIMEOUT_SCALE


def post(url: str, form: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form or {}).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=WAIT_S) as response:
        body: bytes = response.read()
        return body


def wait_for_workers(base: str, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while count and time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/worker-count", timeout=WAIT_S) as response:
            if json.loads(response.read())["worker_count"] >= count:
                return
        time.sleep(0.2)


def wait_for(path_glob: str, directory: Path) -> Path:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = list(directory.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {path_glob} in {directory} after {WAIT_S}s")


@pytest.mark.parametrize("workers", [False, True], ids=["single", "two-workers"])
def test_a_run_from_the_web_ui_with_an_option_from_its_form(
        tmp_path: Path, workers: bool) -> None:
    processes = two_workers() if workers else ()
    port = free_port()
    process = subprocess.Popen(
        locust_command("--web-host", "127.0.0.1", "--web-port", str(port),
                       "--report-dir", str(tmp_path), *processes, "EchoUser"),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_listening("127.0.0.1", port, WAIT_S)
        base = f"http://127.0.0.1:{port}"
        wait_for_workers(base, 2 if processes else 0)
        started = json.loads(post(f"{base}/swarm", {
            "user_count": "2", "spawn_rate": "2", "host": "", "message_size": "64"}))
        assert started["success"], started
        time.sleep(2)
        post(f"{base}/stop")
        results = load_results(wait_for("*/results.json", tmp_path).parent)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=WAIT_S)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert only_run_dir(tmp_path) == tmp_path / results["run"]["id"]
    assert results["run"]["settings"]["message_size"] == 64
    assert results["run"]["users"] == 2
    assert results["metrics"]["rtt /ws"]["count"] > 0
    assert results["run"]["settings"]["processes"] == (2 if processes else 1)
    assert results["errors"] == {}
