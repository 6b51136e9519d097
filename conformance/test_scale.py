"""Many clients at once: a thousand echo clients, and a room of two hundred that then empties.

Sized for a 2-core machine; every phase is bounded in time (scaled by WSHARNESS_TIMEOUT_SCALE).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest
from websockets.asyncio.client import ClientConnection

from conformance.client import Received, drop, receive, receive_quiet, run
from conformance.crowd import close_many, open_many
from conformance.mismatch import expect_messages
from conformance.spec import Expected, chat_rule_of, echo_reply, left, personal_reply, says
from conformance.streams import check_interleaving, sender_key
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.scale

ECHO_CLIENTS = 1000
ECHO_MESSAGES_PER_CLIENT = 3
ROOM_SIZE = 200
ROOM_MESSAGES_PER_CLIENT = 2
DEPARTURES = 190
FIRST_ROOM_ID = 700_000
SCALE_TIMEOUT_S = scaled(100.0)
FAN_OUT_TIMEOUT_S = scaled(40.0)
STALL_TIMEOUT_S = scaled(10.0)


def test_a_thousand_concurrent_echo_clients_wire(wire: WireTarget) -> None:
    """1,000 clients connected at once all send; each gets exactly its own replies, in order."""
    url = wire.url("/ws")
    sent = [[f"client {c} message {m}" for m in range(ECHO_MESSAGES_PER_CLIENT)]
            for c in range(ECHO_CLIENTS)]
    received = run(echo_from_many(url, sent), SCALE_TIMEOUT_S)
    for client, (messages, got) in enumerate(zip(sent, received, strict=True)):
        expect_messages(f"{ECHO_CLIENTS} clients connected at once to {url}; client {client} "
                        f"sent {messages}", [echo_reply(m) for m in messages], got.messages,
                        got.ending, extra_rule="echo.isolation")


async def echo_from_many(url: str, sent: list[list[str]]) -> list[Received]:
    connections = await open_many([url] * len(sent))
    try:
        async def talk(websocket: ClientConnection, messages: list[str]) -> Received:
            for message in messages:
                await websocket.send(message)
            return await receive(websocket, len(messages), FAN_OUT_TIMEOUT_S, STALL_TIMEOUT_S)
        return list(await asyncio.gather(*(talk(c, m) for c, m in zip(connections, sent,
                                                                        strict=True))))
    finally:
        await close_many(connections)


def test_room_of_two_hundred_then_a_wave_of_departures_wire(wire: WireTarget) -> None:
    """Everyone's messages reach everyone once, in per-sender order; then 190 leave at once
    (half close cleanly, half drop TCP) and the 10 left get exactly 190 `left the chat`."""
    run(room_then_departures(wire.url("/ws/")), SCALE_TIMEOUT_S)


async def room_then_departures(base_url: str) -> None:
    ids = [FIRST_ROOM_ID + n for n in range(ROOM_SIZE)]
    connections = await open_many([f"{base_url}{i}" for i in ids])
    try:
        await everyone_talks(ids, connections)
        await departure_wave(ids, connections)
    finally:
        await close_many(connections)


async def everyone_talks(ids: list[int], connections: list[ClientConnection]) -> None:
    texts = {i: [f"m{n} from {i}" for n in range(ROOM_MESSAGES_PER_CLIENT)] for i in ids}

    async def talk(client_id: int, websocket: ClientConnection) -> Received:
        for text in texts[client_id]:
            await websocket.send(text)
        return await receive(websocket, ROOM_SIZE * ROOM_MESSAGES_PER_CLIENT
                             + ROOM_MESSAGES_PER_CLIENT, FAN_OUT_TIMEOUT_S, STALL_TIMEOUT_S)

    received = await asyncio.gather(*(talk(i, c) for i, c in zip(ids, connections, strict=True)))
    sent = (f"{ROOM_SIZE} clients in the room each sent {ROOM_MESSAGES_PER_CLIENT} messages at "
            "once")
    for receiver, got in zip(ids, received, strict=True):
        streams: dict[Hashable, list[Expected]] = {
            sender_key(s): [says(s, t) for t in texts[s]] for s in ids}
        streams[sender_key(receiver)] = [
            e for t in texts[receiver] for e in (personal_reply(t), says(receiver, t))]
        check_interleaving(f"client #{receiver}", sent, streams, got, chat_rule_of)


async def departure_wave(ids: list[int], connections: list[ClientConnection]) -> None:
    leaving = list(zip(ids[:DEPARTURES], connections[:DEPARTURES], strict=True))
    staying = list(zip(ids[DEPARTURES:], connections[DEPARTURES:], strict=True))

    async def depart(index: int, websocket: ClientConnection) -> None:
        if index % 2:
            drop(websocket)
        else:
            await websocket.close()

    await asyncio.gather(*(depart(n, c) for n, (_, c) in enumerate(leaving)))
    expected_count = len(leaving)
    received = await asyncio.gather(*(receive(c, expected_count, FAN_OUT_TIMEOUT_S, STALL_TIMEOUT_S)
                                      for _, c in staying))
    strays = await asyncio.gather(*(receive_quiet(c) for _, c in staying))
    sent = (f"{DEPARTURES} of the {ROOM_SIZE} clients left at once (even: clean close, odd: "
            "TCP dropped)")
    streams: dict[Hashable, list[Expected]] = {sender_key(i): [left(i)] for i, _ in leaving}
    for (receiver, _), got, stray in zip(staying, received, strays, strict=True):
        ending = stray.ending if len(got.messages) == expected_count else got.ending
        check_interleaving(f"client #{receiver}", sent, streams,
                           Received(got.messages + stray.messages, ending), chat_rule_of)

