"""A bare ASGI app for benchmarks.wire_probe: what a server does with an app that misbehaves
after accepting a WebSocket, and how far an app's send() gets when the client reads nothing.

    /return  accept, then return without closing
    /raise   accept, then raise
    /flood   accept, then send 64 KiB text messages as fast as send() returns (at most
             FLOOD_MESSAGES), then wait a while; GET /sent says how many send() took so far

No framework in between: what the client sees is the server's doing alone.
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

CHUNK = "x" * 65536
FLOOD_MESSAGES = 4096  # 256 MiB at most
FLOOD_HOLD_S = 30.0  # after the last send, before the handler returns
SENT = {"messages": 0}  # by the running /flood handler


class ProbeAppError(RuntimeError):
    """Raised on purpose by /raise."""


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "http":
        body = str(SENT["messages"]).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    elif scope["type"] == "websocket":
        await websocket(scope, receive, send)


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    if scope["path"] == "/raise":
        raise ProbeAppError("raised after accept, on purpose")
    if scope["path"] == "/flood":
        SENT["messages"] = 0
        for _ in range(FLOOD_MESSAGES):
            await send({"type": "websocket.send", "text": CHUNK})
            SENT["messages"] += 1
        await asyncio.sleep(FLOOD_HOLD_S)
    # /return and any other path: return without closing
