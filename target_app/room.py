"""The chat room of the default variant: a broadcast never waits on one client.

Each member has a bounded send queue drained by its own task. A member whose queue is
full has fallen too far behind: it leaves the room and is closed with SLOW_CLIENT_CLOSE.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os

from fastapi import WebSocket, WebSocketDisconnect

from target_app.messages import close_quietly

SEND_QUEUE_ENV = "WSHARNESS_SEND_QUEUE"
DEFAULT_SEND_QUEUE = 1024
SLOW_CLIENT_CLOSE = 1013  # "Try Again Later": this client could not keep up with the room
SLOW_CLIENT_CLOSE_TIMEOUT_S = 5.0


def send_queue_limit() -> int:
    return int(os.environ.get(SEND_QUEUE_ENV, DEFAULT_SEND_QUEUE))


class Member:
    """One connected client and the task that sends it its queued messages in order."""

    def __init__(self, websocket: WebSocket, client_id: int, queue_limit: int) -> None:
        self.websocket = websocket
        self.client_id = client_id
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_limit)
        self._sender = asyncio.create_task(self._send_queued())

    def offer(self, text: str) -> bool:
        """Queue a message; False when the queue is full."""
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def _send_queued(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                await self.websocket.send_text(await self._queue.get())

    async def stop_sending(self) -> None:
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender

    async def close_as_too_slow(self) -> None:
        await self.stop_sending()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                close_quietly(self.websocket, SLOW_CLIENT_CLOSE, "send queue full"),
                SLOW_CLIENT_CLOSE_TIMEOUT_S)


class Room:
    def __init__(self) -> None:
        self._members: dict[Member, None] = {}  # insertion-ordered set
        self._closing: set[asyncio.Task[None]] = set()
        self.evictions: collections.Counter[str] = collections.Counter()  # reason -> members

    @property
    def queued_bytes(self) -> int:
        """Always 0: this room bounds its queues in messages and does not count their bytes."""
        return 0

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, member: Member) -> bool:
        return member in self._members

    def join(self, member: Member) -> None:
        self._members[member] = None

    def leave(self, member: Member) -> None:
        """Remove a member, once, and tell everyone still here."""
        if member in self._members:
            del self._members[member]
            self.broadcast(f"Client #{member.client_id} left the chat")

    def send_personal(self, member: Member, text: str) -> None:
        if not member.offer(text):
            self._evict(member)

    def broadcast(self, text: str) -> None:
        behind = [member for member in list(self._members) if not member.offer(text)]
        for member in behind:
            self._evict(member)

    def _evict(self, member: Member) -> None:
        if member not in self._members:
            return
        self.evictions["stalled"] += 1
        task = asyncio.create_task(member.close_as_too_slow())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        self.leave(member)
