"""A cheap WebSocket client for gevent: websockets' Sans-I/O ClientProtocol plus a fast path.

websockets' `ClientProtocol` does the opening handshake, control frames (ping, pong, close)
and the closing handshake. Data frames, the bulk of the traffic, take a fast path: text and
binary frames are built here (masked with websockets' C `apply_mask`) and incoming data
frames are split, checked (size, UTF-8, fragmentation) and decoded here, while every other
frame is handed, whole, to the protocol object. One connection per greenlet, no background
reader; a read waits on the socket's gevent watcher, and one watchdog greenlet per process
expires reads past their deadline (a gevent.Timeout per read would cost more than the rest
of a round trip).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import ipaddress
import os
import random
import socket
import ssl
import struct
import time
import weakref
from collections.abc import Callable
from http.cookies import SimpleCookie

import gevent
import gevent.socket
import gevent.ssl
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension ships with websockets' wheels
    from websockets.utils import apply_mask

RECV_BYTES = 65536
ABNORMAL_CLOSE = 1006
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
MESSAGE_TOO_BIG = 1009
WATCHDOG_PERIOD_S = 0.05
END_OF_HEAD = b"\r\n\r\n"
WHOLE_SHORT_DATA_FRAMES = (0x81, 0x82)  # FIN + text or binary, no RSV bits
OP_CONT, OP_TEXT, OP_BINARY = 0, 1, 2
_mask_bits = random.getrandbits  # masks stop proxies' cache poisoning, not an attacker


class WsError(Exception):
    """A WebSocket operation failed; `kind` names the error for the results file."""

    kind = "error"


class HandshakeRefused(WsError):
    kind = "refused"

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


class ConnectFailed(WsError):
    kind = "connect_failed"


class WsTimeout(WsError):
    kind = "timeout"


class WsClosed(WsError):
    """The connection closed while a message was expected; `code` is the close code seen."""

    kind = "closed"

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"connection closed with code {code}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.reason = reason


Message = str | bytes


def frame_header(opcode: int, length: int) -> bytes:
    """FIN + opcode, MASK + payload length (client frames are always masked)."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, 0x80 | length))
    if length < 65536:
        return struct.pack("!BBH", first, 0xFE, length)
    return struct.pack("!BBQ", first, 0xFF, length)


