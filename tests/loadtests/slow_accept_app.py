"""An echo server on /ws that takes ACCEPT_S to accept each handshake and counts the
handshakes under way at once (GET /accepting: now, at most, and how many there were), to
show --max-connecting bounds what a burst of users asks of a server at once."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

ACCEPT_S = 0.2

app = FastAPI()
accepting = {"now": 0, "most": 0, "accepted": 0}


@app.get("/accepting")
async def handshakes() -> dict[str, int]:
    return accepting


@app.websocket("/ws")
async def slow_echo(websocket: WebSocket) -> None:
    accepting["now"] += 1
    accepting["most"] = max(accepting["most"], accepting["now"])
    try:
        await asyncio.sleep(ACCEPT_S)
        await websocket.accept()
        accepting["accepted"] += 1
    finally:
        accepting["now"] -= 1
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"Message text was: {text}")
    except WebSocketDisconnect:
        return
