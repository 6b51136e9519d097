"""The recorder and the merge of worker snapshots, without a Locust run: what the master adds
up from any number of processes, in any order, is what one recorder holds when it records
everything itself, bucket for bucket."""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st
from locust.stats import RequestStats

from loadtests._recorder import (
    LOCUST_TYPES,
    Merged,
    Recorder,
    Snapshot,
    empty_snapshot,
    metric_name,
)
from reports.results import HISTOGRAM_HIGHEST_US, encode_histogram, new_histogram

KINDS = ("connect", "rtt", "fanout", "send", "recv")
NAMES = ("/ws", "/ws/{client_id}")
PROCESSES = 4
TOP_NS = HISTOGRAM_HIGHEST_US * 1000
OPS = ("sample", "sample", "sample", "failure", "opened", "closed", "sent", "received", "fold")


@dataclass(frozen=True)
class Event:
    """One thing a user or the fold loop does to its process's recorder."""

    process: int
    op: str  # one of OPS
    kind: str = "rtt"
    name: str = "/ws"
    value: int = 0  # nanoseconds of a sample, or a close code
    error: str = "timeout"


events = st.builds(
    Event,
    process=st.integers(0, PROCESSES - 1),
    op=st.sampled_from(OPS),
    kind=st.sampled_from(KINDS),
    name=st.sampled_from(NAMES),
    value=st.one_of(st.integers(0, 2000),  # around 1 us, the lowest value recorded
                    st.integers(0, 50_000_000),
                    st.integers(TOP_NS - 10**9, TOP_NS + 10**9)),  # around the highest
    error=st.sampled_from(("timeout", "closed", "wrong_content")),
)


def apply(recorder: Recorder, event: Event) -> None:
    if event.op == "sample":
        recorder.samples(event.kind, event.name).append(event.value)
    elif event.op == "failure":
        recorder.failure(event.kind, event.name, event.error)
    elif event.op == "opened":
        recorder.opened()
    elif event.op == "closed":
        recorder.closed(1000 + event.value % 14)
    elif event.op == "sent":
        recorder.sent += 1
    elif event.op == "received":
        recorder.received += 1
    else:
        recorder.fold(None)


def buckets(histogram: HdrHistogram) -> tuple[int, str]:
    """The sample count and the encoded counts of every bucket (HdrHistogram's own encoding,
    which holds the counts and the histogram's range, and no time stamps)."""
    return histogram.get_total_count(), encode_histogram(histogram)


