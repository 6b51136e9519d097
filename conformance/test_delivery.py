"""WS /ws/{client_id} under bursts: nothing lost, a stalled member closed, drops leave no trace.

Every client pipelines its messages without waiting while it reads concurrently, so a server
that drops, doubles or reorders a message under load, closes a client that keeps reading, or
lets one stalled member hold up the room, shows it here. The burst sizes are fixed (they are
the volumes measured in PROTOCOL.md's Delivery section); which clients drop, and when, is
explored with Hypothesis.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, CloseCode

from conformance import strategies
from conformance.client import (
    REPLY_TIMEOUT_S,
    Message,
    Received,
    drop,
    open_connection,
    receive,
    receive_quiet,
    run,
)
from conformance.crowd import (
    empty_room,
    open_many,
    read_until_seen,
    send_all,
    without_outsiders_leaving,
)
from conformance.mismatch import SpecMismatch
from conformance.spec import Expected, chat_rule_of, left, personal_reply, says
from conformance.streams import check_interleaving, sender_key
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.scale

FIRST_BURST_ID = 800_000
FIRST_STALL_ID = 810_000
FIRST_DROP_ID = 820_000
BURST_TIMEOUT_S = scaled(60.0)
BURST_IDLE_S = scaled(5.0)
STRAY_ALLOWANCE = 50  # messages read past the expected ones, to show what came instead

STALL_SENDERS = 4
STALL_MESSAGES = 250
# 4 senders x 250 messages x 8 KiB: 8 MB wait for the stalled member, about twice what loopback
# buffers for it (the server's send buffer, tcp_wmem's 4 MB at most, and its 64 KiB window)
STALL_MESSAGE_CHARS = 8 * 1024
STALLED_RECEIVE_BUFFER = 32 * 1024
STALL_GRACE_S = scaled(5.0)  # to fill the buffers, notice the stall and announce it
EARLY_TOLERANCE_S = 0.5

DROP_EXAMPLES = max(1, settings().max_examples // 3)  # ci: 10, dev: 100, smoke: 3
drop_rooms = itertools.count(FIRST_DROP_ID, 100)


@dataclass(frozen=True)
class Burst:
    """Every client of a room pipelines `messages` texts of `chars` characters."""

    clients: int
    messages: int
    chars: int

    def __str__(self) -> str:
        return f"{self.clients} clients x {self.messages} messages of {self.chars} chars"


BURSTS = [Burst(50, 100, 32), Burst(8, 64, 16 * 1024)]


def burst_texts(client_id: int, count: int, chars: int) -> list[str]:
    """Numbered texts, unique to the client, padded to chars characters that compression
    cannot shrink much (permessage-deflate would make a run of one letter almost free)."""
    heads = [f"burst {n} from {client_id} " for n in range(count)]
    return [head + noise(head, chars - len(head)) for head in heads]


def noise(seed: str, chars: int) -> str:
    if chars <= 0:
        return ""
    digest = hashlib.shake_256(seed.encode()).digest(chars * 3 // 4 + 3)
    return base64.b64encode(digest).decode()[:chars]


def room_streams(receiver: int, texts: Mapping[int, Sequence[str]],
                 rule: str) -> dict[Hashable, list[Expected]]:
    """What receiver should get from each sender of texts, its own replies too, each message
    demanded by rule (a `You wrote` out of place still reads as chat.personal-reply)."""
    streams: dict[Hashable, list[Expected]] = {
        sender_key(s): [Expected(says(s, t).text, rule) for t in ts] for s, ts in texts.items()}
    if receiver in texts:
        streams[sender_key(receiver)] = [Expected(e.text, rule) for t in texts[receiver]
                                         for e in (personal_reply(t), says(receiver, t))]
    return streams


def wanted_by_each(texts: Mapping[int, Sequence[str]], senders: Collection[int],
                   also: Collection[str] = ()) -> dict[int, set[str]]:
    """For each client of texts, the texts it must read: every broadcast of senders, its own
    `You wrote` replies, and also."""
    broadcasts = {says(s, t).text for s in senders for t in texts[s]}.union(also)
    return {i: broadcasts | {personal_reply(t).text for t in texts[i]} for i in texts}


async def read_while_sending(readers: Mapping[ClientConnection, set[str]],
                             senders: Mapping[ClientConnection, Sequence[str]],
                             timeout_s: float, idle_s: float) -> list[Received]:
    """Start reading on every reader, then send every sender's texts without waiting; the
    readers stop once all their wanted texts came. Then collect strays, if all were complete."""
    tasks = [asyncio.create_task(read_until_seen(c, w, len(w) + STRAY_ALLOWANCE, timeout_s,
                                                 idle_s)) for c, w in readers.items()]
    try:
        await asyncio.gather(*(send_all(c, ts) for c, ts in senders.items()))
        received = list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
    return await with_strays(list(readers), received)


async def with_strays(connections: Sequence[ClientConnection],
                      received: list[Received]) -> list[Received]:
    if any(r.ending != "nothing more" for r in received):
        return received
    strays = await asyncio.gather(*(receive_quiet(c) for c in connections))
    return [Received(r.messages + s.messages, s.ending)
            for r, s in zip(received, strays, strict=True)]


@pytest.mark.parametrize("burst", BURSTS, ids=str)
def test_a_burst_reaches_every_reader_wire(wire: WireTarget, burst: Burst) -> None:
    """Every client pipelines its messages at once: everyone gets every copy exactly once,
    in each sender's order, with its own `You wrote` just before its own broadcast."""
    ids = [FIRST_BURST_ID + n for n in range(burst.clients)]
    texts = {i: burst_texts(i, burst.messages, burst.chars) for i in ids}
    received = run(room_burst(wire.url("/ws/"), texts), BURST_TIMEOUT_S + scaled(30.0))
    sent = (f"{burst} pipelined into one room at once (ids {ids[0]}..{ids[-1]}; message n "
            "of client i is 'burst n from i ' and random padding)")
    for receiver, got in zip(ids, received, strict=True):
        check_interleaving(f"client #{receiver}", sent,
                           room_streams(receiver, texts, "chat.no-loss"),
                           without_outsiders_leaving(got, ids), burst_rule_of)


