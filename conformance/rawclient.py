"""Clients that misbehave on purpose, which the websockets client won't do.

Raw TCP for handshakes: malformed ones (what HTTP answer comes back) and unfinished ones (how
long the server keeps them). And WebSocket clients that send only what they are told:
websockets' Sans-I/O ClientProtocol fed with the bytes that arrive, whose own replies (pongs,
close replies) are never sent. Every read is bounded in bytes and time.

A server that refuses a client mid-way often closes with bytes of it unread, so the kernel
ends the connection with a reset right after the server's last words (a close frame, an HTTP
error). RawStream keeps those words readable: over plain TCP a write that fails on the reset
does not end the reading, as it would in an asyncio transport, and the kernel hands over the
bytes that came before the reset first.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.uri import parse_uri

from conformance.client import OPEN_TIMEOUT_S
from wsharness.target import url_host

MAX_HEAD_BYTES = 64 * 1024  # an HTTP answer's head larger than this is not read further
MAX_BUFFERED_BYTES = 1024 * 1024  # reading pauses while this much waits to be read
READ_CHUNK = 64 * 1024
MAX_READS = 10_000  # reads of one connection, at most (a 16 MiB echo takes 256 and more)
SEND_CHUNK = 256 * 1024
SUPPORTED_VERSION = "13"
Event = Request | Response | Frame  # what a ClientProtocol reports


@dataclass(frozen=True)
class Endpoint:
    """Where a ws:// or wss:// URL points, and what its Host header says."""

    host: str
    port: int
    secure: bool
    path: str

    @classmethod
    def of(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        return cls(parts.hostname or "", parts.port or (443 if secure else 80), secure, path)

    @property
    def host_header(self) -> str:
        return f"{url_host(self.host)}:{self.port}"


class RawStream:
    """One TCP connection's bytes in order, then how it ended (EOF or an error).

    Plain TCP uses the socket itself, so that a failed write (the server reset the
    connection) leaves what already arrived readable; TLS goes through asyncio's transport.
    """

    def __init__(self) -> None:
        self.ending: str | None = None  # set once the connection ended (not on a timeout)

    @staticmethod
    async def open(endpoint: Endpoint) -> RawStream:
        if endpoint.secure:
            return await TlsStream.open(endpoint)
        return await SocketStream.open(endpoint)

    async def read(self, deadline: float) -> bytes | str:
        """What arrived (waiting until deadline, loop time, for something), else how the
        connection ended, or that the deadline passed."""
        raise NotImplementedError

    async def write(self, data: bytes) -> None:
        """Write all of data; a connection that is gone takes nothing more, silently."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SocketStream(RawStream):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock

    @classmethod
    async def open(cls, endpoint: Endpoint) -> SocketStream:
        loop = asyncio.get_running_loop()
        family, kind, proto, _, address = (await loop.getaddrinfo(
            endpoint.host, endpoint.port, type=socket.SOCK_STREAM))[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, address), OPEN_TIMEOUT_S)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    async def read(self, deadline: float) -> bytes | str:
        if self.ending is not None:
            return self.ending
        loop = asyncio.get_running_loop()
        try:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, READ_CHUNK),
                                          max(0.0, deadline - loop.time()))
        except TimeoutError:
            return "nothing more before the deadline"
        except OSError as exc:
            self.ending = f"the connection failed ({exc!r})"
            return self.ending
        if not data:
            self.ending = "the server closed the connection"
            return self.ending
        return data

    async def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    def close(self) -> None:
        self.sock.close()


class TlsStream(RawStream, asyncio.Protocol):
    def __init__(self) -> None:
        super().__init__()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.arrived = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()

    @classmethod
    async def open(cls, endpoint: Endpoint) -> TlsStream:
        loop = asyncio.get_running_loop()
        _, stream = await asyncio.wait_for(loop.create_connection(
            cls, endpoint.host, endpoint.port, ssl=ssl.create_default_context(),
            server_hostname=endpoint.host), OPEN_TIMEOUT_S)
        return stream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_BUFFERED_BYTES and self.transport is not None:
            self.transport.pause_reading()
        self.arrived.set()

    def eof_received(self) -> bool:
        self.ending = self.ending or "the server closed the connection"
        self.arrived.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.ending = self.ending or (f"the connection failed ({exc!r})" if exc
                                      else "the connection closed")
        self.arrived.set()
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    async def read(self, deadline: float) -> bytes | str:
        loop = asyncio.get_running_loop()
        if not self.buffer and self.ending is None:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - loop.time()))
        if self.buffer:
            data = bytes(self.buffer)
            self.buffer.clear()
            if self.transport is not None and self.ending is None:
                self.transport.resume_reading()
            return data
        return self.ending or "nothing more before the deadline"

    async def write(self, data: bytes) -> None:
        if self.transport is None or self.ending is not None:
            return
        self.transport.write(data)
        await self.writable.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def websocket_key() -> str:
    """A valid Sec-WebSocket-Key: 16 random bytes in base64."""
    return base64.b64encode(os.urandom(16)).decode()


def upgrade_request(endpoint: Endpoint, *, method: str = "GET", key: str | None = None,
                    version: str | None = SUPPORTED_VERSION,
                    extra_headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """An HTTP/1.1 upgrade request; key=None leaves Sec-WebSocket-Key out."""
    headers = [("Host", endpoint.host_header), ("Upgrade", "websocket"),
               ("Connection", "Upgrade")]
    if key is not None:
        headers.append(("Sec-WebSocket-Key", key))
    if version is not None:
        headers.append(("Sec-WebSocket-Version", version))
    headers.extend(extra_headers)
    lines = [f"{method} {endpoint.path} HTTP/1.1", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(frozen=True)
class HttpAnswer:
    """The head of what a server answered, or how it failed to answer."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    ending: str = ""

    def describe(self) -> str:
        if self.status is None:
            return f"no HTTP answer: {self.ending}"
        shown = ", ".join(f"{n}: {v}" for n, v in self.headers.items()
                          if n.startswith("sec-websocket") or n in ("upgrade", "connection"))
        return f"HTTP {self.status}" + (f" ({shown})" if shown else "")


def parse_head(head: bytes) -> HttpAnswer:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return HttpAnswer(None, ending=f"not an HTTP status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return HttpAnswer(int(parts[1]), headers, "answered")


async def http_answer(endpoint: Endpoint, request: bytes, timeout_s: float) -> HttpAnswer:
    """Send request on a new connection; read the answer's head, for at most timeout_s."""
    stream = await RawStream.open(endpoint)
    deadline = asyncio.get_running_loop().time() + timeout_s
    writing = asyncio.create_task(stream.write(request))  # it may be answered before all went
    try:
        received = bytearray()
        while b"\r\n\r\n" not in received and len(received) <= MAX_HEAD_BYTES:
            data = await stream.read(deadline)
            if isinstance(data, str):
                ending = data if not received else f"{data} mid-answer {bytes(received[:80])!r}"
                return HttpAnswer(None, ending=ending)
            received += data
        if b"\r\n\r\n" not in received:
            return HttpAnswer(None, ending=f"an answer head over {MAX_HEAD_BYTES} bytes")
        return parse_head(bytes(received).split(b"\r\n\r\n", 1)[0])
    finally:
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        stream.close()


async def kept_open(endpoint: Endpoint, preamble: bytes, timeout_s: float) -> str | None:
    """Connect, send preamble and then nothing: None when the server closes the connection
    within timeout_s (whatever it answered first), else what happened instead."""
    stream = await RawStream.open(endpoint)
    try:
        await stream.write(preamble)
        deadline = asyncio.get_running_loop().time() + timeout_s
        received = 0
        while received <= MAX_HEAD_BYTES:
            data = await stream.read(deadline)
            if isinstance(data, str):
                return None if stream.ending is not None else f"still open after {timeout_s:g}s"
            received += len(data)
        return f"sent over {MAX_HEAD_BYTES} bytes without closing"
    finally:
        stream.close()


class SansIOClient:
    """A WebSocket client that sends only what it is told to: websockets' ClientProtocol over
    a RawStream. What the protocol would answer by itself (pongs, close replies) is dropped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.protocol = ClientProtocol(parse_uri(url))
        self.stream: RawStream | None = None
        self.pending: list[Event] = []  # events that came with the handshake answer
        self.refusal = ""  # why the handshake failed, if it did

    async def __aenter__(self) -> SansIOClient:
        self.stream = await RawStream.open(Endpoint.of(self.url))
        try:
            await self._handshake()
        except BaseException:  # cancelled by the check's deadline, or the stream failed
            self.stream.close()
            raise
        return self

    async def _handshake(self) -> None:
        assert self.stream is not None
        self.protocol.send_request(self.protocol.connect())
        await self.stream.write(b"".join(self.protocol.data_to_send()))
        deadline = asyncio.get_running_loop().time() + OPEN_TIMEOUT_S
        for _ in range(MAX_READS):  # and until the deadline
            if self.refusal or any(isinstance(e, Response) for e in self.pending):
                break
            events = await self.read(deadline)
            if isinstance(events, str):
                self.refusal = f"no handshake answer: {events}"
            else:
                self.pending.extend(events)
        failed = self.protocol.handshake_exc is not None or self.protocol.state is State.CONNECTING
        if failed and not self.refusal:  # a server may close at once after its 101: not failed
            self.refusal = f"the handshake failed ({self.protocol.handshake_exc!r})"

    async def __aexit__(self, *exc_info: object) -> None:
        if self.stream is not None:
            self.stream.close()

    async def events(self, deadline: float) -> list[Event] | str:
        """The next events, arrived before deadline (loop time), or how reading ended."""
        if self.pending:
            pending, self.pending = self.pending, []
            return pending
        return await self.read(deadline)

    async def read(self, deadline: float) -> list[Event] | str:
        """Events from the next bytes that arrive before deadline, or how reading ended."""
        assert self.stream is not None
        data = await self.stream.read(deadline)
        if isinstance(data, str):
            if self.stream.ending is not None:
                self.protocol.receive_eof()
            events = list(self.protocol.events_received())
            return events or data
        self.protocol.receive_data(data)
        self.protocol.data_to_send()  # what it would answer by itself: dropped
        return list(self.protocol.events_received())


@dataclass(frozen=True)
class CloseSeen:
    """What a client saw before the server closed it, or gave up waiting."""

    pings: int
    close: Close | None
    ending: str

    def describe(self) -> str:
        if self.close is not None:
            return f"a close frame with code {self.close.code} ({self.close.reason!r})"
        return self.ending


async def wait_for_close(client: SansIOClient, deadline: float) -> CloseSeen:
    """Read until a close frame arrives or reading ends; count the pings on the way."""
    pings = 0
    for _ in range(MAX_READS):  # and until the deadline: after it, a read ends at once
        events = await client.events(deadline)
        if isinstance(events, str):
            return CloseSeen(pings, None, events)
        for event in events:
            if isinstance(event, Response) and event.status_code != 101:
                return CloseSeen(pings, None, f"the handshake was refused (HTTP "
                                 f"{event.status_code})")
            if isinstance(event, Frame) and event.opcode is Opcode.PING:
                pings += 1
        if client.protocol.close_rcvd is not None:
            return CloseSeen(pings, client.protocol.close_rcvd, "closed")
    return CloseSeen(pings, None, f"{MAX_READS} reads and no close frame")


async def never_answer_pings(url: str, timeout_s: float) -> CloseSeen:
    """Open a WebSocket and read until the server closes it or timeout_s pass; never send a
    byte after the handshake, so no pong (nor close reply) ever goes out."""
    async with SansIOClient(url) as client:
        if client.refusal:
            return CloseSeen(0, None, client.refusal)
        seen = await wait_for_close(client, asyncio.get_running_loop().time() + timeout_s)
    if seen.close is None:
        return replace(seen, ending=f"{seen.pings} ping(s) left unanswered, then {seen.ending}")
    return seen


async def send_while_reading(url: str, text: str, timeout_s: float) -> CloseSeen:
    """Send one uncompressed text message while reading, until the server closes: a server
    that refuses it mid-way may stop reading, so the sending stops at its close frame."""
    async with SansIOClient(url) as client:
        if client.refusal:
            return CloseSeen(0, None, client.refusal)
        client.protocol.send_text(text.encode())
        frame = b"".join(client.protocol.data_to_send())
        stream = client.stream
        assert stream is not None

        async def send() -> None:
            for start in range(0, len(frame), SEND_CHUNK):
                await stream.write(frame[start:start + SEND_CHUNK])

        sending = asyncio.create_task(send())
        try:
            return await wait_for_close(client, asyncio.get_running_loop().time() + timeout_s)
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
