"""Many connections at once: open them, pipeline messages through them while reading what
arrives, and leave a chat room empty afterwards. Every loop is bounded in count and time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TypeVar

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from conformance.client import REPLY_TIMEOUT_S, Message, Received, open_connection, receive
from conformance.spec import left
from wsharness.timeouts import scaled

CONCURRENT_HANDSHAKES = 100
EMPTYING_TIMEOUT_S = scaled(10.0)
ANY_LEFT = re.compile(r"Client #-?\d+ left the chat")

T = TypeVar("T")


async def bounded(limit: asyncio.Semaphore, work: Awaitable[T]) -> T:
    async with limit:
        return await work


async def open_many(urls: Sequence[str]) -> list[ClientConnection]:
    """Open all connections (a bounded number of handshakes at a time); all stay open."""
    limit = asyncio.Semaphore(CONCURRENT_HANDSHAKES)
    results = await asyncio.gather(*(bounded(limit, open_connection(u)) for u in urls),
                                   return_exceptions=True)
    connections = [r for r in results if isinstance(r, ClientConnection)]
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await close_many(connections)
        raise failures[0]
    return connections


async def close_many(connections: Sequence[ClientConnection]) -> None:
    await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)


async def send_all(websocket: ClientConnection, texts: Sequence[str]) -> int:
    """Send every text without waiting for replies; how many went before the server closed."""
    for sent, text in enumerate(texts):
        try:
            await websocket.send(text)
        except ConnectionClosed:
            return sent
    return len(texts)


async def read_until_seen(websocket: ClientConnection, wanted: Collection[str], limit: int,
                          timeout_s: float, idle_s: float, *,
                          on_message: Callable[[Message], None] | None = None) -> Received:
    """Read until every wanted text has arrived, or limit messages did: at most timeout_s in
    all, at most idle_s between two messages. on_message sees each message as it arrives."""
    missing = set(wanted)
    messages: list[Message] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        async with asyncio.timeout_at(min(deadline, loop.time() + idle_s)) as reading:
            while missing and len(messages) < limit:
                message = await websocket.recv()
                messages.append(message)
                if isinstance(message, str):
                    missing.discard(message)
                if on_message is not None:
                    on_message(message)
                reading.reschedule(min(deadline, loop.time() + idle_s))
    except TimeoutError:
        return Received(messages, f"nothing more within {idle_s:.1f}s (or {timeout_s:.0f}s in "
                        f"all), {len(missing)} expected message(s) still missing")
    except ConnectionClosed as exc:
        return Received(messages, f"the connection closed ({exc})")
    return Received(messages, "nothing more")


def without_outsiders_leaving(received: Received, members: Collection[int]) -> Received:
    """received less the `left the chat` of clients outside members. The last client of an
    earlier check may be announced to this check's clients: its close completes before the
    server announces it, and the protocol orders a departure after that client's own messages,
    not against another client's join."""
    ours = {left(i).text for i in members}
    kept = [m for m in received.messages
            if not (isinstance(m, str) and ANY_LEFT.fullmatch(m) and m not in ours)]
    return Received(kept, received.ending)


async def empty_room(members: Sequence[ClientConnection]) -> None:
    """Close every member, the last only after it has seen the others' `left the chat`, so
    that no departure is announced to the clients of a later check."""
    if not members:
        return
    *others, last = members
    await close_many(others)
    await receive(last, len(others), EMPTYING_TIMEOUT_S, REPLY_TIMEOUT_S)
    await close_many([last])
