"""A run on the console: its latencies in microseconds, then its close codes and errors and
the most connections it held open.

Locust's own table rounds to whole milliseconds (a 0.30 ms round trip reads `0`); this one
prints each metric's percentiles as results.json holds them, from its HDR histogram.
"""

from __future__ import annotations

from collections.abc import Sequence

from reports.measures import PERCENTILE_LABELS, percentiles_us, ranked_counts
from reports.results import Metric, Results
from reports.summary import lost_worker_lines, peak_connections

LATENCY_HEADER = ("metric", "count", *(f"{label} µs" for label in PERCENTILE_LABELS.values()))
NO_SAMPLES = "-"  # a percentile of a metric without samples (every attempt failed)


def latency_row(name: str, metric: Metric) -> list[object]:
    """metric, count, p50, p90, p99, p99.9 and max in µs (NO_SAMPLES when nothing was timed)."""
    if not metric["count"]:
        return [name, 0, *(NO_SAMPLES for _ in PERCENTILE_LABELS)]
    return [name, metric["count"], *percentiles_us(metric).values()]


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Columns padded to their widest cell: the first left-aligned, the others (numbers) right."""
    cells = [[str(value) for value in row] for row in (header, *rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]

    def line(row: list[str]) -> str:
        padded = [value.ljust(width) if column == 0 else value.rjust(width)
                  for column, (value, width) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(padded).rstrip()

    return [line(cells[0]), "  ".join("-" * width for width in widths),
            *(line(row) for row in cells[1:])]


def counts_line(table: dict[str, int]) -> str:
    return ", ".join(f"{key} × {count}" for key, count in ranked_counts(table))


def console_summary(results: Results) -> str:
    """The run's latency table in µs, then close codes, errors, the peak of open connections
    and lost workers if any."""
    lines = [f"wsharness: run {results['run'].get('id', '?')}: latencies in µs "
             "(HDR histograms, 3 significant digits)"]
    rows = [latency_row(name, metric) for name, metric in results["metrics"].items()]
    lines += text_table(LATENCY_HEADER, rows) if rows else ["no latencies measured"]
    if results["close_codes"]:
        lines.append(f"close codes: {counts_line(results['close_codes'])}")
    if results["errors"]:
        lines.append(f"errors: {counts_line(results['errors'])}")
    peak = peak_connections(results)
    if peak is not None:
        lines.append(f"open connections: peak {peak[1]} at {peak[0]:.0f} s")
    lines += [f"lost {line}" for line in lost_worker_lines(results)]
    return "\n".join(lines) + "\n"
