"""An echo server of our own, written frame by frame, that breaks one RFC 6455 rule on demand:
the protocol group (`-m protocol`) must fail it, naming that rule.

`framing_server(flaw)` serves it on a free loopback port from a thread of its own, for the
block, and gives its ws:// base; every path is the echo endpoint. With no flaw it conforms:
every message back unchanged, pings answered, the closing handshake, and each breach failing
the connection with its close code.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import struct
import threading
from collections.abc import Iterator

from websockets.frames import CloseCode, Opcode
from websockets.utils import accept_key

from conformance.frames import FrameReader, WireFrame, encode

VALID_CODES = {*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)}
READ_BYTES = 65536
MAX_HEAD = 16384
START_TIMEOUT_S = 10.0

FLAWS = {  # flaw: the rule it breaks
    "first-fragment-only": "rfc6455.fragmentation",
    "no-pong-inside-message": "rfc6455.ping-between-fragments",
    "accepts-invalid-utf8": "rfc6455.utf8-invalid",
    "decodes-each-fragment": "rfc6455.utf8-valid",
    "ignores-rsv": "rfc6455.reserved-bits",
    "reserved-opcode-as-binary": "rfc6455.reserved-opcode",
    "accepts-unmasked": "rfc6455.unmasked-frame",
    "accepts-long-control": "rfc6455.control-too-long",
    "accepts-fragmented-control": "rfc6455.control-fragmented",
    "orphan-continuation-as-message": "rfc6455.continuation-without-start",
    "new-message-restarts": "rfc6455.data-inside-fragmented",
    "pong-reversed": "rfc6455.ping-pong",
    "answers-pongs": "rfc6455.unsolicited-pong",
    "no-close-reply": "rfc6455.close-reply",
    "echoes-any-close-code": "rfc6455.close-invalid-code",
    "accepts-bad-reason": "rfc6455.close-invalid-reason",
    "echoes-after-close": "rfc6455.nothing-after-close",
}
DROPS = "drops-without-close-frame"  # fails connections by closing TCP: a SHOULD, not a MUST


class Failed(Exception):
    """The client broke a rule: fail the connection with this close code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Connection:
    """One client connection after the handshake: frames in, echoes and answers out."""

    def __init__(self, flaw: str, writer: asyncio.StreamWriter) -> None:
        self.flaw = flaw
        self.writer = writer
        self.opcode = 0  # of the fragmented message open, else 0
        self.parts: list[bytes] = []
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.closed = False  # our close frame went out

    def send(self, frame: WireFrame) -> None:
        self.writer.write(encode(WireFrame(frame.opcode, frame.payload, masked=False)))

    def receive(self, frame: WireFrame) -> None:
        if self.closed:
            if self.flaw == "echoes-after-close" and frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                self.send(frame)
            return
        self.check_header(frame)
        if frame.opcode >= Opcode.CLOSE:
            self.control(frame)
        else:
            self.data(frame)

    def check_header(self, frame: WireFrame) -> None:
        if frame.rsv and self.flaw != "ignores-rsv":
            raise Failed(CloseCode.PROTOCOL_ERROR)
        if not frame.masked and self.flaw != "accepts-unmasked":
            raise Failed(CloseCode.PROTOCOL_ERROR)
        if frame.opcode not in (0, 1, 2, 8, 9, 10) and self.flaw != "reserved-opcode-as-binary":
            raise Failed(CloseCode.PROTOCOL_ERROR)

    def control(self, frame: WireFrame) -> None:
        if frame.opcode > Opcode.PONG:  # a reserved control opcode, let through by the flaw
            self.send(WireFrame(Opcode.BINARY, frame.payload))
            return
        if len(frame.payload) > 125 and self.flaw != "accepts-long-control":
            raise Failed(CloseCode.PROTOCOL_ERROR)
        if not frame.fin and self.flaw != "accepts-fragmented-control":
            raise Failed(CloseCode.PROTOCOL_ERROR)
        if frame.opcode == Opcode.PING:
            if not (self.opcode and self.flaw == "no-pong-inside-message"):
                payload = frame.payload[::-1] if self.flaw == "pong-reversed" else frame.payload
                self.send(WireFrame(Opcode.PONG, payload))
        elif frame.opcode == Opcode.PONG:
            if self.flaw == "answers-pongs":
                self.send(WireFrame(Opcode.PONG, frame.payload))
        else:
            self.close(frame)

    def close(self, frame: WireFrame) -> None:
        payload = frame.payload
        if len(payload) == 1:
            raise Failed(CloseCode.PROTOCOL_ERROR)
        if payload:
            code = struct.unpack("!H", payload[:2])[0]
            if code not in VALID_CODES and self.flaw != "echoes-any-close-code":
                raise Failed(CloseCode.PROTOCOL_ERROR)
            try:
                payload[2:].decode()
            except UnicodeDecodeError:
                if self.flaw != "accepts-bad-reason":
                    raise Failed(CloseCode.INVALID_DATA) from None
        if self.flaw != "no-close-reply":
            self.send(WireFrame(Opcode.CLOSE, payload[:2]))
        self.closed = True

    def data(self, frame: WireFrame) -> None:
        opcode = frame.opcode
        if opcode == Opcode.CONT and not self.opcode:
            if self.flaw != "orphan-continuation-as-message":
                raise Failed(CloseCode.PROTOCOL_ERROR)
            opcode = Opcode.BINARY
        if opcode != Opcode.CONT and self.opcode:
            if self.flaw != "new-message-restarts":
                raise Failed(CloseCode.PROTOCOL_ERROR)
            self.opcode = 0
        if opcode != Opcode.CONT:
            self.opcode = opcode if opcode in (Opcode.TEXT, Opcode.BINARY) else Opcode.BINARY
            self.parts = []
            self.decoder.reset()
        if self.flaw != "first-fragment-only" or not self.parts:
            self.parts.append(frame.payload)
        if self.opcode == Opcode.TEXT:
            self.check_text(frame.payload, frame.fin)
        if frame.fin:
            self.send(WireFrame(self.opcode, b"".join(self.parts)))
            self.opcode, self.parts = 0, []

    def check_text(self, payload: bytes, fin: bool) -> None:
        if self.flaw == "accepts-invalid-utf8":
            return
        try:
            if self.flaw == "decodes-each-fragment":
                payload.decode()
            else:
                self.decoder.decode(payload, fin)
        except UnicodeDecodeError:
            raise Failed(CloseCode.INVALID_DATA) from None


