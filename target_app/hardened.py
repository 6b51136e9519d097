"""The default variant: the documented protocol with the documented code's defects fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
from fastapi.responses import HTMLResponse, Response

from target_app.broadcast import make_room, room_lifespan
from target_app.messages import UnsupportedData, close_quietly, text_messages
from target_app.metrics import CONTENT_TYPE_LATEST, TRAFFIC, exposition, register_room
from target_app.origins import OriginPolicy
from target_app.pages import LOCATION_SOCKET_ORIGIN, chat_page, echo_page, items_page
from target_app.raw import raw_messages, send_unchanged

UNSUPPORTED_DATA = status.WS_1003_UNSUPPORTED_DATA

room = make_room()  # in memory, or relayed through Redis (WSHARNESS_BROADCAST)
register_room(room)
app = FastAPI(title="wsharness reference app", lifespan=room_lifespan(room))
origin_policy = OriginPolicy.from_env()


@app.get("/")
async def get() -> HTMLResponse:
    return HTMLResponse(echo_page(LOCATION_SOCKET_ORIGIN))


@app.get("/items")
async def get_items_page() -> HTMLResponse:
    return HTMLResponse(items_page(LOCATION_SOCKET_ORIGIN, encode_components=True))


@app.get("/chat")
async def get_chat_page() -> HTMLResponse:
    return HTMLResponse(chat_page(LOCATION_SOCKET_ORIGIN))


@app.get("/metrics")
async def get_metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    received, sent = TRAFFIC.messages_in, TRAFFIC.messages_out
    TRAFFIC.open_connections["echo"] += 1
    try:
        async for data in text_messages(websocket):
            received["echo"] += 1
            await websocket.send_text(f"Message text was: {data}")
            sent["echo"] += 1
    except UnsupportedData:
        await close_quietly(websocket, UNSUPPORTED_DATA)
    except WebSocketDisconnect:
        pass
    finally:
        TRAFFIC.open_connections["echo"] -= 1


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
    received, sent = TRAFFIC.messages_in, TRAFFIC.messages_out
    TRAFFIC.open_connections["items"] += 1
    try:
        async for data in text_messages(websocket):
            received["items"] += 1
            await websocket.send_text(f"Session cookie or query token value is: {cookie_or_token}")
            sent["items"] += 1
            if q is not None:
                await websocket.send_text(f"Query parameter q is: {q}")
                sent["items"] += 1
            await websocket.send_text(f"Message text was: {data}, for item ID: {item_id}")
            sent["items"] += 1
    except UnsupportedData:
        await close_quietly(websocket, UNSUPPORTED_DATA)
    except WebSocketDisconnect:
        pass
    finally:
        TRAFFIC.open_connections["items"] -= 1


@app.websocket("/ws/{client_id}")
async def websocket_chat_endpoint(websocket: WebSocket, client_id: int) -> None:
    await room.admit(websocket)
    TRAFFIC.open_connections["chat"] += 1
    try:
        await room.take_part(room.member(websocket, client_id),
                             counted(text_messages(websocket), "chat"))
    except UnsupportedData:
        room.count_eviction("unsupported_data")
        await close_quietly(websocket, UNSUPPORTED_DATA)
    finally:
        TRAFFIC.open_connections["chat"] -= 1


@app.websocket("/raw")
async def websocket_raw_endpoint(websocket: WebSocket) -> None:
    """The probe endpoint: every message back unchanged (see target_app.raw)."""
    await websocket.accept()
    received, sent = TRAFFIC.messages_in, TRAFFIC.messages_out
    TRAFFIC.open_connections["raw"] += 1
    try:
        async for message in raw_messages(websocket):
            received["raw"] += 1
            await send_unchanged(websocket, message)
            sent["raw"] += 1
    except WebSocketDisconnect:
        pass
    finally:
        TRAFFIC.open_connections["raw"] -= 1


async def counted(messages: AsyncIterator[str], endpoint: str) -> AsyncIterator[str]:
    """messages, each counted as received on endpoint."""
    received = TRAFFIC.messages_in
    async for text in messages:
        received[endpoint] += 1
        yield text
