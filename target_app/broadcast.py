"""The chat room across processes and hosts: every worker's room relays through one Redis
pub/sub channel (redis-py's asyncio client), named by `WSHARNESS_BROADCAST=redis://host:port/N`
(`python -m target_app --broadcast URL` sets it for its workers). Without it the room stays in
one process (target_app.room).

A chat message, and a member's `left the chat`, is published to the channel and delivered to
this worker's members only when it comes back from Redis, by one relay task that keeps
Redis's order. The room's guarantees hold across workers:

- per-sender order: a member publishes one message at a time, the next only once the one
  before has come back and been queued for this worker's members (the sender's own copy
  too, so its `You wrote` replies and copies alternate as in one process); Redis hands every
  subscriber the messages in the order it took them, and each worker relays them in that
  order. A member's `left the chat` is published after its last message has come back.
- joining: a new client's place in Redis's order is taken before its handshake completes (a
  `join` marker published and come back; what the relay queues after it waits for the
  client), so it gets every message published once it knows it is in, and none from
  before, whichever worker the messages come from.
- no loss for a client that keeps reading: each worker reads its subscription at once into
  a queue that the relay drains into the members' send buffers (target_app.room). While a
  buffer is full the relay waits, as a broadcast does in one process, and tells the other
  workers to hold their publishers (`hold`, renewed every HOLD_REFRESH_S and expiring after
  HOLD_TTL_S, then `release` once its queue is empty): flow control reaches the publishers
  of every worker, and what waits in Redis and in the queue stays small.
- losing Redis (the subscription ends, a publish fails or times out, or this worker's
  heartbeat does not come back within LIVENESS_S): messages may be lost, so every chat
  member of this worker is closed with 1011 (internal error: the room can no longer
  promise delivery) and the worker logs one line. The departures are still announced to
  other workers if Redis takes them. While Redis is away, a new chat connection is closed
  at once with 1011, and it makes the worker try Redis again (at most once a
  RECONNECT_S): when Redis answers, that connection joins the room.

1011 keeps the causes apart: 1012 is a server restarting (uvicorn's shutdown), 1013 the
room evicting a member that stopped reading. Redis pub/sub ignores database numbers, so the
channel's name carries N: rooms on different N do not meet.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import WebSocket, status

from target_app.room import Limits, Member, Room

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

BROADCAST_ENV = "WSHARNESS_BROADCAST"
DEFAULT_REDIS_PORT = 6379
LOST_CLOSE = status.WS_1011_INTERNAL_ERROR
LOST_REASON = "the chat room lost its Redis broadcast: messages may be missing"
UNAVAILABLE_REASON = "the chat room's Redis broadcast is down"
REDIS_TIMEOUT_S = 5.0  # a Redis connect or command that takes longer: Redis is lost
BEAT_S = 1.0  # each worker publishes a heartbeat this often ...
LIVENESS_S = 5.0  # ... and has lost Redis when its own has not come back for this long
HOLD_REFRESH_S = 1.0  # a relay blocked on a full buffer renews its hold this often
HOLD_TTL_S = 3 * HOLD_REFRESH_S  # a hold not renewed (its worker gone) ends by itself
MAX_HOLD_WAIT_S = 30.0  # a publisher held longer publishes anyway (the relay's queue takes it)
RECONNECT_S = 1.0  # a worker without Redis tries again at most this often
PUBLISH_CONNECTIONS = 8  # Redis connections a worker publishes on, shared by its members

RELAY_YIELD_EVERY = 64  # the relay lets the reader and the heartbeat run this often
MESSAGE, JOIN, BEAT, HOLD, RELEASE = "m", "j", "b", "h", "r"  # what a payload carries
RELAYED = (MESSAGE, JOIN)  # the payloads the relay takes in Redis's order

logger = logging.getLogger("uvicorn.error")


class BroadcastError(Exception):
    """The broadcast URL is wrong or Redis does not answer (one-line message)."""


@dataclass(frozen=True)
class BroadcastUrl:
    """A redis://[user:password@]host[:port][/N] URL, checked."""

    url: str
    host: str
    port: int
    db: int

    @property
    def shown(self) -> str:
        """The URL without its credentials, for messages and logs."""
        return f"redis://{self.host}:{self.port}/{self.db}"

    @property
    def channel(self) -> str:
        return f"wsharness:{self.db}:chat"


