"""Binary data where the protocol has only text: its sender is closed cleanly, and the chat room
goes on without it.

The chat checks break a room that keeps a dead member (as the documented code does), so with
--app each runs on a server of its own; with --url they run on the target, which they may
leave broken for the checks after them.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import ClientConnection

from conformance.client import (
    CLOSE_TIMEOUT_S,
    REPLY_TIMEOUT_S,
    Received,
    open_connection,
    receive_quiet,
    run,
)
from conformance.closes import read_until_closed
from conformance.crowd import close_many, read_until_seen, without_outsiders_leaving
from conformance.hardening_target import ServeOwnOrUrl
from conformance.mismatch import SpecMismatch, expect_messages
from conformance.spec import Expected, left, personal_reply, says
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.hardening

PAYLOAD = b"\x00binary\xff"
SOCKETS = {"echo": "/ws", "items": "/items/foo/ws?token=t", "chat": "/ws/860001"}
SENDER, FIRST_WATCHER, SECOND_WATCHER = 860_002, 860_003, 860_004
MESSAGE = "after the binary frame"
MAX_READ_MESSAGES = 100  # in a room, before the messages waited for
CHECK_TIMEOUT_S = scaled(30.0)
ROOM_READ_TIMEOUT_S = scaled(10.0)


async def closing_after_binary(url: str) -> int | str:
    """Send binary data; the close code that follows (whatever came first), or what did."""
    websocket = await open_connection(url)
    try:
        await websocket.send(PAYLOAD)
        return await read_until_closed(websocket, CLOSE_TIMEOUT_S)
    finally:
        await websocket.close()


def check_binary_closes_its_sender(target: WireTarget, socket: str) -> None:
    url = target.url(SOCKETS[socket])
    outcome = run(closing_after_binary(url), CHECK_TIMEOUT_S)
    if not isinstance(outcome, int):
        raise SpecMismatch("hardening.binary-close", sent=f"{url}: a binary message {PAYLOAD!r}",
                           expected="a close frame (any code)", arrived=outcome)


@pytest.mark.parametrize("socket", ["echo", "items"])
def test_binary_data_closes_its_sender_cleanly_wire(wire: WireTarget, socket: str) -> None:
    check_binary_closes_its_sender(wire, socket)


def test_binary_data_closes_a_chat_member_cleanly_wire(
        own_server_or_url: ServeOwnOrUrl) -> None:
    with own_server_or_url() as target:
        check_binary_closes_its_sender(target, "chat")


def test_binary_data_leaves_the_chat_room_working_wire(
        own_server_or_url: ServeOwnOrUrl) -> None:
    """The binary sender joins first, as the member a broadcast reaches first; two others
    then get its departure and a broadcast after it."""
    with own_server_or_url() as target:
        watchers = (FIRST_WATCHER, SECOND_WATCHER)
        received = run(room_after_binary(target, watchers), CHECK_TIMEOUT_S)
    gone = left(SENDER)._replace(rule="hardening.binary-room")
    after = says(FIRST_WATCHER, MESSAGE)._replace(rule="hardening.binary-room")
    expected: dict[int, list[Expected]] = {
        FIRST_WATCHER: [gone, personal_reply(MESSAGE)._replace(rule="hardening.binary-room"),
                        after],
        SECOND_WATCHER: [gone, after],
    }
    for watcher, everything in zip(watchers, received, strict=True):
        got = without_outsiders_leaving(everything, [SENDER])
        expect_messages(f"chat members #{SENDER}, #{FIRST_WATCHER}, #{SECOND_WATCHER} joined in "
                        f"that order; #{SENDER} sent a binary message {PAYLOAD!r}; then, once "
                        f"both others had its departure, #{FIRST_WATCHER} sent {MESSAGE!r}; "
                        f"member #{watcher} reads",
                        expected[watcher], got.messages, got.ending,
                        extra_rule="hardening.binary-room")


async def room_after_binary(target: WireTarget, watchers: tuple[int, ...]) -> list[Received]:
    sender = await open_connection(target.url(f"/ws/{SENDER}"))
    members: list[ClientConnection] = [sender]
    try:
        for watcher in watchers:
            members.append(await open_connection(target.url(f"/ws/{watcher}")))
        await sender.send(PAYLOAD)
        departures = await asyncio.gather(*(
            read_until_seen(m, [left(SENDER).text], MAX_READ_MESSAGES, ROOM_READ_TIMEOUT_S,
                            REPLY_TIMEOUT_S) for m in members[1:]))
        if not all(left(SENDER).text in d.messages for d in departures):
            return departures
        await members[1].send(MESSAGE)
        after = await asyncio.gather(*(
            read_until_seen(m, [says(FIRST_WATCHER, MESSAGE).text], MAX_READ_MESSAGES,
                            ROOM_READ_TIMEOUT_S, REPLY_TIMEOUT_S) for m in members[1:]))
        strays = await asyncio.gather(*(receive_quiet(m) for m in members[1:]))
        return [Received(d.messages + a.messages + s.messages, s.ending)
                for d, a, s in zip(departures, after, strays, strict=True)]
    finally:
        await close_many(members)
