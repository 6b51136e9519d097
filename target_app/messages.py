"""Receiving text messages without the documented code's failure modes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState


class UnsupportedData(Exception):
    """The client sent a binary message where the protocol has only text."""


async def text_messages(websocket: WebSocket) -> AsyncIterator[str]:
    """Yield each text message until the client leaves; raise UnsupportedData on binary."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            raise UnsupportedData
        yield text


async def close_quietly(websocket: WebSocket, code: int, reason: str = "") -> None:
    """Close if the client is still there; a client that is gone already is no error."""
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(code, reason)
