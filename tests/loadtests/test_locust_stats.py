"""Locust's statistics fed in batches (add_samples) hold what `RequestStats.log_request` makes
of the same samples one at a time: the table, its percentiles and its per-second counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from locust.stats import PERCENTILES_TO_REPORT, RequestStats, StatsEntry

from loadtests._locust_stats import add_samples

T = TypeVar("T")
METHOD, NAME = "WS RTT", "/ws"
SECOND_TRIES = 5

Batch = dict[float, int]  # response time in ms -> how many samples took it

batches = st.lists(
    st.dictionaries(st.integers(0, 100_000_000).map(lambda micros: micros / 1000),  # as fold
                    st.integers(1, 40), min_size=1, max_size=12),
    min_size=1, max_size=5)


def in_one_second(build: Callable[[], T]) -> T:
    """build(), called again until one call begins and ends in the same wall-clock second:
    Locust keys its per-second counts (and its cache of past tables) by that second."""
    for _ in range(SECOND_TRIES):
        second = int(time.time())
        built = build()
        if int(time.time()) == second:
            return built
    raise AssertionError(f"no {SECOND_TRIES} tries stayed within one second")


def log_each(stats: RequestStats, batch: Batch, content_length: int) -> None:
    for ms, count in batch.items():
        for _ in range(count):
            stats.log_request(METHOD, NAME, ms, content_length)  # type: ignore[arg-type]


def table(entry: StatsEntry) -> dict[str, Any]:
    """What Locust shows and sends of an entry (the last request's time stamp aside, to the
    second: each side took its own)."""
    return {
        "num_requests": entry.num_requests,
        "response_times": dict(entry.response_times),
        "min": entry.min_response_time,
        "max": entry.max_response_time,
        "median": entry.median_response_time,
        "percentiles": [entry.get_response_time_percentile(p) for p in PERCENTILES_TO_REPORT],
        "row": entry.percentile(),
        "num_reqs_per_sec": dict(entry.num_reqs_per_sec),
        "last_second": int(entry.last_request_timestamp or 0),
        "content_length": entry.total_content_length,
        "cache": dict(entry.response_times_cache or {}),
        # a sum of floats in another order: equal to the last few bits
        "total_response_time": pytest.approx(entry.total_response_time, rel=1e-12),
    }


def both_tables(fed: list[tuple[RequestStats, RequestStats]]) -> None:
    for batched, each in fed:
        for name in ("entry", "total"):
            batched_entry = batched.get(NAME, METHOD) if name == "entry" else batched.total
            each_entry = each.get(NAME, METHOD) if name == "entry" else each.total
            assert table(batched_entry) == table(each_entry), name


@settings(deadline=None)
@given(fed=batches, content_length=st.integers(0, 100))
def test_batches_make_the_table_that_one_request_at_a_time_makes(
        fed: list[Batch], content_length: int) -> None:
    def build() -> tuple[RequestStats, RequestStats]:
        batched, each = RequestStats(), RequestStats()
        for batch in fed:
            add_samples(batched, METHOD, NAME, batch, content_length)
            log_each(each, batch, content_length)
        return batched, each

    both_tables([in_one_second(build)])


def test_a_batch_in_a_later_second_caches_the_table_before_it_as_log_request_does() -> None:
    """The cache of past tables gives the web UI its current percentiles."""
    first: Batch = {1.5: 3, 20.0: 1}
    later: Batch = {2.25: 2, 300.0: 4}
    for _ in range(SECOND_TRIES):  # each feed within one second, the second feed in a later one
        batched, each = RequestStats(), RequestStats()
        second = int(time.time())
        add_samples(batched, METHOD, NAME, first)
        log_each(each, first, 0)
        if int(time.time()) != second:
            continue
        deadline = time.monotonic() + 2
        while int(time.time()) == second:  # the next second, not a duration
            assert time.monotonic() < deadline, "the wall clock did not move on"
            time.sleep(0.01)
        later_second = int(time.time())
        add_samples(batched, METHOD, NAME, later)
        log_each(each, later, 0)
        if int(time.time()) == later_second:
            break
    else:
        raise AssertionError(f"no {SECOND_TRIES} tries stayed within their seconds")
    assert second in (batched.total.response_times_cache or {})
    both_tables([(batched, each)])


def test_an_empty_batch_changes_nothing() -> None:
    stats = RequestStats()
    add_samples(stats, METHOD, NAME, {})
    assert (NAME, METHOD) not in stats.entries
    assert stats.total.num_requests == 0
