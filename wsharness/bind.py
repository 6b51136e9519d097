"""Listening sockets bound before their server starts: the port is taken once and kept, never
picked, released and bound again by someone else (in between, anyone may take it)."""

from __future__ import annotations

import errno
import socket

MAX_PORT = 65535


class BindError(Exception):
    """The address cannot be bound (one-line message)."""


def bind_listening(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (port 0: any free port), for a server to listen on.

    Made from getaddrinfo's family, type and protocol: asyncio sets TCP_NODELAY only on the
    connections of a socket that says it is TCP, and small WebSocket frames must not wait.
    """
    return bind(host, port, socket.SO_REUSEADDR)


def reserve_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT and never listening, for a server
    that binds the port itself with SO_REUSEPORT (Granian's workers): held while the server
    runs, it lets that server bind beside it, while anyone binding without SO_REUSEPORT gets
    EADDRINUSE, and it takes no connections. (Another SO_REUSEPORT program of the same user
    could still bind beside it: that is how Linux shares ports.) Without SO_REUSEADDR, a given
    port that a server left in TIME_WAIT is refused: port 0 is not affected."""
    return bind(host, port, socket.SO_REUSEPORT)


def bind(host: str, port: int, reuse: int) -> socket.socket:
    if not 0 <= port <= MAX_PORT:
        raise BindError(f"{port} is not a port number (0-{MAX_PORT})")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: a name idna refuses
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise BindError(f"cannot resolve host {host!r}: {reason}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, reuse, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        what = "is already in use" if exc.errno == errno.EADDRINUSE else f"failed: {exc.strerror}"
        raise BindError(f"binding {host}:{port} {what}") from None
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for a program that binds it itself (Locust's web UI
    and master) or for a target that must not answer. Another program may take it first:
    a server started here binds with bind_listening instead."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