async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD:
        return False
    key = ""
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    if not key:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return False
    accept = accept_key(key)
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
    return True


async def serve_connection(flaw: str, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
    try:
        if not await handshake(reader, writer):
            return
        connection, frames = Connection(flaw, writer), FrameReader()
        while data := await reader.read(READ_BYTES):  # ends when the client closes
            try:
                for frame in frames.receive(data):
                    connection.receive(frame)
            except Failed as failed:
                if flaw != DROPS:
                    connection.send(WireFrame(Opcode.CLOSE, struct.pack("!H", failed.code)))
                break
            await writer.drain()
            if connection.closed and flaw != "echoes-after-close":
                break  # the closing handshake is done: the server closes TCP first (7.1.1)
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def framing_server(flaw: str = "") -> Iterator[str]:
    """The server with this flaw ("" for none) on loopback for the block: its ws:// base."""
    assert not flaw or flaw in FLAWS or flaw == DROPS, flaw
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.Server] = []

    async def start() -> None:
        servers.append(await asyncio.start_server(
            lambda r, w: serve_connection(flaw, r, w), "127.0.0.1", 0))
        started.set()

    def run() -> None:
        loop.run_until_complete(start())
        loop.run_forever()
        servers[0].close()
        loop.run_until_complete(servers[0].wait_closed())
        loop.close()

    thread = threading.Thread(target=run, name=f"framing-server-{flaw}", daemon=True)
    thread.start()
    assert started.wait(START_TIMEOUT_S), "the framing server did not start"
    try:
        yield f"ws://127.0.0.1:{servers[0].sockets[0].getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