def burst_rule_of(text: str) -> str:
    """Nobody leaves during the burst: a `left the chat` means the server closed a reader."""
    return "chat.no-loss" if text.endswith(" left the chat") else chat_rule_of(text)


async def room_burst(base_url: str, texts: dict[int, list[str]]) -> list[Received]:
    connections = await open_many([f"{base_url}{i}" for i in texts])
    try:
        by_id = dict(zip(texts, connections, strict=True))
        wanted = wanted_by_each(texts, texts)
        return await read_while_sending({c: wanted[i] for i, c in by_id.items()},
                                        {c: texts[i] for i, c in by_id.items()},
                                        BURST_TIMEOUT_S, BURST_IDLE_S)
    finally:
        await empty_room(connections)


@dataclass
class StallOutcome:
    others: list[Received]
    announced_after_s: float | None  # from the burst's start to the first `left the chat`
    stalled: Received
    close: Close | None  # the close frame the stalled member got, None when none came


def test_a_stalled_member_is_closed_and_the_room_goes_on_wire(wire: WireTarget,
                                                              stall_s: float) -> None:
    """One member reads nothing (a small TCP window) while the others burst megabytes: the
    others still get everything and its `left the chat`, within the stall limit; when it reads
    at last it gets a prefix of its messages, then a close frame with 1013."""
    stalled_id, *ids = [FIRST_STALL_ID + n for n in range(STALL_SENDERS + 1)]
    texts = {i: burst_texts(i, STALL_MESSAGES, STALL_MESSAGE_CHARS) for i in ids}
    outcome = run(stalled_member(wire.url("/ws/"), stalled_id, texts, stall_s),
                  2 * (stall_s + BURST_TIMEOUT_S) + STALL_GRACE_S)
    sent = (f"client #{stalled_id} joined with a {STALLED_RECEIVE_BUFFER // 1024} KiB receive "
            f"buffer and read nothing while {STALL_SENDERS} others each pipelined "
            f"{STALL_MESSAGES} messages of {STALL_MESSAGE_CHARS} chars (stall limit {stall_s:g}s);"
            f" it read only once the others had seen it leave")
    for receiver, got in zip(ids, outcome.others, strict=True):
        streams = room_streams(receiver, texts, "chat.stall-close")
        streams[sender_key(stalled_id)] = [Expected(left(stalled_id).text, "chat.stall-close")]
        check_interleaving(f"client #{receiver}", sent, streams,
                           without_outsiders_leaving(got, [stalled_id, *ids]), chat_rule_of)
    expect_closed_in_time(sent, stalled_id, outcome.announced_after_s, stall_s)
    check_interleaving(f"client #{stalled_id} (stalled)", sent,
                       room_streams(stalled_id, texts, "chat.stall-close"),
                       without_outsiders_leaving(outcome.stalled, ids), chat_rule_of,
                       complete=False)
    expect_stall_close_frame(sent, stalled_id, outcome)


