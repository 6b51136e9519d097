"""An echo server on /ws that holds back one reply per connection: the 10th, for 1 s."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

STALLED_REPLY = 10
STALL_S = 1.0

app = FastAPI()


@app.websocket("/ws")
async def echo_with_a_stall(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        number = 0
        while True:
            text = await websocket.receive_text()
            number += 1
            if number == STALLED_REPLY:
                await asyncio.sleep(STALL_S)
            await websocket.send_text(f"Message text was: {text}")
    except WebSocketDisconnect:
        return
