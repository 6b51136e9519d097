"""WS /ws over a long connection: thousands of messages on one socket, pipelined and in lock-step.

Fixed sizes, not Hypothesis: the property is about volume on one connection (what each message
holds is explored by test_echo.py). Messages vary in length so that frames of several sizes
follow each other; each is numbered, so a lost, doubled or swapped reply shows where it is.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import ClientConnection

from conformance.client import (
    REPLY_TIMEOUT_S,
    Received,
    open_connection,
    receive,
    receive_quiet,
    run,
)
from conformance.crowd import read_until_seen, send_all
from conformance.mismatch import expect_messages
from conformance.spec import echo_reply
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.scale

MESSAGES = 5000
LONGEST_PADDING = 500
CHECK_TIMEOUT_S = scaled(60.0)
READ_TIMEOUT_S = scaled(45.0)
MODES = ("pipelined", "lock-step")


def numbered_texts(count: int) -> list[str]:
    return [f"long connection message {n} " + "é" * (n * 37 % LONGEST_PADDING)
            for n in range(count)]


@pytest.mark.parametrize("mode", MODES)
def test_long_connection_wire(wire: WireTarget, mode: str) -> None:
    """5,000 messages on one connection: every reply right, once, in order."""
    url = wire.url("/ws")
    texts = numbered_texts(MESSAGES)
    received = run(talk_long(url, texts, mode), CHECK_TIMEOUT_S)
    expected = [echo_reply(t)._replace(rule="echo.long-connection") for t in texts]
    expect_messages(f"{MESSAGES} messages on one connection to {url}, {mode} (message n is "
                    f"'long connection message n ' and some padding)", expected,
                    received.messages, received.ending, extra_rule="echo.long-connection")


async def talk_long(url: str, texts: list[str], mode: str) -> Received:
    websocket = await open_connection(url)
    try:
        got = await (pipelined(websocket, texts) if mode == "pipelined"
                     else lock_step(websocket, texts))
        if len(got.messages) < len(texts):
            return got
        strays = await receive_quiet(websocket)
        return Received(got.messages + strays.messages, strays.ending)
    finally:
        await websocket.close()


async def pipelined(websocket: ClientConnection, texts: list[str]) -> Received:
    """Send everything without waiting while a reader takes the replies as they come."""
    replies = [echo_reply(t).text for t in texts]
    reader = asyncio.create_task(read_until_seen(websocket, replies, len(replies),
                                                 READ_TIMEOUT_S, REPLY_TIMEOUT_S))
    await send_all(websocket, texts)
    return await reader


async def lock_step(websocket: ClientConnection, texts: list[str]) -> Received:
    """Send one message, wait for one reply, and again; stop at the first missing reply."""
    messages = []
    for text in texts:
        await websocket.send(text)
        got = await receive(websocket, 1)
        messages.extend(got.messages)
        if not got.messages:
            return Received(messages, got.ending)
    return Received(messages, "nothing more")