async def stalled_member(base_url: str, stalled_id: int, texts: dict[int, list[str]],
                         stall_s: float) -> StallOutcome:
    stalled = await open_connection(f"{base_url}{stalled_id}",
                                    receive_buffer=STALLED_RECEIVE_BUFFER)
    others = await open_many([f"{base_url}{i}" for i in texts])
    loop = asyncio.get_running_loop()
    left_text = left(stalled_id).text
    announced = asyncio.Event()
    announced_at: list[float] = []

    def notice(message: Message) -> None:
        if message == left_text and not announced.is_set():
            announced_at.append(loop.time())
            announced.set()

    by_id = dict(zip(texts, others, strict=True))
    wanted = wanted_by_each(texts, texts, also=[left_text])
    readers = [asyncio.create_task(read_until_seen(
        c, wanted[i], len(wanted[i]) + STRAY_ALLOWANCE, stall_s + BURST_TIMEOUT_S,
        stall_s + STALL_GRACE_S, on_message=notice)) for i, c in by_id.items()]
    started = loop.time()
    sending = asyncio.gather(*(send_all(c, texts[i]) for i, c in by_id.items()))
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(announced.wait(), stall_s + STALL_GRACE_S)
        stalled_got, close = await read_to_close(
            stalled, sum(len(ts) for ts in texts.values()) + STRAY_ALLOWANCE)
        await sending
        received = await with_strays(others, list(await asyncio.gather(*readers)))
    finally:
        sending.cancel()
        for task in readers:
            task.cancel()
        await empty_room(others)
        await stalled.close()
    after = announced_at[0] - started if announced_at else None
    return StallOutcome(received, after, stalled_got, close)


async def read_to_close(websocket: ClientConnection, limit: int) -> tuple[Received, Close | None]:
    """Read what is waiting until the close frame (at most limit messages); the frame too."""
    got = await receive(websocket, limit, BURST_TIMEOUT_S, REPLY_TIMEOUT_S)
    try:
        await asyncio.wait_for(websocket.recv(), REPLY_TIMEOUT_S)
    except ConnectionClosed as exc:
        return got, exc.rcvd
    except TimeoutError:
        return got, None
    return Received(got.messages, "more messages, and no close frame"), None


def expect_closed_in_time(sent: str, stalled_id: int, after_s: float | None,
                          stall_s: float) -> None:
    earliest, latest = max(0.0, stall_s - EARLY_TOLERANCE_S), stall_s + STALL_GRACE_S
    if after_s is not None and earliest <= after_s <= latest:
        return
    raise SpecMismatch(
        "chat.stall-close", sent=sent,
        expected=f"`{left(stalled_id).text}` reaches the others {earliest:.1f}s to "
        f"{latest:.1f}s after the burst starts (the stall limit, plus time to fill the buffers)",
        arrived="it never came" if after_s is None else f"it came after {after_s:.2f}s")


def expect_stall_close_frame(sent: str, stalled_id: int, outcome: StallOutcome) -> None:
    close = outcome.close
    if close is not None and close.code == CloseCode.TRY_AGAIN_LATER:
        return
    ending = outcome.stalled.ending if close is None else f"close frame {close}"
    raise SpecMismatch(
        "chat.stall-close", sent=sent,
        expected=f"client #{stalled_id} reads a prefix of its messages, then a close frame "
        f"with {int(CloseCode.TRY_AGAIN_LATER)} (try again later)",
        arrived=f"{len(outcome.stalled.messages)} message(s), then "
        f"{ending if close is not None else 'no close frame (1006): ' + ending}")


