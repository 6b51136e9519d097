"""What one load-generating process measured in the current run.

The hot path only appends nanosecond durations to a list and bumps two counters. Once a
second `fold` moves the pending samples into HDR histograms (microseconds), the timeline
(with the connections open at that moment) and, in one batch per (type, name), Locust's own
statistics.
"""

from __future__ import annotations

import bisect
import collections
import time
from typing import Any, TypedDict

from hdrh.histogram import HdrHistogram
from locust.stats import RequestStats

from loadtests._locust_stats import add_samples
from reports.results import (
    HISTOGRAM_HIGHEST_US,
    decode_histogram,
    encode_histogram,
    new_histogram,
)

Key = tuple[str, str]  # (kind, name): kind is connect, rtt, fanout (results) or send, recv
LOCUST_TYPES = {"connect": "WS CONNECT", "rtt": "WS RTT", "fanout": "WS FANOUT",
                "send": "WS SEND", "recv": "WS RECV"}
TIMELINE_KINDS = ("rtt", "fanout")  # the interval percentiles come from the first one seen


def metric_name(kind: str, name: str) -> str:
    return f"{kind} {name}"


class Snapshot(TypedDict):
    """One process's measurements, as sent from a worker to the master (JSON-able)."""

    metrics: dict[str, dict[str, Any]]  # metric name -> {"kind", "name", "hdr", "errors"}
    errors: dict[str, int]
    close_codes: dict[str, int]
    # [unix second, sent, received, kind, encoded histogram, connections open at its fold]
    intervals: list[list[Any]]
    sent: int
    received: int