def expected_histograms(recorded: list[Event]) -> dict[str, tuple[int, str]]:
    """What the samples make, recorded one by one in microseconds (1 us up to the top)."""
    histograms: dict[str, HdrHistogram] = {}
    for event in recorded:
        name = metric_name(event.kind, event.name)
        if event.op == "sample":
            micros = min(max(event.value // 1000, 1), HISTOGRAM_HIGHEST_US)
            histograms.setdefault(name, new_histogram()).record_value(micros)
        elif event.op == "failure":
            histograms.setdefault(name, new_histogram())
    return {name: buckets(histogram) for name, histogram in histograms.items()}


def merged_of(snapshots: list[Snapshot]) -> Merged:
    merged = Merged()
    for snapshot in snapshots:
        merged.add(json.loads(json.dumps(snapshot)))  # as a worker sends it to the master
    return merged


@settings(deadline=None)
@given(recorded=st.lists(events, max_size=120), order=st.permutations(range(PROCESSES)))
def test_snapshots_merged_in_any_order_hold_what_one_recorder_records(
        recorded: list[Event], order: list[int]) -> None:
    alone = Recorder()
    processes = [Recorder() for _ in range(PROCESSES)]
    for event in recorded:
        apply(alone, event)
        apply(processes[event.process], event)
    for recorder in (alone, *processes):
        recorder.freeze(None)
    merged = merged_of([processes[index].snapshot() for index in order])
    single = merged_of([alone.snapshot()])

    expected = expected_histograms(recorded)
    for result in (merged, single):
        assert {name: buckets(h) for name, h in result.histograms.items()} == expected
        assert result.kinds == {metric_name(e.kind, e.name): e.kind
                                for e in recorded if e.op in ("sample", "failure")}
        assert result.metric_errors == collections.Counter(
            metric_name(e.kind, e.name) for e in recorded if e.op == "failure")
        assert result.errors == collections.Counter(e.error for e in recorded
                                                    if e.op == "failure")
        assert result.close_codes == collections.Counter(
            str(1000 + e.value % 14) for e in recorded if e.op == "closed")
        assert result.sent == sum(1 for e in recorded if e.op == "sent")
        assert result.received == sum(1 for e in recorded if e.op == "received")
        assert sum(point[0] for point in result.intervals.values()) == result.sent
        assert sum(point[1] for point in result.intervals.values()) == result.received
    assert merged.processes == PROCESSES
    assert alone.open_connections == sum(p.open_connections for p in processes)


def test_an_empty_snapshot_adds_a_process_and_nothing_else() -> None:
    merged = merged_of([empty_snapshot()])
    assert merged.processes == 1
    assert (merged.histograms, merged.errors, merged.close_codes, merged.intervals) == (
        {}, {}, {}, {})
    assert merged.sent == merged.received == 0


def test_a_frozen_recorder_keeps_what_it_had_and_drops_what_comes_after() -> None:
    recorder = Recorder()
    rtt = recorder.samples("rtt", "/ws")
    rtt.extend([2_000_000, 3_000_000])
    recorder.closed(1000)
    recorder.freeze(None)
    before = recorder.snapshot()
    rtt.append(4_000_000)
    recorder.sent += 1
    recorder.failure("rtt", "/ws", "timeout")
    recorder.closed(1006)
    recorder.fold(None)
    assert rtt == []  # what users append after the end is dropped at the next fold
    assert recorder.snapshot() == before


def test_reset_empties_the_lists_users_hold_and_starts_a_new_run() -> None:
    recorder = Recorder()
    rtt = recorder.samples("rtt", "/ws")
    rtt.append(1_000_000)
    recorder.failure("rtt", "/ws", "timeout")
    recorder.freeze(None)
    recorder.reset()
    assert recorder.samples("rtt", "/ws") is rtt
    assert rtt == []
    assert not recorder.frozen
    assert recorder.snapshot() == empty_snapshot()


def test_a_fold_times_its_interval_by_round_trips_else_fan_out() -> None:
    """The timeline's percentiles of one fold come from the first of rtt, fanout it holds."""
    both, fanout_only = Recorder(), Recorder()
    both.samples("rtt", "/ws").extend([1_000_000] * 3)
    both.samples("fanout", "/ws/{client_id}").extend([5_000_000] * 7)
    fanout_only.samples("fanout", "/ws/{client_id}").extend([5_000_000] * 7)
    for recorder, kind, count in ((both, "rtt", 3), (fanout_only, "fanout", 7)):
        recorder.fold(None)
        [(sent, received, interval_kind, histogram, _)] = recorder.intervals.values()
        assert (sent, received, interval_kind) == (0, 0, kind)
        assert histogram.get_total_count() == count


def test_a_fold_notes_the_connections_open_while_any_are_and_when_the_count_changes() -> None:
    recorder = Recorder()
    for _ in range(3):
        recorder.opened()
    recorder.closed(1000)
    recorder.fold(None)
    assert [point[4] for point in recorder.intervals.values()] == [2]
    recorder.intervals.clear()
    recorder.closed(1000)
    recorder.closed(1001)
    recorder.fold(None)  # down to none: noted once
    assert [point[4] for point in recorder.intervals.values()] == [0]
    recorder.intervals.clear()
    recorder.fold(None)
    assert recorder.intervals == {}
    assert recorder.close_codes == {"1000": 2, "1001": 1}


def connections_snapshot(points: dict[int, int]) -> Snapshot:
    snapshot = empty_snapshot()
    snapshot["intervals"] = [[second, 0, 0, "", "", count] for second, count in points.items()]
    return snapshot


def test_open_connections_add_up_with_each_process_at_its_last_fold() -> None:
    """A busy process may fold once in two seconds: its count holds until its next fold."""
    merged = merged_of([connections_snapshot({100: 5, 102: 7}), connections_snapshot({101: 3}),
                        interval_snapshot(100, "rtt", [1000])])  # a process that counts none
    assert [merged.open_connections(second) for second in range(99, 104)] == [0, 5, 8, 10, 10]
    assert sorted(merged.intervals) == [100, 101, 102]
    assert merged_of([interval_snapshot(100, "rtt", [1000])]).open_connections(100) is None


def interval_snapshot(second: int, kind: str, micros: list[int]) -> Snapshot:
    """An interval as a process of an earlier version sends it: without its connections."""
    histogram = new_histogram()
    for value in micros:
        histogram.record_value(value)
    snapshot = empty_snapshot()
    snapshot["intervals"] = [[second, len(micros), 2 * len(micros), kind,
                              encode_histogram(histogram)]]
    return snapshot


def test_intervals_of_the_same_second_add_up_when_they_time_the_same_kind() -> None:
    merged = merged_of([interval_snapshot(100, "rtt", [1000, 2000]),
                        interval_snapshot(100, "rtt", [3000]),
                        interval_snapshot(100, "fanout", [4000, 5000, 6000]),
                        interval_snapshot(101, "fanout", [7000])])
    sent, received, kind, histogram = merged.intervals[100]
    assert (sent, received, kind) == (6, 12, "rtt")  # every process's counts
    assert histogram.get_total_count() == 3  # the fan-out of that second is not mixed in
    assert merged.intervals[101][2:3] == ["fanout"]


def test_a_fold_feeds_locust_one_entry_per_type_and_name_in_milliseconds() -> None:
    recorder, stats = Recorder(), RequestStats()
    recorder.samples("rtt", "/ws").extend([1_500_000, 1_500_999, 30_000_000])
    recorder.samples("send", "/ws").append(20_000)
    recorder.fold(stats)
    rtt = stats.get("/ws", LOCUST_TYPES["rtt"])
    assert rtt.num_requests == 3
    assert (rtt.min_response_time, rtt.max_response_time) == (1.5, 30.0)  # whole microseconds
    assert stats.get("/ws", LOCUST_TYPES["send"]).num_requests == 1
    assert stats.total.num_requests == 4