@settings(max_examples=DROP_EXAMPLES)
@given(plan=strategies.drop_plans())
def test_tcp_drops_during_a_burst_leave_the_room_consistent_wire(
        wire: WireTarget, plan: strategies.DropPlan) -> None:
    """While the room bursts, some clients drop TCP (after sending a few messages and hearing
    a few): the rest get every message of the remaining senders in order, exactly one `left
    the chat` per dropped client after whatever of its messages the server took, and a fresh
    message afterwards reaches all of them."""
    first = next(drop_rooms)
    ids = [first + n for n in range(plan.room)]
    texts = {i: burst_texts(i, plan.messages, plan.chars) for i in ids}
    drops = {ids[index]: d for index, d in plan.drops.items()}
    staying = [i for i in ids if i not in drops]
    fresh = f"fresh after the drops in room {first}"
    received = run(drops_in_burst(wire.url("/ws/"), texts, drops, fresh), 3 * BURST_TIMEOUT_S)
    taken = messages_taken(texts, drops, received)
    sent = (f"{plan.room} clients (ids {ids[0]}..{ids[-1]}) each pipelined {plan.messages} "
            f"messages of {plan.chars} chars; " + ", ".join(
                f"#{i} dropped TCP after sending {d.sent} and hearing {d.heard}"
                for i, d in drops.items()) + f"; then #{staying[0]} sent {fresh!r}")
    for receiver, got in zip(staying, received, strict=True):
        streams = room_streams(receiver, {i: texts[i] for i in staying}, "chat.no-loss")
        streams[sender_key(staying[0])].extend(
            ([personal_reply(fresh)] if receiver == staying[0] else []) + [says(staying[0], fresh)])
        for i in drops:
            streams[sender_key(i)] = [*(Expected(says(i, t).text, "chat.no-loss")
                                        for t in texts[i][:taken[i]]), left(i)]
        check_interleaving(f"client #{receiver}", sent, streams,
                           without_outsiders_leaving(got, ids), chat_rule_of)


def messages_taken(texts: Mapping[int, Sequence[str]], drops: Mapping[int, object],
                   received: Sequence[Received]) -> dict[int, int]:
    """How many of each dropped client's messages the server took: up to the last one that
    reached anyone (TCP delivers in order, so all before it were taken too)."""
    position = {says(i, t).text: (i, n) for i in drops for n, t in enumerate(texts[i])}
    taken = dict.fromkeys(drops, 0)
    for got in received:
        for message in got.messages:
            if isinstance(message, str) and message in position:
                i, n = position[message]
                taken[i] = max(taken[i], n + 1)
    return taken


async def drops_in_burst(base_url: str, texts: dict[int, list[str]],
                         drops: Mapping[int, strategies.Drop], fresh: str) -> list[Received]:
    connections = dict(zip(texts, await open_many([f"{base_url}{i}" for i in texts]),
                           strict=True))
    staying = {i: c for i, c in connections.items() if i not in drops}
    try:
        burst = await read_while_dropping(texts, drops, connections, staying)
        speaker = next(iter(staying))
        await send_all(staying[speaker], [fresh])
        after = [says(speaker, fresh).text]
        fresh_got = await asyncio.gather(*(
            read_until_seen(c, [*after, personal_reply(fresh).text] if i == speaker else after,
                            2 + STRAY_ALLOWANCE, BURST_TIMEOUT_S, REPLY_TIMEOUT_S)
            for i, c in staying.items()))
        strays = await asyncio.gather(*(receive_quiet(c) for c in staying.values()))
        return [Received(b.messages + f.messages + s.messages, s.ending)
                for b, f, s in zip(burst, fresh_got, strays, strict=True)]
    finally:
        await empty_room(list(staying.values()))


async def read_while_dropping(texts: Mapping[int, Sequence[str]],
                              drops: Mapping[int, strategies.Drop],
                              connections: Mapping[int, ClientConnection],
                              staying: Mapping[int, ClientConnection]) -> list[Received]:
    """The staying clients read until they have every staying sender's messages and every
    dropped client's `left the chat`, while all send and the dropping clients drop."""
    wanted = wanted_by_each(texts, staying, also=[left(i).text for i in drops])
    most = sum(len(ts) for ts in texts.values()) + len(drops) + STRAY_ALLOWANCE
    readers = [asyncio.create_task(read_until_seen(c, wanted[i], most, BURST_TIMEOUT_S,
                                                   BURST_IDLE_S)) for i, c in staying.items()]

    async def send_then_drop(websocket: ClientConnection, some: Sequence[str],
                             heard: int) -> None:
        await send_all(websocket, some)
        await receive(websocket, heard, BURST_TIMEOUT_S, REPLY_TIMEOUT_S)
        drop(websocket)

    try:
        await asyncio.gather(*(send_all(c, texts[i]) for i, c in staying.items()), *(
            send_then_drop(connections[i], texts[i][:d.sent], d.heard) for i, d in drops.items()))
        return list(await asyncio.gather(*readers))
    finally:
        for task in readers:
            task.cancel()
