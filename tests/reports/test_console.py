"""The console summary of a run: a µs table as the histograms recorded it, then closes and
errors, from constructed results."""

from __future__ import annotations

import re

from reports.console import console_summary
from reports.results import PERCENTILES, LostWorker, Results, decode_histogram
from tests.reports import factory


def table(text: str) -> dict[str, list[str]]:
    """The table's rows by metric name: [count, p50, p90, p99, p99.9, max]."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("metric "))
    assert re.split(r"\s{2,}", lines[start]) == [
        "metric", "count", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"]
    rows = {}
    for line in lines[start + 2:]:
        cells = re.split(r"\s{2,}", line)
        if len(cells) != 7:
            break
        rows[cells[0]] = cells[1:]
    return rows


def test_each_metric_in_microseconds_as_its_histogram_recorded_it() -> None:
    document = factory.results()
    rows = table(console_summary(document))
    assert list(rows) == list(document["metrics"])
    for name, metric in document["metrics"].items():
        histogram = decode_histogram(metric["hdr"])
        expected = [histogram.get_value_at_percentile(float(p)) for p in PERCENTILES]
        assert rows[name] == [str(metric["count"]), *(str(value) for value in expected)]


def test_sub_millisecond_latencies_keep_their_digits() -> None:
    document = factory.results(metrics={"rtt /ws": factory.metric("rtt", [301] * 99 + [1234])})
    assert table(console_summary(document))["rtt /ws"] == ["100", "301", "301", "301", "1234",
                                                          "1234"]


def test_a_metric_without_samples_shows_no_percentiles() -> None:
    document = factory.results(metrics={"connect /ws": factory.metric("connect", [], errors=3)})
    assert table(console_summary(document))["connect /ws"] == ["0", "-", "-", "-", "-", "-"]


def test_close_codes_and_errors_follow_the_table_most_frequent_first() -> None:
    text = console_summary(factory.results(close_codes={"1000": 4, "1011": 9},
                                           errors={"timeout": 2, "closed": 5}))
    lines = text.splitlines()
    assert lines[-2:] == ["close codes: 1011 × 9, 1000 × 4", "errors: closed × 5, timeout × 2"]


def test_nothing_about_closes_or_errors_when_there_were_none() -> None:
    text = console_summary(factory.results(close_codes={}, errors={}))
    assert "close codes" not in text
    assert "errors" not in text
    assert text.splitlines()[0] == ("wsharness: run run-1: latencies in µs "
                                    "(HDR histograms, 3 significant digits)")


def test_a_run_without_metrics_and_with_a_lost_worker() -> None:
    document: Results = factory.results(metrics={}, close_codes={})
    document["lost_workers"] = [LostWorker(id="w1", index=0, last_heard_at=None, t=None,
                                           reason="missed heartbeats")]
    lines = console_summary(document).splitlines()
    assert lines[1:] == ["no latencies measured",
                         "lost worker 0 (w1): never heard from during the run; missed heartbeats"]
