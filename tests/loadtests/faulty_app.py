"""A server that speaks the echo protocol badly, for the harness's failure reporting.

On /ws, by turns: a connection whose 3rd reply has the wrong content, and one that the
server closes with code 4000 after 5 messages.
"""

from __future__ import annotations

import itertools

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

WRONG_REPLY = 3
CLOSE_AFTER = 5
CLOSE_CODE = 4000

app = FastAPI()
connections = itertools.count()


@app.websocket("/ws")
async def echo_badly(websocket: WebSocket) -> None:
    await websocket.accept()
    closes = next(connections) % 2 == 1
    try:
        for number in range(1, CLOSE_AFTER + 1):
            text = await websocket.receive_text()
            wrong = not closes and number == WRONG_REPLY
            await websocket.send_text(f"Message text was: {text}{'?' if wrong else ''}")
        if closes:
            await websocket.close(CLOSE_CODE)
        else:
            await websocket.receive_text()  # until the client leaves
    except WebSocketDisconnect:
        return
