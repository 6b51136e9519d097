"""A trend page across the runs under a directory, in time order, labelled by git revision."""

from __future__ import annotations

import os
from dataclasses import dataclass
from html import escape
from pathlib import Path

from reports import charts, page
from reports.charts import Series, Tick
from reports.measures import error_share, run_duration_s, throughput_per_s
from reports.render import KIND_SECTIONS, REPORT_FILE
from reports.results import RESULTS_FILE, Results, ResultsError, load_results

HISTORY_FILE = "history.html"
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Run:
    path: Path
    results: Results

    @property
    def started(self) -> str:
        return self.results["run"].get("started_at", "")

    @property
    def rev(self) -> str:
        return self.results["run"].get("git_rev", "")[:8] or "?"


def find_runs(directory: Path) -> tuple[list[Run], list[str]]:
    """Every readable results file under directory, oldest first, and a line per unreadable one."""
    runs, skipped = [], []
    for path in sorted(directory.rglob(RESULTS_FILE)):
        try:
            runs.append(Run(path, load_results(path)))
        except ResultsError as exc:
            skipped.append(f"skipped {exc}")
    runs.sort(key=lambda run: (run.started, str(run.path)))
    return runs, skipped


def history_html(runs: list[Run], base: Path) -> str:
    every = max(1, -(-len(runs) // MAX_X_LABELS))
    ticks = [Tick(-0.5, ""),
             *(Tick(float(i), f"#{i + 1} {run.rev}") for i, run in enumerate(runs)
               if i % every == 0),
             Tick(len(runs) - 0.5, "")]
    body = [
        "<h1>wsharness run history</h1>",
        page.paragraph(f"{len(runs)} runs under {base}, oldest first; the x axis is the run "
                       "number and its git revision.", "subtitle"),
    ]
    for kind, (heading, _) in KIND_SECTIONS.items():
        body.append(charts.line_chart(
            f"chart-history-{kind}", f"{heading}: p50 and p99 per run",
            _series(runs, kind, ("50", "99")), x_label="run", y_label="ms", x_ticks=ticks))
    body.append(charts.line_chart(
        "chart-history-throughput", "Samples per second per run",
        [Series(name, [(i, rate) for i, run in enumerate(runs)
                       if (m := run.results["metrics"].get(name))
                       and (rate := throughput_per_s(m, run_duration_s(run.results))) is not None])
         for name in _metric_names(runs)],
        x_label="run", y_label="per s", x_ticks=ticks))
    body.append(charts.line_chart(
        "chart-history-errors", "Error share per run",
        [Series(name, [(i, 100 * error_share(m)) for i, run in enumerate(runs)
                       if (m := run.results["metrics"].get(name))])
         for name in _metric_names(runs)],
        x_label="run", y_label="% of attempts", x_ticks=ticks))
    body.append(page.section("runs", "Runs", [_runs_table(runs, base)]))
    return page.document("wsharness run history", body)


def _metric_names(runs: list[Run]) -> list[str]:
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run.results["metrics"]))
    return list(names)


def _series(runs: list[Run], kind: str, percentiles: tuple[str, ...]) -> list[Series]:
    series = []
    for name in _metric_names(runs):
        for p in percentiles:
            points = [(float(i), m["percentiles_ms"][p]) for i, run in enumerate(runs)
                      if (m := run.results["metrics"].get(name)) and m["kind"] == kind
                      and m["count"]]
            if points:
                series.append(Series(f"{name} p{p}", points))
    return series


def _runs_table(runs: list[Run], base: Path) -> str:
    rows = []
    for i, run in enumerate(runs):
        info = run.results["run"]
        metrics = run.results["metrics"].values()
        report = run.path.parent / REPORT_FILE
        href = Path(os.path.relpath(report.resolve(), base)).as_posix()
        link = f'<a href="{escape(href)}">report</a>' if report.is_file() else "-"
        rtt = [m["percentiles_ms"] for m in metrics if m["kind"] == "rtt" and m["count"]]
        rev = info.get("git_rev", "?")
        rows.append([
            str(i + 1), escape(run.started[:19].replace("T", " ") or "?"),
            f'<span title="{escape(rev)}">{escape(rev[:12])}</span>',
            escape(info.get("id", run.path.parent.name)), escape(str(info.get("users", "?"))),
            str(sum(m["count"] for m in metrics)), str(sum(m["errors"] for m in metrics)),
            f"{max(p['50'] for p in rtt):.3f}" if rtt else "-",
            f"{max(p['99'] for p in rtt):.3f}" if rtt else "-", link])
    return page.table(["#", "started (UTC)", "git revision", "run id", "users", "samples",
                       "errors", "rtt p50 ms (slowest)", "rtt p99 ms (slowest)", "report"],
                      rows, table_id="history-runs", raw_cells=True)


def write_history(directory: Path, output: Path | None = None) -> tuple[Path, list[str]]:
    """Write the trend page (default DIR/history.html); return it and the skipped-run lines.

    Raises ResultsError when the directory holds no readable run.
    """
    if not directory.is_dir():
        raise ResultsError(f"{directory}: no such directory")
    runs, skipped = find_runs(directory)
    if not runs:
        raise ResultsError(f"{directory}: no readable {RESULTS_FILE} under it")
    output = output or directory / HISTORY_FILE
    output.write_text(history_html(runs, output.parent.resolve()), encoding="utf-8")
    return output, skipped
