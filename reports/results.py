"""The results file of a load run: its schema, writer, validating reader and histogram codec.

`reports` owns this format; load runs write it, everything in `reports` reads only it.
Histograms hold microseconds (1 us to 10 min, 3 significant digits). Fields added to
schema 1 after its first readers are optional (`lost_workers`, a timeline point's
`connections`, the run's `server`): files without them still load.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from hdrh.histogram import HdrHistogram

from reports.textfile import read_text

SCHEMA = "wsharness.results/1"
RESULTS_FILE = "results.json"
PERCENTILES = ("50", "90", "99", "99.9", "100")
MetricKind = Literal["connect", "rtt", "fanout"]
METRIC_KINDS: tuple[MetricKind, ...] = ("connect", "rtt", "fanout")

HISTOGRAM_LOWEST_US = 1
HISTOGRAM_HIGHEST_US = 600_000_000
HISTOGRAM_DIGITS = 3


class RunInfo(TypedDict, total=False):
    id: str
    started_at: str
    ended_at: str
    target: str
    server: str  # what served an embedded target: `granian 2.8.9`, `uvicorn 0.54.0 --ws wsproto`
    users: int
    locust_version: str
    git_rev: str
    settings: dict[str, Any]


class Metric(TypedDict):
    kind: MetricKind
    count: int
    errors: int
    mean_ms: float
    percentiles_ms: dict[str, float]
    hdr: str


class TimelinePoint(TypedDict):
    t: float  # seconds since the run started (the whole second the point covers)
    users: int
    sent_per_s: float
    received_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    connections: NotRequired[int]  # WebSocket connections open then, across the processes


class LostWorker(TypedDict):
    """A worker of a distributed run whose measurements are missing from the results."""

    id: str  # Locust's client id of the worker
    index: int | None  # Locust's worker index (0-based), if the master gave it one
    last_heard_at: str | None  # ISO time of its last heartbeat or report: it died after that
    t: float | None  # the same, in seconds since the run started (as the timeline's t)
    reason: str  # how the master knew: "missed heartbeats", "quit", "no measurements"


class Results(TypedDict):
    schema: str
    run: RunInfo
    metrics: dict[str, Metric]
    close_codes: dict[str, int]
    errors: dict[str, int]
    timeline: list[TimelinePoint]
    lost_workers: NotRequired[list[LostWorker]]


class ResultsError(Exception):
    """A results file that is missing, malformed or of an unknown schema (one-line message)."""


def new_histogram() -> HdrHistogram:
    return HdrHistogram(HISTOGRAM_LOWEST_US, HISTOGRAM_HIGHEST_US, HISTOGRAM_DIGITS)


def encode_histogram(histogram: HdrHistogram) -> str:
    return cast(bytes, histogram.encode()).decode("ascii")


def decode_histogram(encoded: str) -> HdrHistogram:
    if not encoded:
        return new_histogram()
    try:
        return HdrHistogram.decode(encoded.encode("ascii"))
    except Exception as exc:
        raise ResultsError(f"undecodable histogram: {exc}") from exc


def histogram_percentiles_us(histogram: HdrHistogram) -> dict[str, int]:
    """The PERCENTILES of a microsecond histogram, in microseconds (0 when it is empty).

    One pass over the counts; no mean (a pass of its own, ~100x slower), so a live view can
    afford it every time it refreshes.
    """
    if not histogram.get_total_count():
        return dict.fromkeys(PERCENTILES, 0)
    values = histogram.get_percentile_to_value_dict([float(p) for p in PERCENTILES])
    return {p: int(values[float(p)]) for p in PERCENTILES}


def metric_from_histogram(kind: MetricKind, histogram: HdrHistogram, errors: int) -> Metric:
    """Summarise a microsecond histogram as a results-file metric, milliseconds out."""
    count = int(histogram.get_total_count())
    percentiles = {p: us / 1000 for p, us in histogram_percentiles_us(histogram).items()}
    return Metric(
        kind=kind,
        count=count,
        errors=errors,
        mean_ms=histogram.get_mean_value() / 1000 if count else 0.0,
        percentiles_ms=percentiles,
        hdr=encode_histogram(histogram) if count else "",
    )


def write_results(run_dir: Path, results: Results) -> Path:
    """Write `results.json` into run_dir (created if needed) atomically; return its path."""
    validate(cast(dict[str, Any], results), source=str(run_dir))
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def results_path(path: Path) -> Path:
    """Accept a run directory or a results file; return the results file."""
    return path / RESULTS_FILE if path.is_dir() else path


def load_results(path: Path) -> Results:
    """Read and validate a results file (or a run directory holding one)."""
    file = results_path(path)
    text = read_text(file, "results file", ResultsError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{file}: malformed JSON: {exc}") from None
    validate(data, source=str(file))
    return cast(Results, data)


def validate(data: Any, *, source: str) -> None:
    """Raise ResultsError naming the first thing that does not fit the schema."""
    problem = _schema_problem(data)
    if problem:
        raise ResultsError(f"{source}: {problem}")


def _schema_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("schema") != SCHEMA:
        return f"unknown schema {data.get('schema')!r} (expected {SCHEMA!r})"
    for key, kind in (("run", dict), ("metrics", dict), ("close_codes", dict),
                      ("errors", dict), ("timeline", list)):
        if not isinstance(data.get(key), kind):
            return f"field {key!r} missing or not a {kind.__name__}"
    for name, metric in data["metrics"].items():
        problem = _metric_problem(metric)
        if problem:
            return f"metric {name!r}: {problem}"
    for table in ("close_codes", "errors"):
        for key, count in data[table].items():
            if not isinstance(count, int):
                return f"{table}[{key!r}] is not an integer"
    if any(not isinstance(p, dict) or not _is_number(p.get("t")) for p in data["timeline"]):
        return "timeline point without a numeric 't'"
    if any("connections" in p and not (_is_number(p["connections"]) and p["connections"] >= 0
                                       and isinstance(p["connections"], int))
           for p in data["timeline"]):
        return "timeline point whose 'connections' is not a non-negative integer"
    lost = data.get("lost_workers", [])
    if not isinstance(lost, list) or any(
            not isinstance(w, dict) or not isinstance(w.get("id"), str) for w in lost):
        return "'lost_workers' is not a list of workers with an 'id'"
    return None


def _metric_problem(metric: Any) -> str | None:
    if not isinstance(metric, dict):
        return "not an object"
    if metric.get("kind") not in METRIC_KINDS:
        return f"unknown kind {metric.get('kind')!r}"
    for field in ("count", "errors"):
        if not isinstance(metric.get(field), int) or metric[field] < 0:
            return f"{field!r} is not a non-negative integer"
    if not _is_number(metric.get("mean_ms")):
        return "'mean_ms' is not a number"
    percentiles = metric.get("percentiles_ms")
    if not isinstance(percentiles, dict) or any(
        not _is_number(percentiles.get(p)) for p in PERCENTILES
    ):
        return f"'percentiles_ms' lacks one of {', '.join(PERCENTILES)}"
    if not isinstance(metric.get("hdr"), str):
        return "'hdr' is not a string"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
