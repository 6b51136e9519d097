"""A run started and stopped through Locust's web UI writes its results file too."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=WAIT_S) as response:
        return json.loads(response.read())


def wait_until(found: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not found():
        assert time.monotonic() < deadline, f"no {what} after {WAIT_S}s"
        time.sleep(0.1)


def round_trips(base: str) -> int:
    """The round trips the web UI's statistics show so far."""
    return sum(row["num_requests"] for row in get_json(f"{base}/stats/requests")["stats"]
               if (row["method"], row["name"]) == ("WS RTT", "/ws"))


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
        if processes:
            wait_until(lambda: get_json(f"{base}/worker-count")["worker_count"] >= 2,
                       "two workers")
        started = json.loads(post(f"{base}/swarm", {
            "user_count": "2", "spawn_rate": "2", "host": "", "message_size": "64"}))
        assert started["success"], started
        wait_until(lambda: round_trips(base) > 0, "round trip in the web UI's statistics")
        post(f"{base}/stop")
        wait_until(lambda: any(tmp_path.glob("*/results.json")), "results.json")
        results = load_results(only_run_dir(tmp_path))
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=WAIT_S)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert only_run_dir(tmp_path).name == results["run"]["id"]
    assert results["run"]["settings"]["message_size"] == 64
    assert results["run"]["users"] == 2
    assert results["metrics"]["rtt /ws"]["count"] > 0
    assert results["run"]["settings"]["processes"] == (2 if processes else 1)
    assert results["errors"] == {}