class Connection:
    """An open WebSocket connection (client side)."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol, *, tls: bool,
                 max_size: int | None, on_end: Callable[[int], None] | None = None) -> None:
        self._sock = sock
        self._on_end = on_end  # told the close code, once, when the connection ends
        self._ended = False
        self._tls = tls
        self._raw = sock if tls else getattr(sock, "_sock", sock)  # non-blocking, under gevent
        self._read_event = getattr(sock, "_read_event", None)
        self._hub = gevent.get_hub()
        self._deadline = 0.0
        self._timeout = 0.0
        self._protocol = protocol
        self._max_size = max_size
        self._head: bytes | None = b""  # response head so far; None once it went to the protocol
        self._buffer = b""  # bytes of an incomplete frame
        self._messages: collections.deque[Message] = collections.deque()
        self._fragments: list[bytes] = []
        self._fragments_size = 0
        self._fragment_opcode = 0
        _WATCHDOG.connections.add(self)

    @classmethod
    def open(cls, url: str, *, timeout_s: float, headers: dict[str, str] | None = None,
             cookies: dict[str, str] | None = None, origin: str | None = None,
             max_size: int | None = 2**20, verify_tls: bool = True,
             on_end: Callable[[int], None] | None = None) -> Connection:
        """Connect and complete the opening handshake, or raise a WsError.

        wss:// verifies the server's certificate against the system's CAs (SSL_CERT_FILE
        adds one of your own) unless verify_tls is False.
        """
        uri = parse_uri(url)
        protocol = ClientProtocol(uri, max_size=max_size)
        request = protocol.connect()
        if origin is not None:
            request.headers["Origin"] = origin
        for name, value in (headers or {}).items():
            request.headers[name] = value
        if cookies:
            jar: SimpleCookie = SimpleCookie()
            for name, value in cookies.items():
                jar[name] = value
            request.headers["Cookie"] = "; ".join(
                morsel.OutputString() for morsel in jar.values())
        try:
            sock = _tcp_connect(uri.host, uri.port, timeout_s)
        except TimeoutError:
            raise WsTimeout(f"TCP connect to {uri.host}:{uri.port} timed out") from None
        except OSError as exc:
            raise ConnectFailed(
                f"connect to {uri.host}:{uri.port}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if uri.secure:
            try:
                sock = _tls_context(verify_tls, os.environ.get("SSL_CERT_FILE")).wrap_socket(
                    sock, server_hostname=uri.host)
            except OSError as exc:
                sock.close()
                raise ConnectFailed(f"TLS with {uri.host}:{uri.port}: {exc}") from None
        sock.settimeout(timeout_s)  # bounds sendall on a full buffer, and TLS reads
        connection = cls(sock, protocol, tls=uri.secure, max_size=max_size, on_end=on_end)
        connection._timeout = timeout_s
        protocol.send_request(request)
        try:
            connection._flush()
            connection._handshake()
        except BaseException:
            sock.close()
            raise
        return connection

    def _handshake(self) -> None:
        protocol = self._protocol
        while protocol.state is State.CONNECTING and protocol.handshake_exc is None:
            self._read_once()
        exc = protocol.handshake_exc
        if isinstance(exc, InvalidStatus):
            raise HandshakeRefused(exc.response.status_code)
        if exc is not None:
            raise WsError(f"invalid handshake: {exc}")

    @property
    def is_open(self) -> bool:
        return self._protocol.state is State.OPEN

    @property
    def close_code(self) -> int:
        """The close code received, else the one this side failed the connection with, else 1006."""
        protocol = self._protocol
        if protocol.close_rcvd is not None:
            return protocol.close_rcvd.code
        if protocol.close_sent is not None and protocol.close_sent.code != 1000:
            return protocol.close_sent.code
        return ABNORMAL_CLOSE

    # -- sending --------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode())

    def send_binary(self, data: bytes) -> None:
        self._send(OP_BINARY, data)

    def _send(self, opcode: int, payload: bytes) -> None:
        if self._protocol.state is not State.OPEN:
            raise WsClosed(self.close_code)
        mask = _mask_bits(32).to_bytes(4, "little")
        length = len(payload)
        header = bytes((0x80 | opcode, 0x80 | length)) if length < 126 else \
            frame_header(opcode, length)
        data = header + mask + apply_mask(payload, mask)
        try:
            sent = self._raw.send(data)
            if sent < len(data):
                self._sock.sendall(data[sent:])
        except BlockingIOError:
            self._sock.sendall(data)
        except OSError:
            raise WsClosed(ABNORMAL_CLOSE, "connection lost while sending") from None

    # -- receiving ------------------------------------------------------------------------------

    def recv(self, timeout_s: float) -> Message:
        """The next message; WsTimeout after timeout_s, WsClosed if the connection ends."""
        messages = self._messages
        if messages:
            return messages.popleft()
        if self._ended:
            raise WsClosed(self.close_code, "the connection is closed")
        self._timeout = timeout_s
        while not messages:
            protocol = self._protocol
            if protocol.state is State.CLOSED:
                self._end()
                raise WsClosed(self.close_code, protocol.close_reason or "")
            self._read_once()
        return messages.popleft()

    def _read_once(self) -> None:
        if self._ended:  # its socket and watcher are gone: never wait on them
            raise WsClosed(self.close_code, "the connection is closed")
        if self._tls:
            try:
                self._sock.settimeout(self._timeout)
                data = self._sock.recv(RECV_BYTES)
            except TimeoutError:
                raise WsTimeout("no message within the timeout") from None
            except OSError:
                data = b""
        else:
            self._wait_readable()
            try:
                data = self._raw.recv(RECV_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
        protocol = self._protocol
        if not data:
            protocol.receive_eof()
            self._flush()
        elif protocol.state is State.OPEN:
            self._on_data(data)
        elif protocol.state is State.CONNECTING:
            self._on_handshake_data(data)
        else:
            self._to_protocol(data)

    def _on_handshake_data(self, data: bytes) -> None:
        """Give the protocol the HTTP response head only; frames after it take the fast path."""
        if self._head is None:  # a refusal's body
            self._to_protocol(data)
            return
        head = self._head + data
        end = head.find(END_OF_HEAD)
        if end < 0:
            self._head = head
            return
        self._head = None
        end += len(END_OF_HEAD)
        self._to_protocol(head[:end])
        if end < len(head):
            if self._protocol.state is State.OPEN:
                self._on_data(head[end:])
            else:
                self._to_protocol(head[end:])

    def _on_data(self, data: bytes) -> None:
        if (not self._buffer and len(data) >= 2 and data[1] < 126 and len(data) == data[1] + 2
                and data[0] in WHOLE_SHORT_DATA_FRAMES):  # the usual case: one small frame
            self._on_data_frame(data[0] & 0x0F, True, data[2:])
        else:
            self._split_frames(data)

    def _split_frames(self, data: bytes) -> None:
        """Split whole frames off the stream: data frames here, all others to the protocol."""
        buffer = self._buffer + data if self._buffer else data
        position, end = 0, len(buffer)
        while end - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length = second & 0x7F
            start = position + 2
            if length == 126:
                if end - start < 2:
                    break
                length = int.from_bytes(buffer[start:start + 2], "big")
                start += 2
            elif length == 127:
                if end - start < 8:
                    break
                length = int.from_bytes(buffer[start:start + 8], "big")
                start += 8
            if second & 0x80:
                start += 4  # a masked frame from a server: the protocol will fail it
            stop = start + length
            if stop > end:
                if self._max_size is not None and length > self._max_size:
                    self._fail(MESSAGE_TOO_BIG, "frame exceeds the size limit")
                    return
                break
            opcode = first & 0x0F
            if first & 0x70 or second & 0x80 or opcode > OP_BINARY:
                self._to_protocol(buffer[position:stop])
                if self._protocol.state is not State.OPEN:
                    self._buffer = b""
                    if stop < end:
                        self._to_protocol(buffer[stop:])
                    return
            elif not self._on_data_frame(opcode, bool(first & 0x80), buffer[start:stop]):
                return
            position = stop
        self._buffer = buffer[position:] if position < end else b""

    def _on_data_frame(self, opcode: int, fin: bool, payload: bytes) -> bool:
        """Queue a message (assembling fragments); False if the connection had to fail."""
        if opcode == OP_CONT:
            if not self._fragment_opcode:
                return self._fail(PROTOCOL_ERROR, "unexpected continuation frame")
            self._fragments.append(payload)
            self._fragments_size += len(payload)
            if self._max_size is not None and self._fragments_size > self._max_size:
                return self._fail(MESSAGE_TOO_BIG, "message exceeds the size limit")
            if not fin:
                return True
            opcode, payload = self._fragment_opcode, b"".join(self._fragments)
            self._fragments, self._fragments_size, self._fragment_opcode = [], 0, 0
        elif self._fragment_opcode:
            return self._fail(PROTOCOL_ERROR, "expected a continuation frame")
        elif self._max_size is not None and len(payload) > self._max_size:
            return self._fail(MESSAGE_TOO_BIG, "message exceeds the size limit")
        elif not fin:
            self._fragment_opcode, self._fragments = opcode, [payload]
            self._fragments_size = len(payload)
            return True
        if opcode == OP_TEXT:
            try:
                self._messages.append(payload.decode())
            except UnicodeDecodeError:
                return self._fail(INVALID_DATA, "invalid UTF-8 in a text message")
        else:
            self._messages.append(payload)
        return True

    def _fail(self, code: int, reason: str) -> bool:
        self._buffer = b""
        self._protocol.fail(code, reason)
        self._flush()
        return False

    def _to_protocol(self, data: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(data)
        self._flush()
        for event in protocol.events_received():
            if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                payload = bytes(event.data)  # a data frame the protocol parsed (malformed ones)
                self._messages.append(payload.decode() if event.opcode is Opcode.TEXT
                                      else payload)

    def _wait_readable(self) -> None:
        """Wait until the socket is readable; the watchdog raises WsTimeout past the deadline."""
        self._deadline = time.monotonic() + self._timeout
        if not _WATCHDOG.running:
            _WATCHDOG.start()
        try:
            self._hub.wait(self._read_event)
        finally:
            self._deadline = 0.0

    def _expire(self) -> None:
        self._deadline = 0.0
        self._hub.cancel_wait(self._read_event, WsTimeout("no message within the timeout"))

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            try:
                if data:
                    self._sock.sendall(data)
                else:
                    self._sock.shutdown(socket.SHUT_WR)
            except OSError:
                return  # the peer is gone; the protocol state says how the connection ended

    def close(self, code: int = 1000, timeout_s: float = 2.0) -> int:
        """Close (handshake bounded by timeout_s); return the close code it ended with.

        A kill that lands mid-handshake (the run stopping its users) lets the handshake
        finish, within the same bound, before it goes on: the server saw a normal close,
        and the close code counted is the one it answered, not 1006.
        """
        if self._ended:
            return self.close_code
        try:
            self._close_handshake(code, timeout_s)
        except gevent.GreenletExit:
            with contextlib.suppress(gevent.GreenletExit):
                self._close_handshake(code, timeout_s)
            raise
        finally:
            self._end()
        return self.close_code

    def _close_handshake(self, code: int, timeout_s: float) -> None:
        protocol = self._protocol
        try:
            if protocol.state is State.OPEN:
                protocol.send_close(code)
                self._flush()
            self._timeout = timeout_s
            while protocol.state is not State.CLOSED:
                self._read_once()
        except WsError:
            pass

    def _end(self) -> None:
        self._sock.close()
        if not self._ended:
            self._ended = True
            if self._on_end is not None:
                self._on_end(self.close_code)


@functools.cache
def _tls_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """One context per process and setting: loading the system's CAs takes milliseconds."""
    del ca_file  # read by create_default_context; part of the cache key only
    context: ssl.SSLContext = gevent.ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _tcp_connect(host: str, port: int, timeout_s: float) -> socket.socket:
    """Connect; an IP address skips the resolver (gevent's resolves in a thread: 1-4 ms)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        resolved: socket.socket = gevent.socket.create_connection((host, port), timeout=timeout_s)
        return resolved
    sock: socket.socket = gevent.socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _Watchdog:
    """One greenlet per process that expires reads past their deadline; idle, it ends."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[Connection] = weakref.WeakSet()
        self.running = False

    def start(self) -> None:
        self.running = True
        gevent.spawn(self._run)

    def _run(self) -> None:
        idle_rounds = 0
        try:
            while idle_rounds < 20:
                gevent.sleep(WATCHDOG_PERIOD_S)
                now = time.monotonic()
                waiting = False
                for connection in list(self.connections):
                    deadline = connection._deadline
                    if deadline:
                        waiting = True
                        if deadline <= now:
                            connection._expire()
                idle_rounds = 0 if waiting else idle_rounds + 1
        finally:
            self.running = False


_WATCHDOG = _Watchdog()


def warm_up() -> None:
    """Pay a process's one-time costs of a first connection (gevent's resolver import,
    websockets' first header checks: tens of ms) before any connection is timed."""
    _ = gevent.get_hub().resolver
    request = ClientProtocol(parse_uri("ws://127.0.0.1/")).connect()
    request.headers["Cookie"] = "warm=up"
