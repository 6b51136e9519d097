"""The default variant: the documented protocol with the documented code's defects fixed."""

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

from target_app.messages import UnsupportedData, close_quietly, text_messages
from target_app.origins import OriginPolicy
from target_app.pages import LOCATION_SOCKET_ORIGIN, chat_page, echo_page, items_page
from target_app.room import Room

UNSUPPORTED_DATA = status.WS_1003_UNSUPPORTED_DATA

app = FastAPI(title="wsharness reference app")
origin_policy = OriginPolicy.from_env()
room = Room()


@app.get("/")
async def get() -> HTMLResponse:
    return HTMLResponse(echo_page(LOCATION_SOCKET_ORIGIN))


@app.get("/items")
async def get_items_page() -> HTMLResponse:
    return HTMLResponse(items_page(LOCATION_SOCKET_ORIGIN, encode_components=True))


@app.get("/chat")
async def get_chat_page() -> HTMLResponse:
    return HTMLResponse(chat_page(LOCATION_SOCKET_ORIGIN))


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        async for data in text_messages(websocket):
            await websocket.send_text(f"Message text was: {data}")
    except UnsupportedData:
        await close_quietly(websocket, UNSUPPORTED_DATA)
    except WebSocketDisconnect:
        pass


async def get_cookie_or_token(
    websocket: WebSocket,
    session: Annotated[str | None, Cookie()] = None,
    token: Annotated[str | None, Query()] = None,
) -> str:
    if session is not None and not origin_policy.allows(
        websocket.headers.get("origin"), websocket.headers.get("host")
    ):
        session = None
    if session is None and token is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
    return session or token or ""


@app.websocket("/items/{item_id}/ws")
async def websocket_item_endpoint(
    *,
    websocket: WebSocket,
    item_id: str,
    q: int | None = None,
    cookie_or_token: Annotated[str, Depends(get_cookie_or_token)],
) -> None:
    await websocket.accept()
    try:
        async for data in text_messages(websocket):
            await websocket.send_text(f"Session cookie or query token value is: {cookie_or_token}")
            if q is not None:
                await websocket.send_text(f"Query parameter q is: {q}")
            await websocket.send_text(f"Message text was: {data}, for item ID: {item_id}")
    except UnsupportedData:
        await close_quietly(websocket, UNSUPPORTED_DATA)
    except WebSocketDisconnect:
        pass


@app.websocket("/ws/{client_id}")
async def websocket_chat_endpoint(websocket: WebSocket, client_id: int) -> None:
    await websocket.accept()
    try:
        await room.take_part(room.member(websocket, client_id), text_messages(websocket))
    except UnsupportedData:
        room.count_eviction("unsupported_data")
        await close_quietly(websocket, UNSUPPORTED_DATA)
