"""A headless run ends by printing its latencies in µs, the numbers of its results.json."""

from __future__ import annotations

import re
from pathlib import Path

from reports.results import PERCENTILES, Results
from tests.loadtests.running import only_run_dir, results_of, run_locust

HEADER = ["metric", "count", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"]


def printed_table(stdout: str) -> tuple[dict[str, list[int]], list[str]]:
    """The last µs table in stdout ({metric: [count, p50, p90, p99, p99.9, max]}) and the
    lines after it."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if re.split(r"\s{2,}", line) == HEADER)
    rows: dict[str, list[int]] = {}
    end = start + 2
    for line in lines[start + 2:]:
        cells = re.split(r"\s{2,}", line)
        if len(cells) != len(HEADER):
            break
        rows[cells[0]] = [int(cell) for cell in cells[1:]]
        end += 1
    return rows, lines[end:]


def expected_rows(results: Results) -> dict[str, list[int]]:
    return {name: [metric["count"],
                   *(round(metric["percentiles_ms"][p] * 1000) for p in PERCENTILES)]
            for name, metric in results["metrics"].items()}


def counted(title: str, table: dict[str, int]) -> list[str]:
    """The line for close codes or errors: most frequent first; none when there were none."""
    ranked = sorted(table.items(), key=lambda item: -item[1])
    return [f"{title}: " + ", ".join(f"{key} × {count}" for key, count in ranked)] if table else []


def test_a_headless_run_prints_its_microsecond_table_last(tmp_path: Path) -> None:
    done = run_locust("-u", "3", "-r", "3", "-t", "2s", "ChatUser", "--chat-room-size", "2",
                      report_dir=tmp_path)
    results = results_of(done, tmp_path)
    rows, after = printed_table(done.stdout)
    assert rows == expected_rows(results)
    assert set(rows) >= {"rtt /ws/{client_id}", "fanout /ws/{client_id}",
                         "connect /ws/{client_id}"}
    assert rows["rtt /ws/{client_id}"][0] > 0
    report = only_run_dir(tmp_path) / "report.html"
    peak = max(results["timeline"], key=lambda point: point.get("connections", 0))
    assert peak["connections"] == 6  # three users, two connections each
    assert after == [*counted("close codes", results["close_codes"]),
                     *counted("errors", results["errors"]),
                     f"open connections: peak 6 at {peak['t']:.0f} s",
                     f"wsharness: full report: {report}"]
    assert results["close_codes"]
    assert done.stdout.endswith(f"wsharness: full report: {report}\n")
