"""Results files built from constructed samples, for the reports tests."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reports.results import (
    SCHEMA,
    Metric,
    MetricKind,
    Results,
    RunInfo,
    TimelinePoint,
    metric_from_histogram,
    new_histogram,
    write_results,
)

START = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)


def latencies_us(median_us: float, count: int, *, seed: int = 1,
                 spread: float = 0.25) -> list[int]:
    """Log-normal-ish samples around a median, reproducible by seed."""
    rng = random.Random(seed)
    return [max(1, round(median_us * rng.lognormvariate(0.0, spread))) for _ in range(count)]


def metric(kind: MetricKind, samples_us: Iterable[int], errors: int = 0) -> Metric:
    histogram = new_histogram()
    for value in samples_us:
        histogram.record_value(value)
    return metric_from_histogram(kind, histogram, errors)


def timeline(seconds: int, users: int, rate: float, p50_ms: float,
             p99_ms: float) -> list[TimelinePoint]:
    return [TimelinePoint(t=float(t), users=min(users, users * t // 2 or users),
                          sent_per_s=rate, received_per_s=rate * 0.99,
                          p50_ms=p50_ms, p99_ms=p99_ms * (1.2 if t == seconds // 2 else 1.0))
            for t in range(1, seconds + 1)]


def results(*, metrics: dict[str, Metric] | None = None, run_id: str = "run-1",
            started: datetime = START, duration_s: float = 10.0, users: int = 20,
            git_rev: str = "0123456789abcdef", close_codes: dict[str, int] | None = None,
            errors: dict[str, int] | None = None,
            points: list[TimelinePoint] | None = None) -> Results:
    """A valid results document; every argument has a plausible default."""
    if metrics is None:
        metrics = {"echo rtt": metric("rtt", latencies_us(400, 5000)),
                   "echo connect": metric("connect", latencies_us(2000, 40, seed=2)),
                   "chat fanout": metric("fanout", latencies_us(900, 3000, seed=3))}
    return Results(
        schema=SCHEMA,
        run=RunInfo(id=run_id, started_at=started.isoformat(),
                    ended_at=(started + timedelta(seconds=duration_s)).isoformat(),
                    target="http://127.0.0.1:8000", users=users, locust_version="2.47.0",
                    git_rev=git_rev, settings={"spawn_rate": 20, "message_size": 32}),
        metrics=metrics,
        close_codes={"1000": 40} if close_codes is None else close_codes,
        errors={} if errors is None else errors,
        timeline=timeline(int(duration_s), users, 500.0, 0.4, 1.5) if points is None else points,
    )


def run_dir(parent: Path, document: Results, name: str = "run-1") -> Path:
    """Write a results file into parent/name and return that run directory."""
    directory = parent / name
    write_results(directory, document)
    return directory
