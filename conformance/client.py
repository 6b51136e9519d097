"""The suite's wire client: the websockets asyncio client, with timeouts scaled for slow machines
(WSHARNESS_TIMEOUT_SCALE, see wsharness.timeouts)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Coroutine, Sequence
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from wsharness.timeouts import scaled

REPLY_TIMEOUT_S = scaled(2.0)
QUIET_S = scaled(0.1)
OPEN_TIMEOUT_S = scaled(10.0)
CLOSE_TIMEOUT_S = scaled(5.0)
MAX_MESSAGE_BYTES = 2**22
ACCEPTED = 101

T = TypeVar("T")
Message = str | bytes


class Received(NamedTuple):
    """What arrived, and how the reading stopped (for a failure report)."""

    messages: list[Message]
    ending: str


_sentinels = itertools.count()


def sentinel() -> str:
    """A last message whose reply proves that no stray reply came before it."""
    return f"wsharness sentinel {next(_sentinels)}"


def run(coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run one check on a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


async def open_connection(url: str, cookie: str | None = None,
                          receive_buffer: int | None = None) -> ClientConnection:
    """Open a WebSocket. With receive_buffer: SO_RCVBUF set before connecting (a small TCP
    window) and no compression, so what the server must hold for it is every byte it sends."""
    headers = {"Cookie": f"session={cookie}"} if cookie is not None else None
    sock = await small_window_socket(url, receive_buffer) if receive_buffer else None
    try:
        return await connect(url, additional_headers=headers, open_timeout=OPEN_TIMEOUT_S,
                             close_timeout=CLOSE_TIMEOUT_S, ping_interval=None,
                             max_size=MAX_MESSAGE_BYTES, sock=sock,
                             compression=None if receive_buffer else "deflate")
    except BaseException:
        if sock is not None:
            sock.close()
        raise


async def small_window_socket(url: str, receive_buffer: int) -> socket.socket:
    """A TCP socket connected to url's host whose receive buffer was set before connecting:
    the window it advertises stays small, so a client that stops reading blocks the server
    within a few tens of KiB instead of the tens of MB loopback would otherwise buffer."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    loop = asyncio.get_running_loop()
    family, kind, proto, _, address = (await loop.getaddrinfo(
        parts.hostname, port, type=socket.SOCK_STREAM))[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, address), OPEN_TIMEOUT_S)
    except BaseException:
        sock.close()
        raise
    return sock


async def handshake_status(url: str, cookie: str | None = None) -> int:
    """101 when the server accepts the WebSocket (closed again at once), else its HTTP status."""
    try:
        websocket = await open_connection(url, cookie)
    except InvalidStatus as exc:
        return exc.response.status_code
    await websocket.close()
    return ACCEPTED


def describe_status(status: int) -> str:
    return "accepted (HTTP 101)" if status == ACCEPTED else f"refused with HTTP {status}"


async def receive(websocket: ClientConnection, count: int, timeout_s: float = REPLY_TIMEOUT_S,
                  idle_s: float = REPLY_TIMEOUT_S) -> Received:
    """Read up to count messages: at most timeout_s in all, at most idle_s between two."""
    messages: list[Message] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while len(messages) < count:
        wait_s = min(idle_s, deadline - loop.time())
        try:
            messages.append(await asyncio.wait_for(websocket.recv(), wait_s))
        except TimeoutError:
            return Received(messages, f"nothing more within {wait_s:.1f}s")
        except ConnectionClosed as exc:
            return Received(messages, f"the connection closed ({exc})")
    return Received(messages, "nothing more")


async def receive_quiet(websocket: ClientConnection, quiet_s: float = QUIET_S) -> Received:
    """Read whatever arrives until quiet_s pass without a message: the strays."""
    messages: list[Message] = []
    while True:
        try:
            messages.append(await asyncio.wait_for(websocket.recv(), quiet_s))
        except TimeoutError:
            return Received(messages, f"nothing more within {quiet_s:.2f}s")
        except ConnectionClosed as exc:
            return Received(messages, f"the connection closed ({exc})")


async def receive_all(connections: Sequence[ClientConnection], total: int,
                      timeout_s: float = REPLY_TIMEOUT_S) -> list[Received]:
    """Read from every connection until total messages arrived across them all.

    Replies that went to the wrong connection still count, so a misdelivery shows at once
    instead of as a timeout on the connection that was robbed.
    """
    arrived: list[list[Message]] = [[] for _ in connections]
    enough = asyncio.Event()

    async def read(index: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                arrived[index].append(await connections[index].recv())
                if sum(len(a) for a in arrived) >= total:
                    enough.set()

    readers = [asyncio.create_task(read(i)) for i in range(len(connections))]
    ending = "nothing more"
    try:
        await asyncio.wait_for(enough.wait(), timeout_s)
    except TimeoutError:
        ending = f"nothing more within {timeout_s:.1f}s"
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return [Received(a, ending) for a in arrived]


async def exchange(url: str, messages: Sequence[str], count: int,
                   cookie: str | None = None) -> Received:
    """Connect, send every message without waiting, read count replies, close."""
    websocket = await open_connection(url, cookie)
    try:
        for message in messages:
            await websocket.send(message)
        return await receive(websocket, count)
    finally:
        await websocket.close()


def drop(websocket: ClientConnection) -> None:
    """Leave by dropping the TCP connection, without a close frame."""
    websocket.transport.abort()
