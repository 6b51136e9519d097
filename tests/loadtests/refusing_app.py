"""A chat server that refuses every odd client id and counts the connections it holds open
(GET /held: now and at most), to show a ChatUser that fails to join leaks no connection."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
held = {"now": 0, "most": 0, "refused": 0}


@app.get("/held")
async def held_connections() -> dict[str, int]:
    return held


@app.websocket("/ws/{client_id}")
async def chat(websocket: WebSocket, client_id: int) -> None:
    if client_id % 2:
        held["refused"] += 1
        await websocket.close()  # before accept: the handshake is refused (HTTP 403)
        return
    await websocket.accept()
    held["now"] += 1
    held["most"] = max(held["most"], held["now"])
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        held["now"] -= 1
