"""The app as FastAPI's WebSockets page writes it, defects kept on purpose (see PROTOCOL.md).

It is the baseline the harness demonstrates its findings on: do not fix it here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import (
    Cookie,
    Depends,
    FastAPI,
    Query,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)
from fastapi.responses import HTMLResponse

from target_app.pages import DOCS_SOCKET_ORIGIN, chat_page, echo_page, items_page
from target_app.raw import raw_messages, send_unchanged

app = FastAPI(title="wsharness reference app (docs variant)")


@app.get("/")
async def get() -> HTMLResponse:
    return HTMLResponse(echo_page(DOCS_SOCKET_ORIGIN))


@app.get("/items")
async def get_items_page() -> HTMLResponse:
    return HTMLResponse(items_page(DOCS_SOCKET_ORIGIN, encode_components=False))


@app.get("/chat")
async def get_chat_page() -> HTMLResponse:
    return HTMLResponse(chat_page(DOCS_SOCKET_ORIGIN))


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        data = await websocket.receive_text()
        await websocket.send_text(f"Message text was: {data}")


async def get_cookie_or_token(
    websocket: WebSocket,
    session: Annotated[str | None, Cookie()] = None,
    token: Annotated[str | None, Query()] = None,
) -> str:
    if session is None and token is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
    return session or token  # type: ignore[return-value]


@app.websocket("/items/{item_id}/ws")
async def websocket_item_endpoint(
    *,
    websocket: WebSocket,
    item_id: str,
    q: int | None = None,
    cookie_or_token: Annotated[str, Depends(get_cookie_or_token)],
) -> None:
    await websocket.accept()
    while True:
        data = await websocket.receive_text()
        await websocket.send_text(f"Session cookie or query token value is: {cookie_or_token}")
        if q is not None:
            await websocket.send_text(f"Query parameter q is: {q}")
        await websocket.send_text(f"Message text was: {data}, for item ID: {item_id}")


class ConnectionManager:
    def __init__(self) -> None:
        self.active_connections: list[WebSocket] = []

    async def connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.active_connections.append(websocket)

    def disconnect(self, websocket: WebSocket) -> None:
        self.active_connections.remove(websocket)

    async def send_personal_message(self, message: str, websocket: WebSocket) -> None:
        await websocket.send_text(message)

    async def broadcast(self, message: str) -> None:
        for connection in self.active_connections:
            await connection.send_text(message)


manager = ConnectionManager()


@app.websocket("/ws/{client_id}")
async def websocket_chat_endpoint(websocket: WebSocket, client_id: int) -> None:
    await manager.connect(websocket)
    try:
        while True:
            data = await websocket.receive_text()
            await manager.send_personal_message(f"You wrote: {data}", websocket)
            await manager.broadcast(f"Client #{client_id} says: {data}")
    except WebSocketDisconnect:
        manager.disconnect(websocket)
        await manager.broadcast(f"Client #{client_id} left the chat")


@app.websocket("/raw")
async def websocket_raw_endpoint(websocket: WebSocket) -> None:
    """The probe endpoint, not in the documentation: every message back unchanged."""
    await websocket.accept()
    async for message in raw_messages(websocket):
        await send_unchanged(websocket, message)
