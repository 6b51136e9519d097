"""Build the results file (schema owned by reports.results) from merged measurements."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, cast

import locust

from loadtests._git import git_rev
from loadtests._recorder import Merged
from reports.results import (
    METRIC_KINDS,
    SCHEMA,
    LostWorker,
    MetricKind,
    Results,
    RunInfo,
    TimelinePoint,
    metric_from_histogram,
)


def iso_utc(unix_s: float) -> str:
    return datetime.datetime.fromtimestamp(unix_s, datetime.UTC).isoformat(timespec="milliseconds")


def build_results(*, run_id: str, started_s: float, ended_s: float, target: str, users: int,
                  repo: Path, settings: dict[str, Any], merged: Merged,
                  users_by_second: dict[int, int],
                  lost_workers: list[LostWorker] | None = None,
                  server: str | None = None) -> Results:
    metrics = {
        name: metric_from_histogram(cast(MetricKind, merged.kinds[name]), histogram,
                                    merged.metric_errors[name])
        for name, histogram in sorted(merged.histograms.items())
        if merged.kinds[name] in METRIC_KINDS}
    run = RunInfo(id=run_id, started_at=iso_utc(started_s), ended_at=iso_utc(ended_s),
                  target=target, users=users, locust_version=locust.__version__,
                  git_rev=git_rev(repo), settings=settings)
    if server is not None:
        run["server"] = server
    results = Results(schema=SCHEMA, run=run, metrics=metrics,
                      close_codes=dict(sorted(merged.close_codes.items())),
                      errors=dict(sorted(merged.errors.items())),
                      timeline=timeline(merged, int(started_s), users_by_second))
    if lost_workers:
        results["lost_workers"] = lost_workers
    return results


def timeline(merged: Merged, start_second: int,
             users_by_second: dict[int, int]) -> list[TimelinePoint]:
    points = []
    known = sorted(users_by_second)
    for second, (sent, received, _kind, histogram) in sorted(merged.intervals.items()):
        users = users_by_second.get(second)
        if users is None:
            earlier = [s for s in known if s <= second]
            users = users_by_second[earlier[-1]] if earlier else 0
        values: dict[float, int] = {}
        if histogram is not None and histogram.get_total_count() > 0:
            values = histogram.get_percentile_to_value_dict([50.0, 99.0])  # one pass
        point = TimelinePoint(
            t=float(second - start_second), users=users,
            sent_per_s=float(sent), received_per_s=float(received),
            p50_ms=values[50.0] / 1000 if values else None,
            p99_ms=values[99.0] / 1000 if values else None)
        connections = merged.open_connections(second)
        if connections is not None:
            point["connections"] = connections
        points.append(point)
    return points
