"""The hardening group's raw clients against real loopback servers: what a server said before
it reset the connection is still read, and an HTTP answer's head is parsed as sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from conformance.rawclient import Endpoint, RawStream, http_answer, kept_open, upgrade_request

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
