"""Locust's web UI in a real headless Chromium: the wsharness tab shows µs percentiles live,
then the run's results.json; the report of an ended run is served from a link."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from reports.results import PERCENTILES, Results, load_results
from tests.loadtests.running import REPO, TIMEOUT_SCALE, locust_command, only_run_dir, two_workers
from wsharness.bind import free_port
from wsharness.serve import wait_until_listening

pytestmark = pytest.mark.browser

WAIT_S = 30 * TIMEOUT_SCALE
PERCENTILE_TITLES = dict(zip(PERCENTILES, ("p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"),
                             strict=True))
READ_TABLE = """return Array.from(document.querySelectorAll("table tr"),
    tr => Array.from(tr.children, cell => cell.textContent))"""
T = TypeVar("T")
Rows = dict[str, dict[str, str]]


def http(url: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data),
                                    timeout=WAIT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def web_ui(report_dir: Path, *args: str) -> Iterator[str]:
    """Locust's web UI on a free loopback port, serving the reference app itself; its URL."""
    port = free_port()
    process = subprocess.Popen(
        locust_command("--web-host", "127.0.0.1", "--web-port", str(port),
                       "--report-dir", str(report_dir), *args),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_listening("127.0.0.1", port, WAIT_S)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=WAIT_S)
    assert "Traceback" not in stderr, stderr[-3000:]


def start(base: str, workers: int = 0, **form: str) -> None:
    if workers:
        wait(lambda: json.loads(http(f"{base}/worker-count")[1])["worker_count"] >= workers,
             f"{workers} workers")
    status, body = http(f"{base}/swarm", {"user_count": "2", "spawn_rate": "2", "host": "",
                                          **form})
    assert status == 200, body
    assert json.loads(body)["success"], body


def wait(found: Callable[[], T | None], what: str, driver: Any = None) -> T:
    """found()'s first truthy answer, asked again until WAIT_S have passed."""
    try:
        answer = WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(lambda _: found())
    except Exception as exc:
        seen = f"; the tab showed {tab_rows(driver)}" if driver is not None else ""
        raise AssertionError(f"no {what} after {WAIT_S} s{seen}") from exc
    return cast(T, answer)


def tab_rows(driver: Any) -> Rows:
    """The tab's table, read in one go: {first cell: {column title: cell}}."""
    table: list[list[str]] = driver.execute_script(READ_TABLE)
    if not table:
        return {}
    header = table[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in table[1:]}


def run_row(rows: Rows) -> tuple[str, str] | None:
    """(run id, state) from the row naming the run."""
    for label, row in rows.items():
        if label.startswith("run "):
            return label.removeprefix("run "), row["Kind"]
    return None


def count_of(rows: Rows, name: str) -> int:
    cell = rows.get(name, {}).get("Count", "")
    return int(cell) if cell.isdigit() else 0


def expected_rows(results: Results) -> Rows:
    """What the tab shows of a finished run: its results.json in µs."""
    rows = {name: {"Name": name, "Kind": metric["kind"], "Count": str(metric["count"]),
                   "Errors": str(metric["errors"]),
                   **{title: str(round(metric["percentiles_ms"][p] * 1000))
                      for p, title in PERCENTILE_TITLES.items()}}
            for name, metric in results["metrics"].items()}
    blank = dict.fromkeys(["Errors", *PERCENTILE_TITLES.values()], "")
    rows |= {code: {"Name": code, "Kind": "close code", "Count": str(count), **blank}
             for code, count in results["close_codes"].items()}
    rows |= {kind: {"Name": kind, "Kind": "error", "Count": str(count), **blank}
             for kind, count in results["errors"].items()}
    return rows


def ended(driver: Any) -> tuple[str, Rows] | None:
    rows = tab_rows(driver)
    run = run_row(rows)
    if run is None or not run[1].startswith("ended"):
        return None
    return run[0], {label: row for label, row in rows.items() if not label.startswith("run ")}


@pytest.mark.parametrize("workers", [0, 2], ids=["single", "two-workers"])
def test_the_tab_shows_live_microseconds_then_the_results_of_the_run(
        chromium: Any, tmp_path: Path, workers: int) -> None:
    with web_ui(tmp_path, *(two_workers() if workers else ()), "EchoUser") as base:
        start(base, workers)
        chromium.get(f"{base}/?tab=wsharness")
        first = wait(lambda: count_of(tab_rows(chromium), "rtt /ws"), "live round trips",
                     chromium)
        rows = tab_rows(chromium)
        run = run_row(rows)
        assert run is not None
        assert run[1] == "live"
        assert all(rows["rtt /ws"][title].isdigit() for title in PERCENTILE_TITLES.values())
        wait(lambda: count_of(tab_rows(chromium), "rtt /ws") > first, "refreshed count",
             chromium)

        chromium.find_element(By.XPATH, "//button[normalize-space(.)='Stop']").click()
        run_id, _ = wait(lambda: ended(chromium), "ended run", chromium)
        results = load_results(only_run_dir(tmp_path))
        assert run_id == results["run"]["id"]
        expected = expected_rows(results)
        # the page's last poll of the run brought its results: nothing live is left to replace
        assert ended(chromium) == (run_id, expected)
        assert list(tab_rows(chromium)) == [f"run {run_id}", *expected]  # in this order
        status, body = http(f"{base}/wsharness/latency")
    assert status == 200
    latency = json.loads(body)
    assert latency["state"] == "ended"
    assert latency["report"] == f"/wsharness/runs/{run_id}/report.html"
    assert {row["metric"]: row["p50"] for row in latency["metrics"]} == {
        name: int(row["p50 µs"]) for name, row in expected.items()
        if row["Kind"] in ("rtt", "connect")}
    assert results["metrics"]["rtt /ws"]["count"] > first
    assert results["run"]["settings"]["processes"] == (workers or 1)


def test_the_report_link_serves_the_report_once_the_run_has_ended(
        chromium: Any, tmp_path: Path) -> None:
    with web_ui(tmp_path, "EchoUser") as base:
        assert http(f"{base}/wsharness/report")[0] == 404  # no run has ended yet
        start(base, run_time="2s")
        chromium.get(f"{base}/?tab=wsharness")
        run_id, _ = wait(lambda: ended(chromium), "run ended by its run time", chromium)
        report = only_run_dir(tmp_path) / "report.html"

        chromium.get(f"{base}/?tab=reports")
        link = chromium.find_element(By.LINK_TEXT, "wsharness report.html of the last run")
        link.click()
        wait(lambda: chromium.title == f"wsharness load run {run_id}", "the report page")
        assert chromium.current_url == f"{base}/wsharness/runs/{run_id}/report.html"
        assert http(chromium.current_url) == (200, report.read_bytes())
        for path in (f"runs/{run_id}/results.json", "runs/nope/report.html",
                     "runs/..%2F..%2Fetc%2Fpasswd/report.html", f"runs/{run_id}/../report.html",
                     f"runs/{run_id}/..%2F{run_id}%2Freport.html"):
            assert http(f"{base}/wsharness/{path}")[0] == 404, path
