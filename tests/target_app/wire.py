"""A blocking WebSocket client for the wire tests, with timeouts that scale on slow machines."""

from __future__ import annotations

from typing import Any

from websockets.sync.client import ClientConnection, connect

from wsharness.timeouts import scaled

TIMEOUT_S = scaled(5.0)


def open_socket(url: str, **kwargs: Any) -> ClientConnection:
    connection: ClientConnection = connect(
        url, open_timeout=TIMEOUT_S, close_timeout=TIMEOUT_S, **kwargs)
    return connection


def receive_text(ws: ClientConnection, timeout: float = TIMEOUT_S) -> str:
    message = ws.recv(timeout)
    assert isinstance(message, str), f"expected a text message, got {message!r}"
    return message


def receive_texts(ws: ClientConnection, count: int) -> list[str]:
    return [receive_text(ws) for _ in range(count)]
