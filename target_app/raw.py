"""WS /raw, the probe endpoint (PROTOCOL.md): every message comes back unchanged, text as
text and binary as binary. It is not in the documentation; the RFC 6455 checks of the
conformance suite (`-m protocol`, `-m autobahn`) and EchoUser's `--payload` target it.

Its size limit is the server's: uvicorn's `ws_max_size` (16 MiB by default) for a whole
message, its fragments added up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import WebSocket


async def raw_messages(websocket: WebSocket) -> AsyncIterator[str | bytes]:
    """Yield each message as it came (str: text, bytes: binary) until the client leaves."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        yield text if text is not None else message.get("bytes") or b""


async def send_unchanged(websocket: WebSocket, message: str | bytes) -> None:
    if isinstance(message, str):
        await websocket.send_text(message)
    else:
        await websocket.send_bytes(message)
