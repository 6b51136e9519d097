"""A cheap WebSocket client for gevent: websockets' Sans-I/O ClientProtocol plus a fast path.

websockets' `ClientProtocol` does the opening handshake, control frames (ping, pong, close)
and the closing handshake. Everything after the handshake goes through `Framing`
(`_framing.py`, Sans-I/O too): it splits frames off the stream, reassembles and checks data
messages, builds the frames sent, and passes control frames on to the protocol. This module
is only the I/O around the two: one connection per greenlet, no background reader.

Each operation that reads (the opening handshake, `recv`, the closing handshake) has one
absolute deadline, set when it starts: pings, parts of frames and, while closing, data
frames keep the reads going but never push the deadline back. Only one greenlet reads at a
time: `close()` while another greenlet's `recv` is under way sends its close frame and ends
that read with WsClosed instead of reading beside it.

A ws:// connection owns a plain non-blocking socket and a gevent io watcher on its file
descriptor. A read waits on that watcher; one watchdog greenlet per process expires reads
past their deadline by cancelling the wait (a gevent.Timeout per read would cost more than
the rest of a round trip). A wss:// connection reads through gevent's SSL socket with its
timeout set to the time left before the deadline, and sends with it set to the send timeout.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import gevent
import gevent.monkey
import gevent.socket
import gevent.ssl
from gevent.exceptions import ConcurrentObjectUseError
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import CloseCode
from websockets.protocol import State
from websockets.uri import parse_uri

from loadtests._framing import OP_CLOSE, ControlFrame, Failure, Framing, Message, frame_header

__all__ = ["ConnectFailed", "Connection", "HandshakeRefused", "Message", "WsClosed", "WsError",
           "WsTimeout", "frame_header", "warm_up"]  # frame_header: the floor benchmark's frames

RECV_BYTES = 65536
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux
READ = 1  # libev's and libuv's readable event, for hub.loop.io
WATCHDOG_PERIOD_S = 0.05
END_OF_HEAD = b"\r\n\r\n"
_PLAIN_SOCKET = gevent.monkey.get_original("socket", "socket")


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


class Connection:
    """An open WebSocket connection (client side)."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol, *, tls: bool,
                 timeout_s: float, max_size: int | None,
                 on_end: Callable[[int], None] | None = None) -> None:
        self._raw = sock  # ws://: a non-blocking socket of our own; wss://: gevent's SSL socket
        self._tls = tls
        self._hub: Any = gevent.get_hub()
        self._readable: Any = None if tls else self._hub.loop.io(sock.fileno(), READ)
        self._deadline = 0.0  # of the read waiting on _readable, for the watchdog; 0 if none
        self._reading = False  # a greenlet's recv or closing handshake is under way
        self._send_timeout = timeout_s  # of a wait for room to send
        self._protocol = protocol
        self._framing = Framing(max_size)
        self._framed = False  # bytes go to _framing: from the handshake's end to the stream's
        self._failure = 0  # the close code this side failed the connection with, if it did
        self._head: bytes | None = b""  # response head so far; None once it went to the protocol
        self._messages: collections.deque[Message] = collections.deque()
        self._deliver: Callable[[Message], None] = self._messages.append  # _drop once closing
        self._on_end = on_end  # told the close code, once, when the connection ends
        self._ended = False

    @classmethod
    def open(cls, url: str, *, timeout_s: float, headers: dict[str, str] | None = None,
             cookies: dict[str, str] | None = None, origin: str | None = None,
             max_size: int | None = 2**20, verify_tls: bool = True,
             on_end: Callable[[int], None] | None = None,
             source_address: str | None = None) -> Connection:
        """Connect and complete the opening handshake, or raise a WsError.

        wss:// verifies the server's certificate against the system's CAs (SSL_CERT_FILE
        adds one of your own) unless verify_tls is False. source_address: the local address
        to connect from (its port is the kernel's choice), e.g. one of 127.0.0.0/8, so that
        many connections to one server do not run out of ephemeral ports.
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
            sock = _tcp_connect(uri.host, uri.port, timeout_s, source_address)
        except TimeoutError:
            raise WsTimeout(f"TCP connect to {uri.host}:{uri.port} timed out") from None
        except OSError as exc:
            source = f" from {source_address}" if source_address else ""
            raise ConnectFailed(
                f"connect to {uri.host}:{uri.port}{source}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if uri.secure:
            try:
                sock = _tls_context(verify_tls, os.environ.get("SSL_CERT_FILE")).wrap_socket(
                    sock, server_hostname=uri.host)
            except OSError as exc:
                sock.close()
                raise ConnectFailed(f"TLS with {uri.host}:{uri.port}: {exc}") from None
            sock.settimeout(timeout_s)  # reset before each read and each send
        else:
            sock = _owned(sock)
        connection = cls(sock, protocol, tls=uri.secure, timeout_s=timeout_s,
                         max_size=max_size, on_end=on_end)
        protocol.send_request(request)
        try:
            connection._flush()
            connection._handshake(timeout_s)
        except BaseException:
            connection._release()
            raise
        return connection

    def _handshake(self, timeout_s: float) -> None:
        protocol = self._protocol
        deadline = time.monotonic() + timeout_s
        while True:
            self._read_once(deadline)
            if protocol.state is not State.CONNECTING or protocol.handshake_exc is not None:
                break
            _check(deadline)
        exc = protocol.handshake_exc
        if isinstance(exc, InvalidStatus):
            raise HandshakeRefused(exc.response.status_code)
        if exc is not None:
            raise WsError(f"invalid handshake: {exc}")

    @property
    def close_code(self) -> int:
        """The close code received, else the one this side failed the connection with, else 1006."""
        protocol = self._protocol
        if protocol.close_rcvd is not None:
            return protocol.close_rcvd.code
        if self._failure:
            return self._failure
        if protocol.close_sent is not None and protocol.close_sent.code != CloseCode.NORMAL_CLOSURE:
            return protocol.close_sent.code
        return CloseCode.ABNORMAL_CLOSURE

    # -- sending --------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self._protocol.state is not State.OPEN:
            raise WsClosed(self.close_code)
        self._send(self._framing.send_text(text))

    def send_binary(self, data: bytes) -> None:
        if self._protocol.state is not State.OPEN:
            raise WsClosed(self.close_code)
        self._send(self._framing.send_binary(data))

    def _send(self, data: bytes) -> None:
        try:
            if self._tls:  # a read set the timeout to its own time left: set the send's
                self._raw.settimeout(self._send_timeout)
                self._raw.sendall(data)
                return
            try:
                sent = self._raw.send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                self._send_rest(memoryview(data)[sent:])
        except OSError:
            raise WsClosed(CloseCode.ABNORMAL_CLOSURE, "connection lost while sending") from None

    def _send_rest(self, rest: memoryview) -> None:
        """Send what did not fit in the socket's buffer; OSError (TimeoutError) if it can't."""
        fd = self._raw.fileno()
        while rest:
            gevent.socket.wait_write(fd, timeout=self._send_timeout)
            with contextlib.suppress(BlockingIOError):
                rest = rest[self._raw.send(rest):]

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            try:
                if data:
                    self._send(data)
                else:
                    self._raw.shutdown(socket.SHUT_WR)
            except (WsClosed, OSError):
                return  # the peer is gone; the protocol state says how the connection ended

    # -- receiving ------------------------------------------------------------------------------

    def recv(self, timeout_s: float) -> Message:
        """The next message; WsTimeout after timeout_s, WsClosed if the connection ends."""
        messages = self._messages
        if messages:
            return messages.popleft()
        if self._ended:
            raise WsClosed(self.close_code, "the connection is closed")
        if self._reading:
            if self._protocol.state is State.OPEN:
                raise ConcurrentObjectUseError(
                    "another greenlet is already receiving on this connection")
            raise WsClosed(self.close_code, "the connection is closing")
        deadline = time.monotonic() + timeout_s
        protocol = self._protocol
        self._reading = True
        try:
            while True:
                if protocol.state is State.CLOSED:
                    self._end()
                    raise WsClosed(self.close_code, protocol.close_reason or "")
                self._read_once(deadline)
                if messages:
                    return messages.popleft()
                _check(deadline)  # only after bytes that completed no message: a ping, ...
        finally:
            self._reading = False

    def _read_once(self, deadline: float) -> None:
        if self._ended:  # its socket and watcher are gone: never wait on them
            raise WsClosed(self.close_code, "the connection is closed")
        if self._tls:
            data = self._read_tls(deadline)
        else:
            self._wait_readable(deadline)
            try:
                data = self._raw.recv(RECV_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
        self._take(data)

    def _take(self, data: bytes) -> None:
        """What the socket gave (b"": its end) to the framing or the protocol."""
        if not data:
            self._protocol.receive_eof()
            self._flush()
        elif self._framed:
            self._on_frames(data)
        elif self._protocol.state is State.CONNECTING:
            self._on_handshake_data(data)
        else:  # a refusal's body, or what follows a close frame or a failure: discarded there
            self._to_protocol(data)

    def _read_tls(self, deadline: float) -> bytes:
        """Read from the SSL socket with its timeout set to the time left; b"" at the end."""
        left = deadline - time.monotonic()
        if left <= 0:  # settimeout(0) would make the socket non-blocking
            raise WsTimeout("no message within the timeout")
        try:
            self._raw.settimeout(left)
            data: bytes = self._raw.recv(RECV_BYTES)
        except TimeoutError:
            raise WsTimeout("no message within the timeout") from None
        except (OSError, ValueError):  # ValueError: gevent's, for a socket closed under it
            if self._ended:  # by close() in another greenlet, during this read
                raise WsClosed(self.close_code, "the connection is closed") from None
            return b""
        return data

    def _on_handshake_data(self, data: bytes) -> None:
        """Give the protocol the HTTP response head only; the frames after it go to _framing."""
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
        self._framed = self._protocol.state is State.OPEN
        if end < len(head):
            if self._framed:
                self._on_frames(head[end:])
            else:
                self._to_protocol(head[end:])

    def _on_frames(self, data: bytes) -> None:
        for event in self._framing.receive_data(data):
            if isinstance(event, (str, bytes)):
                self._deliver(event)
            elif not self._on_control(event):
                return

    def _on_control(self, event: ControlFrame | Failure) -> bool:
        """Pass a control frame to the protocol, or fail the connection; False if the
        frames end there (a close frame, a failure on either side): later bytes go to the
        protocol, which discards them."""
        protocol = self._protocol
        if isinstance(event, Failure):
            self._failure = event.code
            protocol.fail(event.code, event.reason)
            self._flush()
            self._framed = False
        else:
            self._to_protocol(event.data)
            self._framed = event.opcode != OP_CLOSE and protocol.parser_exc is None
        return self._framed

    def _to_protocol(self, data: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(data)
        self._flush()
        protocol.events_received()  # control frames only: the protocol acted on them already

    def _wait_readable(self, deadline: float) -> None:
        """Wait until the socket is readable; the watchdog raises WsTimeout past the deadline."""
        self._deadline = deadline
        reading = _WATCHDOG.reading
        reading.add(self)
        if not _WATCHDOG.running:
            _WATCHDOG.start()
        try:
            self._hub.wait(self._readable)
        finally:
            self._deadline = 0.0
            reading.discard(self)

    def idle(self, seconds: float) -> None:
        """Wait seconds (no longer: a paced user's next message is due then), reading what
        arrives meanwhile, so that a ping is answered at once (a server that pings an idle
        client closes it when the pong does not come); a message is kept for recv, a close
        is seen by the next operation. Only for a connection no other greenlet reads."""
        deadline = time.monotonic() + seconds
        if self._tls or self._ended:
            gevent.sleep(seconds)
            return
        fd = self._raw.fileno()
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                gevent.socket.wait_read(fd, timeout=remaining)
            except TimeoutError:
                return
            try:
                data = self._raw.recv(RECV_BYTES)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            self._take(data)
            if not data or self._protocol.state is State.CLOSED:
                gevent.sleep(max(deadline - time.monotonic(), 0))  # nothing more to read
                return

    def _expire(self) -> None:
        self._deadline = 0.0
        self._hub.cancel_wait(self._readable, WsTimeout("no message within the timeout"))

    # -- closing --------------------------------------------------------------------------------

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, timeout_s: float = 2.0) -> int:
        """Close (handshake bounded by timeout_s); return the close code it ended with.

        A kill that lands mid-handshake (the run stopping its users) lets the handshake
        finish, within the same bound, before it goes on: the server saw a normal close,
        and the close code counted is the one it answered, not 1006.
        """
        if self._ended:
            return self.close_code
        deadline = time.monotonic() + timeout_s
        try:
            self._close_handshake(code, deadline)
        except gevent.GreenletExit:
            with contextlib.suppress(gevent.GreenletExit):
                self._close_handshake(code, deadline)
            raise
        finally:
            self._end()
        return self.close_code

    def _close_handshake(self, code: int, deadline: float) -> None:
        """Send the close frame and read until the server's answer and the end of the stream.

        Data messages that complete from here on are checked (a broken one still fails the
        connection) but dropped: whoever closes has stopped receiving, and a server that
        keeps sending instead of answering would fill the queue until the deadline.
        """
        protocol = self._protocol
        self._deliver = _drop
        try:
            if protocol.state is State.OPEN:
                protocol.send_close(code)
                self._flush()
            if self._reading:
                return  # another greenlet is reading: _end() ends that read, no answer read
            self._reading = True
            try:
                while protocol.state is not State.CLOSED:
                    self._read_once(deadline)
                    _check(deadline)
            finally:
                self._reading = False
        except WsError:
            pass

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._release()
            if self._on_end is not None:
                self._on_end(self.close_code)

    def _release(self) -> None:
        """Close the watcher and the socket. A read that another greenlet has under way is
        ended with WsClosed first, and the socket closed after it, never under its feet
        (over TLS gevent's close does that, with an OSError that _read_tls turns into
        WsClosed)."""
        watcher, self._readable = self._readable, None
        if watcher is not None and watcher.active:
            self._hub.cancel_wait(watcher, WsClosed(self.close_code, "the connection is closed"),
                                  True)
            self._hub.loop.run_callback(self._raw.close)  # callbacks run in order
            return
        if watcher is not None:
            watcher.close()
        self._raw.close()


def _check(deadline: float) -> None:
    """Raise WsTimeout if deadline (time.monotonic()) has passed."""
    if time.monotonic() >= deadline:
        raise WsTimeout("no message within the timeout")


def _drop(message: Message) -> None:
    """Deliver a message to no one (one that completes after our close frame)."""


@functools.cache
def _tls_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """One context per process and setting: loading the system's CAs takes milliseconds.

    gevent's SSLContext, whose sockets wait in the hub. Not gevent.ssl.create_default_context:
    that is the standard library's function, and makes the standard library's blocking
    sockets in a process that gevent did not patch (Locust's is patched, a test's is not).
    """
    del ca_file  # read by load_default_certs; part of the cache key only
    context: ssl.SSLContext = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:  # PROTOCOL_TLS_CLIENT checks the certificate and the host name
        context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if keylog := os.environ.get("SSLKEYLOGFILE"):  # as create_default_context does
        context.keylog_filename = keylog
    return context


def _owned(sock: socket.socket) -> socket.socket:
    """gevent's connected socket as a plain non-blocking one that this module owns, with its
    file descriptor for a watcher of our own (gevent's socket keeps its watchers to itself).
    Plain even in a monkey-patched process (Locust's): gevent's class would wrap every call."""
    raw: socket.socket = _PLAIN_SOCKET(fileno=sock.detach())
    raw.setblocking(False)
    return raw


def _tcp_connect(host: str, port: int, timeout_s: float,
                 source_address: str | None = None) -> socket.socket:
    """Connect (from source_address if given); an IP address skips the resolver (gevent's
    resolves in a thread: 1-4 ms)."""
    source = (source_address, 0) if source_address else None
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        resolved: socket.socket = gevent.socket.create_connection(
            (host, port), timeout=timeout_s, source_address=source)
        return resolved
    sock: socket.socket = gevent.socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        if source is not None:
            # the port is picked at connect(), for this destination: each source address
            # then has the whole ephemeral range towards each server port
            with contextlib.suppress(OSError):  # without it, bind() picks the port
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind(source)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _Watchdog:
    """One greenlet per process that expires reads past their deadline; idle, it ends. It
    looks only at the connections with a read under way: tens of thousands of open
    connections that mostly sit between messages cost it nothing."""

    def __init__(self) -> None:
        self.reading: set[Connection] = set()
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
                for connection in list(self.reading):
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