def parse_broadcast_url(text: str, source: str = BROADCAST_ENV) -> BroadcastUrl:
    """text as a broadcast URL; BroadcastError naming source (an option or a variable)."""
    expected = f"{source} {text!r}: expected redis://host:port/N"
    try:
        parts = urlsplit(text)
        port = DEFAULT_REDIS_PORT if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise BroadcastError(f"{expected} (a port from 1 to 65535)")
    if parts.scheme != "redis" or not parts.hostname:
        raise BroadcastError(expected)
    if parts.query or parts.fragment:
        raise BroadcastError(f"{expected}, without a query or fragment")
    db = parts.path.removeprefix("/") or "0"
    if not db.isdigit():
        raise BroadcastError(f"{expected} (N: a database number, not {db!r})")
    return BroadcastUrl(text, parts.hostname, port, int(db))


def broadcast_from_env() -> BroadcastUrl | None:
    """The broadcast this process's room uses (WSHARNESS_BROADCAST), or None: in memory."""
    text = os.environ.get(BROADCAST_ENV)
    return parse_broadcast_url(text) if text else None


def _redis_modules() -> Any:
    try:
        import redis
        import redis.asyncio
        import redis.backoff
        import redis.retry
    except ImportError:
        raise BroadcastError("a Redis broadcast needs redis-py: pip install "
                             "'wsharness[redis]'") from None
    return redis


def check_reachable(broadcast: BroadcastUrl, source: str = BROADCAST_ENV,
                  timeout_s: float = REDIS_TIMEOUT_S) -> None:
    """Ping Redis once, before serving; BroadcastError (one line) if it does not answer."""
    redis = _redis_modules()
    client = redis.Redis.from_url(
        broadcast.url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
        retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BroadcastError(f"{source} {broadcast.shown}: Redis does not answer "
                             f"({_one_line(exc)})") from None
    finally:
        client.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Link:
    """One connection period to Redis: the clients, the relay's queue, the tasks."""

    def __init__(self, publisher: Redis, subscriber: Redis, subscription: PubSub) -> None:
        self.publisher = publisher
        self.subscriber = subscriber
        self.subscription = subscription
        self.queue: collections.deque[tuple[str, str, int, str]] = collections.deque()
        self.queued = asyncio.Event()
        self.waiting: dict[int, asyncio.Future[None]] = {}  # own message or join -> relayed
        self.joining: dict[int, WebSocket] = {}  # own join marker -> the client it places
        self.beat_seen_at = asyncio.get_running_loop().time()
        self.tasks: list[asyncio.Task[None]] = []

    def stop_tasks(self) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()

    def release_waiters(self) -> None:
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_result(None)
        self.waiting.clear()

    async def close(self) -> None:
        for close in (self.subscription.aclose, self.subscriber.aclose, self.publisher.aclose):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close(), REDIS_TIMEOUT_S)


class _Entering:
    """A client placed in Redis's order and not yet a member: what was relayed since, up to
    the send buffer's size; more than that and it overflows (it is evicted as stalled)."""

    def __init__(self, limit: int) -> None:
        self.texts: collections.deque[str] = collections.deque()
        self.queued_bytes = 0
        self.overflowed = False
        self._limit = limit

    def append(self, text: str, size: int) -> None:
        if self.overflowed:
            return
        if self.texts and self.queued_bytes + size > self._limit:
            self.overflowed = True
            self.texts.clear()
            self.queued_bytes = 0
            return
        self.texts.append(text)
        self.queued_bytes += size

    def popleft(self) -> tuple[str, int]:
        text = self.texts.popleft()
        size = sys.getsizeof(text)
        self.queued_bytes -= size
        return text, size


