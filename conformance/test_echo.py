"""WS /ws: exactly one reply per text message, in order, to its own connection only."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection

from conformance import strategies
from conformance.client import (
    Received,
    exchange,
    open_connection,
    receive_all,
    receive_quiet,
    run,
    sentinel,
)
from conformance.mismatch import (
    SpecMismatch,
    describe_difference,
    expect_messages,
    first_difference,
    show_list,
)
from conformance.spec import echo_reply
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.contract

CHECK_TIMEOUT_S = scaled(30.0)
def describe_sent(url: str, messages: list[str]) -> str:
    return f"{url}: {show_list(messages)}"


@given(text=strategies.message_texts())
@example(text="")
@example(text=" \t\r\n")
@example(text="\x00\x01\x1b\x7f")
@example(text="😀𝄞")
@example(text="😀x\x00 " * 16_384)
def test_one_reply_per_message_wire(wire: WireTarget, text: str) -> None:
    url = wire.url("/ws")
    sent = [text, sentinel()]
    received = run(exchange(url, sent, len(sent)), CHECK_TIMEOUT_S)
    expect_messages(describe_sent(url, sent), [echo_reply(m) for m in sent],
                    received.messages, received.ending, extra_rule="echo.reply")


@given(burst=st.lists(strategies.short_texts(), min_size=2, max_size=30))
def test_replies_keep_order_over_a_burst_wire(wire: WireTarget, burst: list[str]) -> None:
    url = wire.url("/ws")
    sent = [*burst, sentinel()]
    received = run(exchange(url, sent, len(sent)), CHECK_TIMEOUT_S)
    expected = [echo_reply(m) for m in sent]
    if Counter(received.messages) == Counter(e.text for e in expected):
        expected = [e._replace(rule="echo.order") for e in expected]
    expect_messages(describe_sent(url, sent), expected, received.messages, received.ending,
                    extra_rule="echo.reply")


@given(bursts=st.lists(st.lists(strategies.short_texts(), min_size=1, max_size=6),
                       min_size=2, max_size=6))
def test_concurrent_connections_get_only_their_own_replies_wire(
        wire: WireTarget, bursts: list[list[str]]) -> None:
    url = wire.url("/ws")
    sent = [[*burst, sentinel()] for burst in bursts]
    received = run(exchange_concurrently(url, sent), CHECK_TIMEOUT_S)
    replies = [[echo_reply(m).text for m in messages] for messages in sent]
    misfits: list[tuple[int, int]] = []
    for index, (expected, got) in enumerate(zip(replies, received, strict=True)):
        at = first_difference(expected, got.messages)
        if at is not None:
            misfits.append((index, at))
    if not misfits:
        return
    crossed = [(index, at) for index, at in misfits
               if set(received[index].messages) & owned_by_others(replies, index)]
    index, at = (crossed or misfits)[0]
    got = received[index]
    raise SpecMismatch(
        "echo.isolation" if crossed else "echo.reply",
        sent=f"{len(sent)} concurrent connections to {url}; connection #{index + 1} sent "
        f"{show_list(sent[index])}",
        expected=f"connection #{index + 1} gets {show_list(replies[index])}",
        arrived=f"{show_list(got.messages)} then {got.ending}",
        difference=describe_difference(at, replies[index], got.messages, got.ending))


def owned_by_others(replies: list[list[str]], index: int) -> set[str]:
    return {r for j, rs in enumerate(replies) if j != index for r in rs} - set(replies[index])


async def exchange_concurrently(url: str, bursts: list[list[str]]) -> list[Received]:
    """All connections open first; then all send their bursts at once and read the replies."""
    connections = await asyncio.gather(*(open_connection(url) for _ in bursts))
    try:
        await asyncio.gather(*(send_all(c, b) for c, b in zip(connections, bursts, strict=True)))
        received = await receive_all(connections, sum(len(b) for b in bursts))
        if all(r.messages == [echo_reply(m).text for m in b]
               for r, b in zip(received, bursts, strict=True)):
            return received
        evidence = await asyncio.gather(*(receive_quiet(c) for c in connections))
        return [Received(r.messages + e.messages, e.ending)
                for r, e in zip(received, evidence, strict=True)]
    finally:
        await asyncio.gather(*(c.close() for c in connections))


async def send_all(websocket: ClientConnection, messages: list[str]) -> None:
    for message in messages:
        await websocket.send(message)
