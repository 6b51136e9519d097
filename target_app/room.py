"""The chat room of the default variant: a member that keeps reading gets every message.

A message to a member with nothing waiting is sent at once; otherwise it waits in the
member's send buffer, bounded in bytes and drained in order by the member's own task. A
broadcast waits while a member's buffer is full, and the sender's next message is not read
meanwhile: flow control reaches the publisher, and nothing is dropped. A member whose
buffer has not moved for the stall limit while messages wait for it is evicted: it leaves
the room and is closed with 1013 (try again later). The close frame follows what is
already in the transport, so the client sees it once it reads again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
from collections.abc import AsyncIterator, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect, status

from target_app.messages import close_quietly
from wsharness.argtypes import from_env, positive_int
from wsharness.stall import DEFAULT_STALL_S, stall_s

SEND_BUFFER_ENV = "WSHARNESS_SEND_BUFFER"
DEFAULT_SEND_BUFFER_BYTES = 256 * 1024
STALLED_CLOSE = status.WS_1013_TRY_AGAIN_LATER
STALLED_REASON = "stalled: read nothing while messages waited"
WATCH_FRACTION = 0.1  # the stall watch looks this often, as a share of the stall limit


@dataclass(frozen=True)
class Limits:
    send_buffer_bytes: int = DEFAULT_SEND_BUFFER_BYTES
    stall_s: float = DEFAULT_STALL_S

    @classmethod
    def from_env(cls) -> Limits:
        return cls(from_env(SEND_BUFFER_ENV, positive_int, DEFAULT_SEND_BUFFER_BYTES), stall_s())


class Started:
    """A coroutine begun outside any task and now waiting on what it yielded: awaiting this
    finishes it in the awaiting task (cancellation included), as if it had begun there."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coroutine = coroutine
        self._waiting = waiting

    def __await__(self) -> Generator[Any, None, None]:
        coroutine, waiting = self._coroutine, self._waiting
        while True:
            try:
                yield waiting
            except BaseException as exc:  # thrown into the awaiting task: pass it on
                try:
                    waiting = coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting = coroutine.send(None)
                except StopIteration:
                    return

    def close(self) -> None:
        self._coroutine.close()


class Member:
    """One connected client: its send buffer, and the task that sends it in order.

    Sizes are `sys.getsizeof` of the queued strings: what they hold in memory.
    """

    def __init__(self, websocket: WebSocket, client_id: int, limits: Limits) -> None:
        self.websocket = websocket
        self.client_id = client_id
        self.gone = False  # left or evicted: nothing more is queued for it
        self.publishing = asyncio.Lock()  # its messages and its `left` go out one at a time
        self.queued_bytes = 0
        self.sent = 0  # messages sent to it so far: its progress, for the stall watch
        self.stuck_since = 0.0  # loop time the watch first saw messages wait and no progress
        self.sent_when_watched = 0
        self._limit = limits.send_buffer_bytes
        self._outbox: collections.deque[str] = collections.deque()
        self._queued = asyncio.Event()  # the outbox has something
        self._room = asyncio.Event()  # the buffer has room
        self._room.set()
        self._full = False  # a publisher found the buffer full and waits on _room
        self._sender = asyncio.create_task(self._send_queued())
        self._closing: asyncio.Task[None] | None = None
        self._started: Started | None = None  # a send of outbox[0] begun by offer()

    def offer(self, text: str, size: int) -> bool:
        """Queue text of `size` bytes unless the buffer is full (an empty buffer takes any
        one message). To an idle member the text is sent at once, in the caller's task,
        unless the transport makes that send wait: then the member's sender finishes it."""
        if self.gone:
            return True
        outbox = self._outbox
        if not outbox:
            send = self.websocket.send_text(text)
            try:
                waiting = send.send(None)
            except StopIteration:
                self.sent += 1
                return True
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._discard()
                return True
            self._started = Started(send, waiting)
            self._queued.set()
        elif self.queued_bytes + size > self._limit:
            self._full = True
            self._room.clear()
            return False
        outbox.append(text)
        self.queued_bytes += size
        return True

    async def put(self, text: str, size: int) -> None:
        """Queue text, waiting while the buffer is full; a member that is gone takes nothing."""
        while not self.offer(text, size):
            await self._room.wait()

    async def _send_queued(self) -> None:
        outbox, send = self._outbox, self.websocket.send_text
        popleft, size_of = outbox.popleft, sys.getsizeof
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                if not outbox:
                    self._queued.clear()
                    await self._queued.wait()
                while outbox:
                    started, self._started = self._started, None
                    await (started or send(outbox[0]))
                    self.queued_bytes -= size_of(popleft())
                    self.sent += 1
                    if self._full and self.queued_bytes < self._limit:
                        self._full = False
                        self._room.set()
        self._discard()  # the client is gone: nobody waits on this buffer any more

    def stalled(self, now: float, stall_s: float) -> bool:
        """Seen by the stall watch at `now`: have messages waited with no progress for stall_s?"""
        if not self.queued_bytes or self.sent != self.sent_when_watched:
            self.sent_when_watched, self.stuck_since = self.sent, 0.0
            return False
        if not self.stuck_since:
            self.stuck_since = now
        return now - self.stuck_since >= stall_s

    def _discard(self) -> None:
        self.gone = True
        if self._started is not None:
            self._started.close()
            self._started = None
        self._outbox.clear()
        self.queued_bytes = 0
        self._room.set()

    async def room_for_more(self, timeout_s: float) -> None:
        """Wait until the buffer has room (or the member is gone), at most timeout_s."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), timeout_s)

    def evict(self, code: int = STALLED_CLOSE, reason: str = STALLED_REASON) -> None:
        """Stop sending, drop what waits and close with code once the client reads."""
        self._discard()
        self._sender.cancel()
        self._closing = asyncio.create_task(close_quietly(self.websocket, code, reason))

    async def stop(self) -> None:
        """The connection is over: stop sending; an eviction's close frame may still go."""
        self._discard()
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        if self._closing is not None:
            await self._closing