class RedisRoom(Room):
    """The chat room of one worker, relayed through a Redis channel to every other worker's."""

    def __init__(self, broadcast: BroadcastUrl, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.broadcast_url = broadcast
        self.worker = secrets.token_hex(4)  # this process, in the payloads it publishes
        self._sequence = itertools.count()
        self._link: _Link | None = None
        self._connecting: asyncio.Task[_Link] | None = None
        self._last_attempt = -RECONNECT_S
        self._holds: dict[str, float] = {}  # another worker -> loop time its hold expires
        self._holds_changed = asyncio.Event()  # a hold was released (or Redis lost)
        self._background: set[asyncio.Task[None]] = set()
        # clients placed in the order but not yet members: what was relayed since, for each
        self._entering: dict[WebSocket, _Entering] = {}

    @property
    def up(self) -> bool:
        return self._link is not None

    @property
    def relay_backlog(self) -> int:
        """Messages taken from Redis that the relay has yet to queue for the members."""
        link = self._link
        return len(link.queue) if link is not None else 0

    async def start(self) -> None:
        """Connect before serving; BroadcastError (one line) if Redis does not answer."""
        self._holds_changed = asyncio.Event()  # of this event loop (tests start several)
        self._link = await self._connect()

    async def stop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.stop_tasks()
            link.release_waiters()
            await link.close()
        tasks = [*self._background, *([self._connecting] if self._connecting else [])]
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, _Link):  # a reconnection that finished but was not taken
                await result.close()

    async def admit(self, websocket: WebSocket) -> None:
        """Take the client's place in Redis's order, then complete its handshake. Without
        Redis (or losing it meanwhile) the handshake completes all the same, and take_part
        closes the client with 1011."""
        try:
            if self._link is not None or await self._reconnected():
                await self._place(websocket)
            await websocket.accept()
        except BaseException:
            self._entering.pop(websocket, None)
            raise

    async def _place(self, websocket: WebSocket) -> None:
        link = self._link
        if link is None:
            return
        sequence = next(self._sequence)
        placed = asyncio.get_running_loop().create_future()
        link.waiting[sequence] = placed
        link.joining[sequence] = websocket
        try:
            await self._publish(link, JOIN, sequence)
            await placed
        except Exception as exc:
            self._lose(link, f"a publish failed: {_one_line(exc)}")
        finally:
            link.waiting.pop(sequence, None)
            link.joining.pop(sequence, None)

    async def take_part(self, member: Member, messages: AsyncIterator[str]) -> None:
        link = self._link
        entering = self._entering.get(member.websocket)
        if link is None or entering is None:
            self._entering.pop(member.websocket, None)
            member.evict(LOST_CLOSE, UNAVAILABLE_REASON)
            await member.stop()
            return
        try:
            caught_up = await self._catch_up(member, entering)
        finally:
            self._entering.pop(member.websocket, None)
        if not caught_up:
            self.count_eviction("stalled")
            member.evict()
            await member.stop()
            async with member.publishing:  # it was in the room's order: the others are told
                await self.broadcast(f"Client #{member.client_id} left the chat")
            return
        if self._link is not link:  # lost (and maybe back) while handing over
            member.evict(LOST_CLOSE, LOST_REASON)
            await member.stop()
            return
        await super().take_part(member, messages)  # joins before its first await

    async def _catch_up(self, member: Member, entering: _Entering) -> bool:
        """Queue for the member what was relayed since its place; False if it did not take
        it in time (the stall limit for each message) or there was too much."""
        while entering.texts and not entering.overflowed:
            text, size = entering.popleft()
            if not member.offer(text, size):
                try:
                    await asyncio.wait_for(member.put(text, size), self.limits.stall_s)
                except TimeoutError:
                    return False
        return not entering.overflowed

    async def broadcast(self, text: str) -> None:
        """Publish text; return once it has come back and been queued for this worker's
        members, or at once when Redis is lost (every member here is closed then)."""
        link = self._link
        if link is None:
            return
        if self._holds:
            await self._wait_for_holds()
            if self._link is not link:
                return
        sequence = next(self._sequence)
        relayed = asyncio.get_running_loop().create_future()
        link.waiting[sequence] = relayed
        try:
            try:
                receivers = await self._publish(link, MESSAGE, sequence, text)
            except Exception as exc:
                self._lose(link, f"a publish failed: {_one_line(exc)}")
                return
            if not receivers:
                self._lose(link, "its subscription is gone (a publish reached no subscriber)")
                return
            await relayed
        finally:
            link.waiting.pop(sequence, None)

    # -- the link ---------------------------------------------------------------------------

    async def _connect(self) -> _Link:
        redis = _redis_modules()
        options: dict[str, Any] = {
            "socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S,
            "retry": redis.retry.Retry(redis.backoff.NoBackoff(), 0)}
        url = self.broadcast_url.url
        publisher = redis.asyncio.Redis.from_pool(redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=PUBLISH_CONNECTIONS, timeout=REDIS_TIMEOUT_S, **options))
        subscriber = redis.asyncio.Redis.from_url(url, **options)
        subscription = subscriber.pubsub()
        link = _Link(publisher, subscriber, subscription)
        try:
            await asyncio.wait_for(self._subscribe(link), REDIS_TIMEOUT_S)
        except BaseException as exc:
            await link.close()
            if not isinstance(exc, Exception):  # cancelled: the server stops
                raise
            raise BroadcastError(f"{BROADCAST_ENV} {self.broadcast_url.shown}: Redis does not "
                                 f"answer ({_one_line(exc)})") from None
        for work in (self._read, self._relay, self._beat):
            link.tasks.append(asyncio.create_task(work(link)))
        return link

    async def _subscribe(self, link: _Link) -> None:
        """Subscribe, and wait for Redis to confirm it: a publish after this reaches us."""
        await link.publisher.ping()
        await link.subscription.subscribe(self.broadcast_url.channel)
        while True:  # the confirmation is the first message; the caller bounds the wait
            message = await link.subscription.get_message(timeout=REDIS_TIMEOUT_S)
            if message is not None and message["type"] == "subscribe":
                return

    async def _reconnected(self) -> bool:
        """Redis lost: try again (one attempt for every connection arriving meanwhile, at
        most once a RECONNECT_S); whether the room is up."""
        if self._connecting is None:
            loop = asyncio.get_running_loop()
            if loop.time() - self._last_attempt < RECONNECT_S:
                return False
            self._last_attempt = loop.time()
            self._connecting = asyncio.create_task(self._connect())
        connecting = self._connecting
        try:
            link = await asyncio.shield(connecting)
        except BroadcastError:
            return False
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None
        if self._link is None:
            self._link = link
            logger.info("chat room: back on its Redis broadcast %s", self.broadcast_url.shown)
        return self._link is not None

    def _lose(self, link: _Link, reason: str) -> None:
        """Redis is lost: close every member of this worker with 1011, log one line, and
        announce the departures to other workers if Redis still takes them."""
        if self._link is not link:
            return  # lost already
        self._link = None
        members = list(self._members)
        self._members.clear()
        for member in members:
            self.count_eviction("broadcast_lost")
            member.evict(LOST_CLOSE, LOST_REASON)
        logger.error("chat room: lost its Redis broadcast %s (%s): %d chat client(s) closed "
                     "with %d", self.broadcast_url.shown, reason, len(members), LOST_CLOSE)
        link.stop_tasks()
        link.release_waiters()
        self._entering.clear()  # they are closed with 1011 once their handshake completes
        self._holds.clear()
        self._holds_changed.set()
        self._in_background(self._farewell(link, members))

    async def _farewell(self, link: _Link, members: list[Member]) -> None:
        """Announce each lost member's departure, after its last message, if Redis takes
        it (bounded in time), then close the link's clients."""
        async def announce(member: Member) -> None:
            async with member.publishing:
                await self._publish(link, MESSAGE, next(self._sequence),
                                    f"Client #{member.client_id} left the chat")
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*(announce(m) for m in members)),
                                       REDIS_TIMEOUT_S)
        finally:
            await link.close()

    def _in_background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _publish(self, link: _Link, kind: str, sequence: int, text: str = "") -> int:
        receivers: int = await link.publisher.publish(
            self.broadcast_url.channel, f"{self.worker} {sequence} {kind} {text}")
        return receivers

    # -- the link's tasks -------------------------------------------------------------------

    async def _read(self, link: _Link) -> None:
        """Take every payload off the subscription as it comes; messages go to the relay."""
        loop = asyncio.get_running_loop()
        holds, worker = self._holds, self.worker
        try:
            while True:  # until the link ends: cancelled, or an error loses it
                message = await link.subscription.get_message(timeout=None)
                if message is None or message["type"] != "message":
                    continue
                payload = message["data"].decode(errors="replace").split(" ", 3)
                if len(payload) != 4 or not payload[1].isdigit():
                    continue  # not a room's: someone else publishes on the channel
                origin, sequence, kind, text = payload
                if kind in RELAYED:
                    link.queue.append((kind, origin, int(sequence), text))
                    link.queued.set()
                elif origin == worker:
                    if kind == BEAT:
                        link.beat_seen_at = loop.time()
                elif kind == HOLD:
                    holds[origin] = loop.time() + HOLD_TTL_S
                elif kind == RELEASE and holds.pop(origin, None) is not None:
                    self._holds_changed.set()
        except Exception as exc:
            self._lose(link, f"its subscription ended: {_one_line(exc)}")

    async def _relay(self, link: _Link) -> None:
        """Queue each message for this worker's members in Redis's order; while a buffer is
        full, hold the other workers' publishers until the queue is empty again."""
        queue, worker, waiting = link.queue, self.worker, link.waiting
        held_at: float | None = None  # loop time of the last hold published
        relayed_in_a_row = 0
        try:
            while True:  # until the link ends
                if not queue:
                    if held_at is not None:
                        await self._publish(link, RELEASE, next(self._sequence))
                        held_at = None
                        continue  # more may have come meanwhile
                    link.queued.clear()
                    await link.queued.wait()
                    relayed_in_a_row = 0
                    continue
                relayed_in_a_row += 1
                if relayed_in_a_row % RELAY_YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # a long queue must not starve the heartbeat
                kind, origin, sequence, text = queue.popleft()
                if kind == MESSAGE:
                    held_at = await self._deliver(link, text, held_at)
                elif origin == worker and (websocket := link.joining.get(sequence)):
                    self._entering[websocket] = _Entering(self.limits.send_buffer_bytes)
                if origin == worker:
                    relayed = waiting.pop(sequence, None)
                    if relayed is not None and not relayed.done():
                        relayed.set_result(None)
        except Exception as exc:
            if not isinstance(exc, _redis_modules().RedisError | OSError):
                logger.exception("chat room: relaying failed")  # a bug: its traceback
            self._lose(link, f"relaying failed: {_one_line(exc)}")

    async def _deliver(self, link: _Link, text: str, held_at: float | None) -> float | None:
        """Queue text for every member here, waiting for room in each full buffer in turn
        (ended by the member reading, or its eviction within the stall limit)."""
        size = sys.getsizeof(text)
        loop = asyncio.get_running_loop()
        for entering in self._entering.values():
            entering.append(text, size)
        for member in list(self._members):
            while not member.offer(text, size):
                if held_at is None or loop.time() - held_at >= HOLD_REFRESH_S:
                    await self._publish(link, HOLD, next(self._sequence))
                    held_at = loop.time()
                await member.room_for_more(HOLD_REFRESH_S)
        return held_at

    async def _beat(self, link: _Link) -> None:
        """Publish a heartbeat every BEAT_S; lose Redis when ours stops coming back."""
        loop = asyncio.get_running_loop()
        try:
            while True:  # until the link ends
                await asyncio.sleep(BEAT_S)
                if loop.time() - link.beat_seen_at > LIVENESS_S:
                    self._lose(link, f"no heartbeat came back within {LIVENESS_S:g}s")
                    return
                await self._publish(link, BEAT, next(self._sequence))
        except Exception as exc:
            self._lose(link, f"a heartbeat failed: {_one_line(exc)}")

    async def _wait_for_holds(self) -> None:
        """Wait while another worker holds the publishers (its relay waits on a full buffer),
        until every hold is released or expired, at most MAX_HOLD_WAIT_S."""
        loop = asyncio.get_running_loop()
        holds, changed = self._holds, self._holds_changed
        give_up = loop.time() + MAX_HOLD_WAIT_S
        while holds:
            now = loop.time()
            for origin in [o for o, until in holds.items() if until <= now]:
                del holds[origin]
            if not holds or now >= give_up:
                return
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(*holds.values(), give_up) - now)


def make_room() -> Room:
    """The room this process serves: relayed through Redis if WSHARNESS_BROADCAST names one."""
    broadcast = broadcast_from_env()
    return Room() if broadcast is None else RedisRoom(broadcast)


def room_lifespan(room: Room) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """The app's lifespan: a Redis room connects before serving and disconnects after."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        if isinstance(room, RedisRoom):
            await room.start()
        try:
            yield
        finally:
            if isinstance(room, RedisRoom):
                await room.stop()

    return lifespan
