"""Figures derived from a results file: run duration, throughput, error share, HDR curves."""

from __future__ import annotations

from datetime import datetime

from reports.charts import PERCENTILE_DECADES, percentile_to_x
from reports.results import PERCENTILES, Metric, Results, decode_histogram

CURVE_POINTS = 96
PERCENTILE_LABELS = dict(zip(PERCENTILES, ("p50", "p90", "p99", "p99.9", "max"), strict=True))


def run_duration_s(results: Results) -> float | None:
    """Seconds between the run's start and end stamps, else the span of its timeline."""
    run = results["run"]
    try:
        started = datetime.fromisoformat(run.get("started_at", ""))
        ended = datetime.fromisoformat(run.get("ended_at", ""))
        seconds = (ended - started).total_seconds()
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds > 0:
        return seconds
    times = [p["t"] for p in results["timeline"]]
    if len(times) < 2:
        return None
    return (max(times) - min(times)) or None


def error_share(metric: Metric) -> float:
    """Errors as a fraction of all attempts (samples plus errors)."""
    attempts = metric["count"] + metric["errors"]
    return metric["errors"] / attempts if attempts else 0.0


def percentiles_us(metric: Metric) -> dict[str, int]:
    """The metric's PERCENTILES in whole microseconds, as its histogram recorded them."""
    return {p: round(metric["percentiles_ms"][p] * 1000) for p in PERCENTILES}


def ranked_counts(table: dict[str, int]) -> list[tuple[str, int]]:
    """Close codes or errors by kind, the most frequent first (ties in the file's order)."""
    return sorted(table.items(), key=lambda item: -item[1])


def throughput_per_s(metric: Metric, duration_s: float | None) -> float | None:
    return metric["count"] / duration_s if duration_s else None


def percentile_curve(metric: Metric) -> list[tuple[float, float]]:
    """(percentile axis position, ms) from 0 % to 99.99 %, read off the metric's histogram."""
    histogram = decode_histogram(metric["hdr"])
    if not histogram.get_total_count():
        return []
    percentiles = [100.0 * (1.0 - 10.0 ** (-PERCENTILE_DECADES * step / CURVE_POINTS))
                   for step in range(CURVE_POINTS + 1)]
    values = histogram.get_percentile_to_value_dict(percentiles)  # one pass, not one each
    return [(percentile_to_x(percentile), values[percentile] / 1000.0)
            for percentile in percentiles]
