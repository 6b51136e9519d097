"""A one-connection WebSocket server on loopback that a test scripts byte by byte.

`raw_server(script)` accepts one connection in a thread, completes the opening handshake with
websockets' ServerProtocol, then runs script(peer): the script sends whatever bytes it likes
(frames built by hand too) and reads the client's frames through the protocol. The block
waits for the script to end, closes the listener, and re-raises what the script raised.
With tls (server_tls()'s context) it speaks TLS with a certificate of a throwaway CA.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

import trustme
from websockets.frames import Close
from websockets.http11 import Request
from websockets.protocol import Event, State
from websockets.server import ServerProtocol

TIMEOUT_S = 5.0


class Peer:
    """The server's side of the connection: raw sends, and the protocol for what comes in."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.protocol = ServerProtocol()

    def handshake(self) -> None:
        while self.protocol.state is State.CONNECTING:
            self._receive()
            for event in self.protocol.events_received():
                if isinstance(event, Request):
                    self.protocol.send_response(self.protocol.accept(event))
            self.flush()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def flush(self) -> None:
        """Send what the protocol has to send (a pong, a close frame, the end of the stream)."""
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)
            else:
                self.sock.shutdown(socket.SHUT_WR)

    def receive_close(self) -> Close:
        """Read until the client's close frame has come; the answer is left unsent."""
        while self.protocol.close_rcvd is None:
            self._receive()
        return self.protocol.close_rcvd

    def receive_for(self, timeout_s: float) -> list[Event]:
        """What the client sends within timeout_s (one read), as the protocol's events: none
        if nothing came; ConnectionError once the client closed the connection."""
        self.sock.settimeout(timeout_s)
        try:
            self._receive()
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(TIMEOUT_S)
        return self.protocol.events_received()

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the client closed the connection")
        self.protocol.receive_data(data)


@contextlib.contextmanager
def raw_server(script: Callable[[Peer], None], *,
               tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve one connection with script for the block; yields the ws:// URL (wss:// with
    tls)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT_S)
    errors: list[BaseException] = []

    def serve_one() -> None:
        try:
            with _accept(listener, tls) as sock:
                peer = Peer(sock)
                peer.handshake()
                script(peer)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    try:
        yield f"{'wss' if tls else 'ws'}://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        thread.join(TIMEOUT_S)
        listener.close()
    if errors:
        raise errors[0]


def _accept(listener: socket.socket, tls: ssl.SSLContext | None) -> socket.socket:
    sock, _ = listener.accept()
    sock.settimeout(TIMEOUT_S)
    if tls is None:
        return sock
    try:
        return tls.wrap_socket(sock, server_side=True)
    except BaseException:
        sock.close()
        raise


@functools.cache
def server_tls() -> ssl.SSLContext:
    """A server's TLS context with a certificate for 127.0.0.1 from a throwaway CA (clients
    connect with verify_tls=False)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    return context
