"""Feed Locust's statistics in batches: one update per (type, name) and fold, not per message.

Does what `RequestStats.log_request` does for each sample, for many samples at once, so the web
UI and the console still show live per-message figures at a fraction of the cost.
"""

from __future__ import annotations

import time
from typing import Any

from locust.stats import RequestStats, bucket_response_time


def add_samples(stats: RequestStats, method: str, name: str, counts_ms: dict[float, int],
                content_length: int = 0) -> None:
    """Log `count` successful requests of each response time (ms) in counts_ms."""
    if not counts_ms:
        return
    now = time.time()
    for entry in (stats.get(name, method), stats.total):
        _add(entry, counts_ms, now, content_length)


def _add(entry: Any, counts_ms: dict[float, int], now: float, content_length: int) -> None:
    second = int(now)
    last = entry.last_request_timestamp
    if entry.use_response_times_cache and last and second > int(last):
        entry._cache_response_times(second - 1)
    number = sum(counts_ms.values())
    entry.num_requests += number
    entry.num_reqs_per_sec[second] += number
    entry.last_request_timestamp = now
    entry.total_content_length += content_length * number
    total = 0.0
    response_times = entry.response_times
    for ms, count in counts_ms.items():
        total += ms * count
        response_times[bucket_response_time(ms)] += count
    entry.total_response_time += total
    lowest, highest = min(counts_ms), max(counts_ms)
    entry.min_response_time = (lowest if entry.min_response_time is None
                               else min(entry.min_response_time, lowest))
    entry.max_response_time = max(entry.max_response_time, highest)
