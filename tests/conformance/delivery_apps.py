"""Small FastAPI apps for the delivery properties (PROTOCOL.md, "Delivery"): `delivering` keeps
them, each other app breaks them one way. They serve /ws and /ws/{client_id} only.

`pytest conformance -m scale --app tests.conformance.delivery_apps:NAME --stall-s S`

Each chat member has a bounded queue drained by its own task. When a queue is full the
publisher waits (flow control: its next message is not read meanwhile). A member whose send has
not completed for WSHARNESS_STALL_S seconds is evicted: it leaves the room and is closed with
1013 once it reads again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
from dataclasses import dataclass

from fastapi import FastAPI, WebSocket, WebSocketDisconnect, status

from wsharness.stall import stall_s

QUEUE_MESSAGES = 64
STALLED_CLOSE = status.WS_1013_TRY_AGAIN_LATER
CLOSE_WAIT_S = 30.0  # how long an evicted member's close frame may wait for it to read
GONE = (WebSocketDisconnect, RuntimeError, OSError)  # what sending to a departed client raises


@dataclass(frozen=True)
class Flaws:
    """One field per way of breaking the delivery rules; the defaults keep them."""

    drop_every: int = 0  # leave out every n-th message sent (echo replies and chat copies)
    evict_when_full: bool = False  # a full queue evicts its member instead of waiting


class Member:
    """One chat client: its queue, and the task that sends the queue in order."""

    def __init__(self, websocket: WebSocket, client_id: int, room: Room) -> None:
        self.websocket = websocket
        self.client_id = client_id
        self.room = room
        self.gone = False
        self.publishing = asyncio.Lock()  # its messages and its `left` go out one at a time
        self._outbox: collections.deque[str] = collections.deque()
        self._changed = asyncio.Condition()
        self.sender = asyncio.create_task(self._send_queued())

    def _full(self) -> bool:
        return len(self._outbox) >= QUEUE_MESSAGES

    async def put(self, text: str) -> None:
        """Queue text, waiting while the queue is full; a member that is gone takes nothing."""
        async with self._changed:
            if self.room.flaws.evict_when_full and self._full():
                self.room.evict_soon(self)
            await self._changed.wait_for(lambda: self.gone or not self._full())
            if not self.gone:
                self._outbox.append(text)
                self._changed.notify_all()

    async def discard(self) -> None:
        """Nothing more is queued or sent; publishers waiting on this member go on."""
        async with self._changed:
            self.gone = True
            self._outbox.clear()
            self._changed.notify_all()

    async def _next(self) -> str | None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.gone or bool(self._outbox))
            if self.gone:
                return None
            text = self._outbox.popleft()
            self._changed.notify_all()
            return text

    async def _send_queued(self) -> None:
        try:
            while (text := await self._next()) is not None:
                await asyncio.wait_for(self.websocket.send_text(text), self.room.stall_s)
        except TimeoutError:
            self.room.evict_soon(self)
        except GONE:
            await self.discard()


class Room:
    def __init__(self, flaws: Flaws) -> None:
        self.flaws = flaws
        self.stall_s = stall_s()
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self._evicting: set[asyncio.Task[None]] = set()

    async def broadcast(self, text: str) -> None:
        for member in list(self.members):
            await member.put(text)

    async def leave(self, member: Member) -> None:
        """Remove a member, once, and tell everyone still here after its last message."""
        if member not in self.members:
            return
        del self.members[member]
        async with member.publishing:
            await self.broadcast(f"Client #{member.client_id} left the chat")

    def evict_soon(self, member: Member) -> None:
        task = asyncio.create_task(self._evict(member))
        self._evicting.add(task)
        task.add_done_callback(self._evicting.discard)

    async def _evict(self, member: Member) -> None:
        await member.discard()
        await self.leave(member)
        with contextlib.suppress(TimeoutError, *GONE):
            await asyncio.wait_for(member.websocket.close(STALLED_CLOSE), CLOSE_WAIT_S)


def build(flaws: Flaws) -> FastAPI:
    app = FastAPI()
    room = Room(flaws)
    sent = itertools.count(1)

    def dropped() -> bool:
        return bool(flaws.drop_every) and next(sent) % flaws.drop_every == 0

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                data = await websocket.receive_text()
                if not dropped():
                    await websocket.send_text(f"Message text was: {data}")

    @app.websocket("/ws/{client_id}")
    async def chat(websocket: WebSocket, client_id: int) -> None:
        await websocket.accept()
        member = Member(websocket, client_id, room)
        room.members[member] = None
        try:
            while not member.gone:
                data = await websocket.receive_text()
                async with member.publishing:
                    await member.put(f"You wrote: {data}")
                    if not dropped():
                        await room.broadcast(f"Client #{client_id} says: {data}")
        except WebSocketDisconnect:
            pass
        finally:
            await room.leave(member)
            await member.discard()
            member.sender.cancel()

    return app


delivering = build(Flaws())
drops_one_in_100 = build(Flaws(drop_every=100))
closes_busy_reader = build(Flaws(evict_when_full=True))
