"""Small FastAPI apps that speak PROTOCOL.md, each but `conforming` breaking one rule of it.

`pytest conformance --app tests.conformance.broken_apps:NAME` must fail each broken app with the
rule it breaks named in the output (see test_broken_apps.py).
"""

# No `from __future__ import annotations`: FastAPI must see the local Depends() at runtime.
import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

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

REORDER_DELAY_S = 0.05


@dataclass(frozen=True)
class Flaws:
    """One field per deviation from the protocol; the defaults conform."""

    echo_prefix: str = "Message text was: "
    echo_replies: int = 1
    echo_to_latest_connection: bool = False
    echo_reordered: bool = False
    credentials_required: bool = True
    token_wins: bool = False
    q_must_be_int: bool = True
    q_reply: bool = True
    chat_id_must_be_int: bool = True
    personal_reply_first: bool = True
    broadcast_to_sender: bool = True
    chat_reordered: bool = False
    left_announcements: int = 1


class Room:
    """The chat room, done right: a member that vanished mid-broadcast is skipped."""

    def __init__(self) -> None:
        self.members: list[WebSocket] = []

    async def broadcast(self, text: str, *, skip: WebSocket | None = None) -> None:
        for member in list(self.members):
            if member is not skip:
                with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                    await member.send_text(text)


async def delayed_every_other(count: int) -> None:
    """Flaw helper: hold back the 1st, 3rd, ... message so a burst arrives out of order."""
    if count % 2 == 0:
        await asyncio.sleep(REORDER_DELAY_S)


async def handle_each(websocket: WebSocket,
                      handle: Callable[[int, str], Coroutine[Any, Any, None]], *,
                      reordered: bool) -> None:
    """Call handle(count, text) for each text received, until the client disconnects;
    reordered lets a message's handling start before the one before it has finished."""
    tasks: set[asyncio.Task[None]] = set()
    count = 0
    while True:
        data = await websocket.receive_text()
        task = asyncio.create_task(handle(count, data))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if not reordered:
            await task
        count += 1


def build(flaws: Flaws) -> FastAPI:
    app = FastAPI()
    add_echo(app, flaws)
    add_items(app, flaws)
    add_chat(app, flaws)
    return app


def add_echo(app: FastAPI, flaws: Flaws) -> None:
    echo_connections: list[WebSocket] = []

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        echo_connections.append(websocket)

        async def reply(count: int, data: str) -> None:
            if flaws.echo_reordered:
                await delayed_every_other(count)
            target = echo_connections[-1] if flaws.echo_to_latest_connection else websocket
            for _ in range(flaws.echo_replies):
                await target.send_text(f"{flaws.echo_prefix}{data}")

        try:
            await handle_each(websocket, reply, reordered=flaws.echo_reordered)
        except WebSocketDisconnect:
            echo_connections.remove(websocket)


def add_items(app: FastAPI, flaws: Flaws) -> None:
    async def credential(websocket: WebSocket,
                         session: Annotated[str | None, Cookie()] = None,
                         token: Annotated[str | None, Query()] = None) -> str | None:
        if session is None and token is None and flaws.credentials_required:
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
        return (token or session) if flaws.token_wins else (session or token)

    async def serve_items(websocket: WebSocket, item_id: str, q: object,
                          value: str | None) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                data = await websocket.receive_text()
                await websocket.send_text(f"Session cookie or query token value is: {value}")
                if q is not None and flaws.q_reply:
                    await websocket.send_text(f"Query parameter q is: {q}")
                await websocket.send_text(f"Message text was: {data}, for item ID: {item_id}")

    if flaws.q_must_be_int:
        @app.websocket("/items/{item_id}/ws")
        async def items(websocket: WebSocket, item_id: str,
                        value: Annotated[str | None, Depends(credential)],
                        q: int | None = None) -> None:
            await serve_items(websocket, item_id, q, value)
    else:
        @app.websocket("/items/{item_id}/ws")
        async def items_any_q(websocket: WebSocket, item_id: str,
                              value: Annotated[str | None, Depends(credential)],
                              q: str | None = None) -> None:
            await serve_items(websocket, item_id, q, value)


def add_chat(app: FastAPI, flaws: Flaws) -> None:
    room = Room()

    async def chat(websocket: WebSocket, client_id: object) -> None:
        await websocket.accept()
        room.members.append(websocket)
        sending = asyncio.Lock()

        async def relay(count: int, data: str) -> None:
            if flaws.chat_reordered:
                await delayed_every_other(count)
            async with sending:
                personal = websocket.send_text(f"You wrote: {data}")
                if flaws.personal_reply_first:
                    await personal
                await room.broadcast(f"Client #{client_id} says: {data}",
                                     skip=None if flaws.broadcast_to_sender else websocket)
                if not flaws.personal_reply_first:
                    await personal

        try:
            await handle_each(websocket, relay, reordered=flaws.chat_reordered)
        except WebSocketDisconnect:
            room.members.remove(websocket)
            for _ in range(flaws.left_announcements):
                await room.broadcast(f"Client #{client_id} left the chat")

    if flaws.chat_id_must_be_int:
        @app.websocket("/ws/{client_id}")
        async def chat_int(websocket: WebSocket, client_id: int) -> None:
            await chat(websocket, client_id)
    else:
        @app.websocket("/ws/{client_id}")
        async def chat_any(websocket: WebSocket, client_id: str) -> None:
            await chat(websocket, client_id)


conforming = build(Flaws())
echo_wrong_text = build(Flaws(echo_prefix="Message text is: "))
echo_extra_reply = build(Flaws(echo_replies=2))
echo_crosstalk = build(Flaws(echo_to_latest_connection=True))
echo_reordered = build(Flaws(echo_reordered=True))
accepts_without_credentials = build(Flaws(credentials_required=False))
token_wins = build(Flaws(token_wins=True))
accepts_non_int_q = build(Flaws(q_must_be_int=False))
q_reply_missing = build(Flaws(q_reply=False))
accepts_non_int_client_id = build(Flaws(chat_id_must_be_int=False))
broadcast_before_personal_reply = build(Flaws(personal_reply_first=False))
broadcast_skips_sender = build(Flaws(broadcast_to_sender=False))
chat_reordered = build(Flaws(chat_reordered=True))
left_missing = build(Flaws(left_announcements=0))
left_duplicated = build(Flaws(left_announcements=2))
