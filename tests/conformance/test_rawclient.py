"""The hardening group's raw clients against real loopback servers: what a server said before
it reset the connection is still read, and an HTTP answer's head is parsed as sent."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

from websockets.frames import Opcode
from websockets.utils import accept_key

from conformance.frames import WireFrame, encode
from conformance.rawclient import (
    CloseSeen,
    Endpoint,
    RawStream,
    SansIOClient,
    http_answer,
    kept_open,
    upgrade_request,
    wait_for_close,
)

LAST_WORDS = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
FLOOD_BYTES = 4 * 1024 * 1024
TIMEOUT_S = 10.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def loopback_server(handler: Handler) -> AsyncIterator[Endpoint]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Endpoint("127.0.0.1", port, secure=False, path="/ws")
    finally:
        server.close()
        await server.wait_closed()


async def answer_then_close_unread(reader: asyncio.StreamReader,
                                   writer: asyncio.StreamWriter) -> None:
    """Read a little, answer, close: the bytes left unread make the kernel send a reset."""
    try:
        await reader.read(16)
        writer.write(LAST_WORDS)
        await writer.drain()
    finally:
        writer.close()


def test_what_came_before_a_reset_is_read() -> None:
    async def check() -> None:
        async with loopback_server(answer_then_close_unread) as endpoint:
            stream = await RawStream.open(endpoint)
            writing = asyncio.create_task(stream.write(b"x" * FLOOD_BYTES))
            try:
                deadline = asyncio.get_running_loop().time() + TIMEOUT_S
                received = b""
                for _ in range(100):
                    data = await stream.read(deadline)
                    if isinstance(data, str):
                        break
                    received += data
                assert received == LAST_WORDS
                assert stream.ending is not None
            finally:
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
                stream.close()

    asyncio.run(asyncio.wait_for(check(), TIMEOUT_S))


def test_an_answer_to_an_oversized_request_is_parsed_though_the_server_reset() -> None:
    async def check() -> None:
        async with loopback_server(answer_then_close_unread) as endpoint:
            request = upgrade_request(endpoint, extra_headers=[("X-Big", "a" * FLOOD_BYTES)])
            answer = await http_answer(endpoint, request, TIMEOUT_S)
        assert answer.status == 431
        assert answer.headers == {"connection": "close"}

    asyncio.run(asyncio.wait_for(check(), TIMEOUT_S))


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.read()  # until the client goes
    finally:
        writer.close()


def test_a_connection_the_server_keeps_is_reported_at_the_deadline() -> None:
    async def check() -> str | None:
        async with loopback_server(never_answer) as endpoint:
            return await kept_open(endpoint, b"GET /ws HTTP/1.1\r\n", 0.2)

    assert asyncio.run(asyncio.wait_for(check(), TIMEOUT_S)) == "still open after 0.2s"


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


def test_a_connection_the_server_closes_is_not_reported() -> None:
    async def check() -> str | None:
        async with loopback_server(close_at_once) as endpoint:
            return await kept_open(endpoint, b"", TIMEOUT_S)

    assert asyncio.run(asyncio.wait_for(check(), TIMEOUT_S)) is None


async def accept_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the handshake, then in the same write a close frame (1011), then the end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                     + accept_key(key).encode() + b"\r\n\r\n"
                     + encode(WireFrame(Opcode.CLOSE, struct.pack("!H", 1011), masked=False)))
        await writer.drain()
    finally:
        writer.close()


def test_a_server_that_closes_right_after_accepting_has_not_refused() -> None:
    async def check() -> CloseSeen:
        async with loopback_server(accept_then_close) as endpoint:
            url = f"ws://{endpoint.host}:{endpoint.port}/ws"
            async with SansIOClient(url) as client:
                assert client.refusal == ""
                return await wait_for_close(client, asyncio.get_running_loop().time() + 5)

    seen = asyncio.run(asyncio.wait_for(check(), TIMEOUT_S))
    assert seen.close is not None
    assert seen.close.code == 1011
