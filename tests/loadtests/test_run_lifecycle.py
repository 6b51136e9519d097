"""The run's lifecycle under signals and lost workers: Ctrl-C or SIGTERM writes the results
measured so far, and a worker killed mid-run is named in the results and the report."""

from __future__ import annotations

import datetime
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.results import load_results
from tests.loadtests.running import LiveRun, only_run_dir, stats_row, two_workers
from wsharness.serve import Server, serve

STOPS = [pytest.param(signal.SIGINT, True, id="ctrl-c-to-the-group"),
         pytest.param(signal.SIGTERM, False, id="sigterm-to-locust")]


@pytest.fixture(scope="module")
def target() -> Iterator[Server]:
    with serve() as server:
        yield server


def some_round_trips(lines: list[str]) -> bool:
    return stats_row(lines, "WS RTT", "/ws")[0] >= 20


@pytest.mark.parametrize("workers", [False, True], ids=["single", "two-workers"])
@pytest.mark.parametrize(("stop", "to_group"), STOPS)
def test_a_signal_ends_the_run_with_the_results_measured_so_far(
        tmp_path: Path, target: Server, workers: bool, stop: signal.Signals,
        to_group: bool) -> None:
    processes = two_workers() if workers else ()
    with LiveRun("-u", "4", "-r", "4", "-t", "60s", "--host", target.url, *processes,
                 "EchoUser", report_dir=tmp_path) as run:
        run.wait_for(some_round_trips, "round trips")
        if to_group:
            os.killpg(run.process.pid, stop)
        else:
            run.process.send_signal(stop)
        code = run.finish()
    assert code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    results = load_results(only_run_dir(tmp_path))
    assert results["metrics"]["rtt /ws"]["count"] >= 20
    assert results["errors"] == {}
    assert results["run"]["settings"]["processes"] == (2 if workers else 1)
    assert "lost_workers" not in results
    assert f"wsharness: summary.md: {only_run_dir(tmp_path)}" in run.stdout


def test_a_worker_killed_mid_run_is_named_and_the_master_writes_the_rest(
        tmp_path: Path, target: Server) -> None:
    with LiveRun("-u", "4", "-r", "4", "-t", "8s", "--host", target.url, *two_workers(),
                 "EchoUser", report_dir=tmp_path) as run:
        run.wait_for(some_round_trips, "round trips")
        killed_s = time.time()
        os.kill(run.workers()[0], signal.SIGKILL)
        code = run.finish()
    assert code == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    results = load_results(only_run_dir(tmp_path))
    assert results["run"]["settings"]["processes"] == 1  # the survivor's measurements
    assert results["metrics"]["rtt /ws"]["count"] > 0
    [lost] = results["lost_workers"]
    assert lost["reason"] in ("missed heartbeats", "no measurements")
    assert lost["last_heard_at"] is not None
    assert lost["t"] is not None
    heard_s = datetime.datetime.fromisoformat(lost["last_heard_at"]).timestamp()
    started_s = datetime.datetime.fromisoformat(results["run"]["started_at"]).timestamp()
    assert started_s <= heard_s <= killed_s + 0.5  # heard from before it died, never after
    run_dir = only_run_dir(tmp_path)
    for report in ("report.html", "summary.md"):
        text = (run_dir / report).read_text()
        assert "Lost workers: 1" in text
        assert lost["id"] in text
        assert lost["last_heard_at"] in text
