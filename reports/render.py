"""Render one run: `report.html` (charts inline) and `summary.md` beside its results.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

from websockets.frames import Close

from reports import charts, page
from reports.charts import Series
from reports.junit import AUTOBAHN_VERDICTS, JUNIT_FILE, Conformance, load_junit
from reports.measures import (
    error_share,
    percentile_curve,
    ranked_counts,
    run_duration_s,
    throughput_per_s,
)
from reports.results import MetricKind, Results, load_results, results_path
from reports.summary import (
    MATRIX_LEGEND,
    conformance_totals,
    lost_worker_lines,
    matrix_rows,
    peak_connections,
    summary_markdown,
)

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.md"
KIND_SECTIONS: dict[MetricKind, tuple[str, str]] = {
    "rtt": ("Round-trip time", "message round trip"),
    "connect": ("Connect time", "WebSocket handshake"),
    "fanout": ("Chat fan-out", "delay from a sender's send to another member's copy"),
}


def render_run(run_dir: Path, *, junit: Path | None = None) -> tuple[Path, Path]:
    """Write report.html and summary.md beside run_dir/results.json; return their paths.

    Conformance results come from `junit`, else from `conformance.xml` beside results.json
    when there is one. Raises ResultsError / JUnitError on bad input.
    """
    source = results_path(run_dir)
    results = load_results(source)
    junit = junit or _beside(source, JUNIT_FILE)
    conformance = load_junit(junit) if junit else None
    html_path = source.parent / REPORT_FILE
    md_path = source.parent / SUMMARY_FILE
    html_path.write_text(report_html(results, conformance), encoding="utf-8")
    md_path.write_text(summary_markdown(results, conformance), encoding="utf-8")
    return html_path, md_path


def _beside(source: Path, name: str) -> Path | None:
    candidate = source.parent / name
    return candidate if candidate.is_file() else None


def report_html(results: Results, conformance: Conformance | None) -> str:
    run = results["run"]
    title = f"wsharness load run {run.get('id', '')}".strip()
    return page.document(title, [
        f"<h1>{escape(title)}</h1>",
        page.paragraph(_subtitle(results), "subtitle"),
        page.section("summary", "Summary", [*lost_workers_parts(results), metrics_table(results)]),
        page.section("throughput", "Throughput and users over time", throughput_charts(results)),
        *(kind_section(results, kind) for kind in KIND_SECTIONS),
        page.section("closes", "Close codes and errors", close_and_error_charts(results)),
        page.section("conformance", "Conformance", conformance_parts(conformance)),
        page.section("run", "Run settings, versions and git revision", run_parts(results)),
    ])


def _subtitle(results: Results) -> str:
    run = results["run"]
    duration = run_duration_s(results)
    parts = [
        f"target {run.get('target', '?')}",
        f"server {run['server']}" if "server" in run else "",
        f"{run.get('users', '?')} users",
        f"{duration:.1f} s" if duration else "",
        f"peak {peak[1]} open connections" if (peak := peak_connections(results)) else "",
        f"from {run.get('started_at', '?')}",
        f"git {run.get('git_rev', '?')}",
    ]
    return " · ".join(p for p in parts if p)


def lost_workers_parts(results: Results) -> list[str]:
    lines = lost_worker_lines(results)
    if not lines:
        return []
    return [page.paragraph(f"Lost workers: {len(lines)}; their measurements are missing from "
                           "these results.", "bad"),
            *(page.paragraph(line, "bad lost-worker") for line in lines)]


def metrics_table(results: Results) -> str:
    duration = run_duration_s(results)
    rows = []
    for name, metric in results["metrics"].items():
        p = metric["percentiles_ms"]
        rate = throughput_per_s(metric, duration)
        rows.append([name, metric["kind"], str(metric["count"]), str(metric["errors"]),
                     page.percent(error_share(metric)), "-" if rate is None else f"{rate:.1f}",
                     page.ms(metric["mean_ms"]), page.ms(p["50"]), page.ms(p["90"]),
                     page.ms(p["99"]), page.ms(p["99.9"]), page.ms(p["100"])])
    if not rows:
        return page.paragraph("This run recorded no metrics.", "note")
    return page.table(["metric", "kind", "count", "errors", "error share", "per s", "mean ms",
                       "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"], rows,
                      table_id="metrics")


def throughput_charts(results: Results) -> list[str]:
    timeline = results["timeline"]
    sent = Series("sent / s", [(p["t"], p["sent_per_s"]) for p in timeline])
    received = Series("received / s", [(p["t"], p["received_per_s"]) for p in timeline])
    users = Series("users", [(p["t"], float(p["users"])) for p in timeline])
    connections = Series("open connections", [(p["t"], float(p["connections"]))
                                              for p in timeline if "connections" in p])
    return [
        charts.line_chart("chart-throughput", "Messages per second", [sent, received],
                          x_label="seconds since start", y_label="messages / s"),
        charts.line_chart("chart-users", "Users and open connections", [users, connections],
                          x_label="seconds since start", y_label="users, connections")
        if connections.points else
        charts.line_chart("chart-users", "Connected users", [users],
                          x_label="seconds since start", y_label="users"),
    ]


def kind_section(results: Results, kind: MetricKind) -> str:
    heading, what = KIND_SECTIONS[kind]
    metrics = {n: m for n, m in results["metrics"].items() if m["kind"] == kind}
    parts = []
    if kind == "rtt":
        parts.append(rtt_timeline_chart(results))
    parts.append(charts.line_chart(
        f"chart-hdr-{kind}", f"{heading}: latency by percentile",
        [Series(name, percentile_curve(metric)) for name, metric in metrics.items()],
        x_label="percentile", y_label="ms", x_ticks=charts.percentile_ticks()))
    count = sum(m["count"] for m in metrics.values())
    parts.append(page.paragraph(
        f"{heading} ({what}): {count} samples in {len(metrics)} metric(s). The x axis is "
        "HdrHistogram's percentile scale, 1/(1-p) on a log axis.", "note"))
    return page.section(kind, heading, parts)


def rtt_timeline_chart(results: Results) -> str:
    timeline = results["timeline"]
    series = [
        Series("p50", [(p["t"], v) for p in timeline if (v := p["p50_ms"]) is not None]),
        Series("p99", [(p["t"], v) for p in timeline if (v := p["p99_ms"]) is not None]),
    ]
    return charts.line_chart("chart-rtt-timeline", "Round trip over time (per interval)",
                             series, x_label="seconds since start", y_label="ms")


def close_and_error_charts(results: Results) -> list[str]:
    codes = ranked_counts(results["close_codes"])
    errors = ranked_counts(results["errors"])
    code_bars = [(close_code_label(code), n) for code, n in codes]
    return [
        charts.bar_chart("chart-close-codes", "Close codes", code_bars, value_label="closes",
                         empty_text="no connection closed"),
        charts.bar_chart("chart-errors", "Errors by kind", errors, value_label="errors",
                         empty_text="no errors"),
    ]


def close_code_label(code: str) -> str:
    """`1000 (OK)`, `1013 (try again later)`, `4000 (private use)`: the code with websockets'
    explanation of it. A handshake refused before accept never had a close code: the
    refusals a run expects are its `connect ... (no credentials)` metric, the others its
    `refused` errors."""
    return str(Close(int(code), "")) if code.isdigit() else code


def conformance_parts(conformance: Conformance | None) -> list[str]:
    if conformance is None:
        return [page.paragraph("No conformance results for this run (render with --junit FILE, "
                               f"or put {JUNIT_FILE} beside results.json).", "note")]
    parts = [page.paragraph(f"{conformance_totals(conformance)} ({conformance.source})."),
             *(conformance_matrix_parts(conformance) if len(conformance.served_targets) > 1
               else [conformance_groups_table(conformance)])]
    if conformance.failures:
        parts.append(page.table(
            ["group", "test", "outcome", "message"],
            [[c.group, c.name, c.outcome, c.message] for c in conformance.failures],
            table_id="conformance-failures"))
    return parts + autobahn_parts(conformance)


def conformance_groups_table(conformance: Conformance) -> str:
    rows = []
    for group in conformance.groups:
        verdict = '<span class="ok">pass</span>' if group.ok else '<span class="bad">fail</span>'
        rows.append([escape(group.name), verdict, *(str(group.counts[o]) for o in (
            "passed", "failed", "error", "skipped", "xfailed"))])
    return page.table(["group (test module)", "verdict", "passed", "failed", "errors", "skipped",
                       "xfailed"], rows, table_id="conformance-groups", raw_cells=True)


def conformance_matrix_parts(conformance: Conformance) -> list[str]:
    """Outcome counts per group (rows) and target (columns), for a run of several targets."""
    rows = matrix_rows(conformance, lambda text, bad: f'<span class="bad">{escape(text)}</span>'
                       if bad else escape(text))
    rows = [[escape(group), *cells] for group, *cells in rows]
    return [page.table(["group", *conformance.targets], rows, table_id="conformance-matrix",
                       raw_cells=True),
            page.paragraph(MATRIX_LEGEND + ".", "note")]


def autobahn_parts(conformance: Conformance) -> list[str]:
    """The Autobahn catalogue's verdicts: counts per target, then every case not OK, why."""
    targets = conformance.autobahn_targets
    if not targets:
        return []
    rows = [[target, *(str(n) for n in conformance.autobahn_counts(target).values())]
            for target in targets]
    not_ok = [[v.target, v.case, v.verdict, v.reason] for v in conformance.autobahn
              if v.verdict != "OK"]
    parts = [page.paragraph("Autobahn|Testsuite catalogue (kosoku), verdicts per case:"),
             page.table(["target", *AUTOBAHN_VERDICTS], rows, table_id="autobahn-verdicts")]
    if not_ok:
        parts.append(page.table(["target", "case", "verdict", "why"], not_ok,
                                table_id="autobahn-not-ok"))
    return parts


def run_parts(results: Results) -> list[str]:
    run = dict(results["run"])
    settings = run.pop("settings", None)
    rows: Sequence[Sequence[str]] = [[key, _text(value)] for key, value in run.items()]
    parts = [page.table(["run", "value"], rows, table_id="run-info")]
    if isinstance(settings, dict) and settings:
        parts.append(page.table(["setting", "value"],
                                [[k, _text(v)] for k, v in settings.items()],
                                table_id="run-settings"))
    return parts


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