class Room:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits.from_env()
        self.evictions: collections.Counter[str] = collections.Counter()  # reason -> members
        self._members: dict[Member, None] = {}  # insertion-ordered set
        self._watch: asyncio.Task[None] | None = None
        self._connected: set[Member] = set()  # joined and not yet stopped
        self._sent_to_departed = 0
        self._leaving: set[asyncio.Task[None]] = set()

    @property
    def member_count(self) -> int:
        return len(self._members)

    @property
    def queued_bytes(self) -> int:
        return sum(member.queued_bytes for member in self._members)

    @property
    def messages_sent(self) -> int:
        return self._sent_to_departed + sum(member.sent for member in self._connected)

    def member(self, websocket: WebSocket, client_id: int) -> Member:
        return Member(websocket, client_id, self.limits)

    async def admit(self, websocket: WebSocket) -> None:
        """Complete the client's handshake; take_part then joins it before anything else
        runs, so it gets every broadcast that begins once the client knows it is in."""
        await websocket.accept()

    async def take_part(self, member: Member, messages: AsyncIterator[str]) -> None:
        """Join, then relay each message the member sends until it leaves or is evicted."""
        self._members[member] = None
        self._connected.add(member)
        watch = self._watch
        if watch is None or watch.done() or watch.get_loop() is not asyncio.get_running_loop():
            self._watch = asyncio.create_task(self._watch_stalls())
        try:
            async for text in messages:
                if member.gone:
                    break
                async with member.publishing:
                    reply = f"You wrote: {text}"
                    await member.put(reply, sys.getsizeof(reply))
                    await self.broadcast(f"Client #{member.client_id} says: {text}")
        finally:
            await self.leave(member)
            await member.stop()
            self._connected.discard(member)
            self._sent_to_departed += member.sent

    async def broadcast(self, text: str) -> None:
        """Queue text for every member, waiting for room in each full buffer in turn."""
        size = sys.getsizeof(text)
        for member in list(self._members):
            if not member.offer(text, size):
                await member.put(text, size)

    async def leave(self, member: Member) -> None:
        """Remove a member, once, and tell everyone still here after its last message."""
        if member not in self._members:
            return
        del self._members[member]
        async with member.publishing:
            await self.broadcast(f"Client #{member.client_id} left the chat")

    def count_eviction(self, reason: str) -> None:
        self.evictions[reason] += 1

    async def _watch_stalls(self) -> None:
        stall_s = self.limits.stall_s
        loop = asyncio.get_running_loop()
        while self._members:
            await asyncio.sleep(stall_s * WATCH_FRACTION)
            now = loop.time()
            for member in [m for m in self._members if m.stalled(now, stall_s)]:
                self.count_eviction("stalled")
                member.evict()
                task = asyncio.create_task(self.leave(member))
                self._leaving.add(task)
                task.add_done_callback(self._leaving.discard)
