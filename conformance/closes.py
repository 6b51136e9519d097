"""How the server ended a connection: the close code it sent, or what happened instead."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

MAX_READ_MESSAGES = 100
NO_CLOSE_FRAME = "the TCP connection closed without a close frame (1006)"


async def read_until_closed(websocket: ClientConnection, timeout_s: float) -> int | str:
    """The code of the server's close frame, or what happened instead; at most timeout_s and
    MAX_READ_MESSAGES messages, which are read past."""
    try:
        async with asyncio.timeout(timeout_s):
            for _ in range(MAX_READ_MESSAGES):
                await websocket.recv()
    except TimeoutError:
        return f"still open after {timeout_s:g}s"
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else NO_CLOSE_FRAME
    return f"{MAX_READ_MESSAGES} messages and no close"


def describe(outcome: int | str) -> str:
    return f"a close frame with code {outcome}" if isinstance(outcome, int) else outcome