class Recorder:
    def __init__(self) -> None:
        self._pending: dict[Key, list[int]] = {}
        self.sent = 0
        self.received = 0
        self.open_connections = 0  # this process's, across runs: a state, not a measurement
        self._folded_open = 0
        self.reset()

    def reset(self) -> None:
        """Start a new run; users keep their sample lists, which are emptied, not replaced."""
        for values in self._pending.values():
            values.clear()
        self.sent = 0
        self.received = 0
        self.histograms: dict[Key, HdrHistogram] = {}
        self.metric_errors: collections.Counter[Key] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.close_codes: collections.Counter[str] = collections.Counter()
        self.intervals: dict[int, list[Any]] = {}
        self.total_sent = 0
        self.total_received = 0
        self.frozen = False

    def samples(self, kind: str, name: str) -> list[int]:
        """The list a user appends nanosecond durations of (kind, name) to."""
        samples = self._pending.get((kind, name))
        if samples is None:
            samples = self._pending[(kind, name)] = []
        return samples

    def failure(self, kind: str, name: str, error_kind: str) -> None:
        if self.frozen:
            return
        self.metric_errors[(kind, name)] += 1
        self.errors[error_kind] += 1

    def opened(self) -> None:
        self.open_connections += 1

    def closed(self, code: int) -> None:
        """A connection that opened has ended, with code."""
        self.open_connections -= 1
        if not self.frozen:
            self.close_codes[str(code)] += 1

    def fold(self, stats: RequestStats | None) -> None:
        """Move pending samples into the histograms, the timeline and Locust's stats."""
        if self.frozen:
            for values in self._pending.values():
                values.clear()
            return
        second = int(time.time())
        present = {kind for (kind, _), values in self._pending.items() if values}
        interval_kind = next((kind for kind in TIMELINE_KINDS if kind in present), "")
        interval = new_histogram() if interval_kind else None
        for (kind, name), values in self._pending.items():
            if not values:
                continue
            batch = values[:]
            values.clear()
            counts = collections.Counter([value // 1000 for value in batch])
            histogram = self.histograms.get((kind, name))
            if histogram is None:
                histogram = self.histograms[(kind, name)] = new_histogram()
            for micros, count in counts.items():
                value = min(max(micros, 1), HISTOGRAM_HIGHEST_US)
                histogram.record_value(value, count)
                if interval is not None and kind == interval_kind:
                    interval.record_value(value, count)
            if stats is not None:
                add_samples(stats, LOCUST_TYPES.get(kind, kind), name,
                            {micros / 1000: count for micros, count in counts.items()})
        sent, received = self.sent, self.received
        self.sent = self.received = 0
        self.total_sent += sent
        self.total_received += received
        connections, folded, self._folded_open = (self.open_connections, self._folded_open,
                                                  self.open_connections)
        if sent or received or interval is not None or connections or connections != folded:
            point = self.intervals.setdefault(second, [0, 0, "", None, 0])
            point[0] += sent
            point[1] += received
            point[4] = connections
            if interval is not None:
                if point[3] is None:
                    point[2], point[3] = interval_kind, interval
                elif point[2] == interval_kind:
                    point[3].add(interval)

    def freeze(self, stats: RequestStats | None) -> None:
        """Fold what is pending and stop recording: the run is over for this process."""
        self.fold(stats)
        self.frozen = True

    def snapshot(self, *, timeline: bool = True) -> Snapshot:
        """The measurements so far, encoded; without the per-second timeline if not timeline
        (a live view needs only the histograms, and the timeline grows with the run)."""
        return Snapshot(
            metrics={
                metric_name(kind, name): {
                    "kind": kind, "name": name, "errors": self.metric_errors[(kind, name)],
                    "hdr": encode_histogram(self.histograms[(kind, name)])
                    if (kind, name) in self.histograms else ""}
                for kind, name in sorted(set(self.histograms) | set(self.metric_errors))},
            errors=dict(self.errors),
            close_codes=dict(self.close_codes),
            intervals=[[second, sent, received, kind,
                        encode_histogram(histogram) if histogram is not None else "", open_]
                       for second, (sent, received, kind, histogram, open_)
                       in sorted(self.intervals.items())] if timeline else [],
            sent=self.total_sent,
            received=self.total_received,
        )


class Merged:
    """Snapshots of several processes added together exactly (histograms included)."""

    def __init__(self) -> None:
        self.histograms: dict[str, HdrHistogram] = {}
        self.kinds: dict[str, str] = {}
        self.metric_errors: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.close_codes: collections.Counter[str] = collections.Counter()
        self.intervals: dict[int, list[Any]] = {}
        # per process: the seconds it folded in, ascending, and the connections open then
        self.connections: list[tuple[list[int], list[int]]] = []
        self.sent = 0
        self.received = 0
        self.processes = 0

    def add(self, snapshot: Snapshot) -> None:
        self.processes += 1
        for name, metric in snapshot["metrics"].items():
            self.kinds[name] = metric["kind"]
            self.metric_errors[name] += metric["errors"]
            histogram = self.histograms.setdefault(name, new_histogram())
            if metric["hdr"]:
                histogram.add(decode_histogram(metric["hdr"]))
        self.errors.update(snapshot["errors"])
        self.close_codes.update(snapshot["close_codes"])
        connections: dict[int, int] = {}
        for second, sent, received, kind, encoded, *open_ in snapshot["intervals"]:
            point = self.intervals.setdefault(int(second), [0, 0, "", None])
            point[0] += sent
            point[1] += received
            if encoded and point[2] in ("", kind):
                point[2] = kind
                point[3] = point[3] or new_histogram()
                point[3].add(decode_histogram(encoded))
            if open_:
                connections[int(second)] = int(open_[0])
        if connections:
            seconds = sorted(connections)
            self.connections.append((seconds, [connections[s] for s in seconds]))
        self.sent += snapshot["sent"]
        self.received += snapshot["received"]

    def open_connections(self, second: int) -> int | None:
        """Connections open at second across the processes, each at its last fold by then
        (a process's fold may miss a second); None if no process counted any."""
        if not self.connections:
            return None
        total = 0
        for seconds, counts in self.connections:
            at = bisect.bisect_right(seconds, second)
            if at:
                total += counts[at - 1]
        return total


RECORDER = Recorder()  # this process's measurements; users append to its sample lists


def empty_snapshot() -> Snapshot:
    return Snapshot(metrics={}, errors={}, close_codes={}, intervals=[], sent=0, received=0)
