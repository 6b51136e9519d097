"""What `GET /metrics` of the default app shows, in Prometheus' text format.

The endpoints keep their counts in `TRAFFIC` as plain ints (a dict increment per message);
the chat room is read through `RoomGauges`. Nothing is computed until a scrape, when
`REGISTRY` (this app's own, not prometheus_client's global one) turns them into:

    wsharness_open_connections{endpoint}       gauge: accepted and not yet ended
    wsharness_messages_received_total{endpoint} counter: messages from clients
    wsharness_messages_sent_total{endpoint}     counter: messages to clients
    wsharness_room_members                      gauge: members of the chat room
    wsharness_queued_bytes                      gauge: bytes waiting in members' send buffers
    wsharness_evictions_total{reason}           counter: members closed by the server
    wsharness_broadcast_up                      gauge: 1 while a Redis room has its Redis
    wsharness_broadcast_backlog                 gauge: messages from Redis awaiting the relay

plus prometheus_client's process_* (resident memory, open fds, CPU), python_gc_* and
python_info. Endpoint labels: `echo` (/ws), `items` (/items/{item_id}/ws), `chat`
(/ws/{client_id}), `raw` (/raw). Each process (each uvicorn worker) counts its own traffic.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

ENDPOINTS = ("echo", "items", "chat", "raw")
# always shown, 0 until it happens
EVICTION_REASONS = ("broadcast_lost", "stalled", "unsupported_data")

__all__ = ["CONTENT_TYPE_LATEST", "REGISTRY", "TRAFFIC", "RoomGauges", "Traffic",
           "exposition", "register_room"]


class Traffic:
    """Counts kept by the endpoints; plain ints on the hot path, read on scrape."""

    def __init__(self) -> None:
        self.open_connections: collections.Counter[str] = collections.Counter()
        self.messages_in: collections.Counter[str] = collections.Counter()
        self.messages_out: collections.Counter[str] = collections.Counter()


class RoomGauges(Protocol):
    @property
    def member_count(self) -> int: ...  # members in the room

    @property
    def queued_bytes(self) -> int: ...  # bytes waiting in members' send buffers

    @property
    def evictions(self) -> collections.Counter[str]: ...  # reason -> members closed by the server

    @property
    def messages_sent(self) -> int: ...  # messages sent to members, counted by the room itself


TRAFFIC = Traffic()
_rooms: list[RoomGauges] = []  # at most one: the room whose gauges /metrics shows


def register_room(room: RoomGauges) -> None:
    """Show this room's gauges on /metrics (replacing any room registered before)."""
    _rooms[:] = [room]


class _AppCollector:
    """Turns TRAFFIC and the registered room into metric families at each scrape."""

    def collect(self) -> Iterable[Metric]:
        open_connections = GaugeMetricFamily(
            "wsharness_open_connections", "WebSocket connections accepted and not yet ended",
            labels=["endpoint"])
        received = CounterMetricFamily(
            "wsharness_messages_received", "Messages received from clients", labels=["endpoint"])
        sent = CounterMetricFamily(
            "wsharness_messages_sent", "Messages sent to clients", labels=["endpoint"])
        messages_out = TRAFFIC.messages_out.copy()
        if _rooms:
            messages_out["chat"] += _rooms[0].messages_sent
        for endpoint in ENDPOINTS:
            open_connections.add_metric([endpoint], TRAFFIC.open_connections[endpoint])
            received.add_metric([endpoint], TRAFFIC.messages_in[endpoint])
            sent.add_metric([endpoint], messages_out[endpoint])
        yield from (open_connections, received, sent)
        if not _rooms:
            return
        room = _rooms[0]
        yield GaugeMetricFamily("wsharness_room_members", "Members of the chat room",
                                value=room.member_count)
        yield GaugeMetricFamily("wsharness_queued_bytes",
                                "Bytes waiting in chat members' send buffers",
                                value=room.queued_bytes)
        evictions = CounterMetricFamily(
            "wsharness_evictions", "Chat members closed by the server, by reason",
            labels=["reason"])
        counts = room.evictions
        for reason in sorted({*EVICTION_REASONS, *counts}):
            evictions.add_metric([reason], counts[reason])
        yield evictions
        up, backlog = getattr(room, "up", None), getattr(room, "relay_backlog", None)
        if up is not None and backlog is not None:  # a room relayed through Redis
            yield GaugeMetricFamily("wsharness_broadcast_up",
                                    "1 while the chat room is connected to its Redis", value=up)
            yield GaugeMetricFamily("wsharness_broadcast_backlog",
                                    "Messages from Redis waiting for this worker's relay",
                                    value=backlog)


REGISTRY = CollectorRegistry()
REGISTRY.register(_AppCollector())
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


def exposition() -> bytes:
    """The scrape's body, for a response of type CONTENT_TYPE_LATEST."""
    return generate_latest(REGISTRY)
