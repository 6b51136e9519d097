"""A client that speaks RFC 6455 frame by frame, for the protocol group (`-m protocol`).

It opens the connection with a proper handshake (rawclient.SansIOClient: websockets' Sans-I/O
client, offering no extension, so every RSV bit stays reserved), then sends the frames it is
given, built by hand (conformance.frames), and records every frame the server sends, unjudged
(frames.FrameReader). It answers nothing by itself, but for one thing a client MUST do: a
close frame from the server gets its close frame back (RFC 6455 5.5.1), so that the server
can end the connection. Writing goes on in a task while the server's frames are read, so a
server that echoes while it still reads never waits on us.

Every read is bounded by a deadline; the transcript of what was sent and what came, and how
the reading ended, is what a failure shows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from websockets.frames import CloseCode, Frame, Opcode

from conformance.client import REPLY_TIMEOUT_S
from conformance.frames import (
    FrameReader,
    WireFrame,
    close_frame,
    encode,
    messages_of,
)
from conformance.rawclient import SEND_CHUNK, SansIOClient
from wsharness.timeouts import scaled

SHOWN_FRAMES = 12
PER_MIB_S = scaled(1.0)  # added to a deadline per MiB that has to travel
EOF = "the server closed the connection"


@dataclass
class Transcript:
    """What one connection carried: the frames sent, those received, how reading ended."""

    url: str
    sent: list[WireFrame] = field(default_factory=list)
    received: list[WireFrame] = field(default_factory=list)
    ending: str = ""  # "" while the connection is open and read

    @property
    def closed(self) -> bool:
        """The server closed the TCP connection (or it failed)."""
        return bool(self.ending) and not self.ending.startswith("nothing more")

    @property
    def server_close(self) -> WireFrame | None:
        return next((f for f in self.received if f.opcode == Opcode.CLOSE), None)

    @property
    def after_server_close(self) -> list[WireFrame]:
        close = self.server_close
        return [] if close is None else self.received[self.received.index(close) + 1:]

    @property
    def messages(self) -> list[str | bytes]:
        return messages_of(self.received)

    @property
    def pongs(self) -> list[bytes]:
        return [f.payload for f in self.received if f.opcode == Opcode.PONG]

    def describe_sent(self) -> str:
        return f"{self.url}: {describe_frames(self.sent)}"

    def describe_received(self) -> str:
        return f"{describe_frames(self.received)} then {self.ending or 'nothing more'}"


def describe_frames(frames: Sequence[WireFrame]) -> str:
    if not frames:
        return "no frame"
    shown = [f.describe() for f in frames[:SHOWN_FRAMES]]
    if len(frames) > SHOWN_FRAMES:
        shown.append(f"... ({len(frames) - SHOWN_FRAMES} more)")
    return f"{len(frames)} frame(s): [" + "; ".join(shown) + "]"


def frame_of(event: Frame) -> WireFrame:
    """A frame websockets parsed (one that came along with the handshake answer)."""
    rsv = (event.rsv1 << 2) | (event.rsv2 << 1) | int(event.rsv3)
    return WireFrame(int(event.opcode), bytes(event.data), event.fin, rsv, masked=False)


def deadline_for(frames: Sequence[WireFrame]) -> float:
    """Seconds to allow for a reply to frames: the usual reply time, plus time per MiB."""
    mib = sum(len(f.payload) for f in frames) / 2**20
    return REPLY_TIMEOUT_S + 2 * mib * PER_MIB_S


class FrameSession:
    """One connection to url: `async with FrameSession(url) as session`, then send and read."""

    def __init__(self, url: str) -> None:
        self.client = SansIOClient(url)
        self.transcript = Transcript(url)
        self.reader = FrameReader()
        self.answered_close = False
        self._writing: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> FrameSession:
        await self.client.__aenter__()
        if self.client.refusal:
            await self.client.__aexit__(None, None, None)
            raise AssertionError(f"the opening handshake with {self.transcript.url} failed: "
                                 f"{self.client.refusal} (is --raw-path right?)")
        pending, self.client.pending = self.client.pending, []
        self.transcript.received += [frame_of(e) for e in pending if isinstance(e, Frame)]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._writing:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.__aexit__(*exc_info)

    def send(self, frames: Sequence[WireFrame]) -> None:
        """Start writing frames, in order after anything sent before; record them as sent."""
        self.transcript.sent += frames
        data = b"".join(encode(frame) for frame in frames)
        stream = self.client.stream
        assert stream is not None
        previous = self._writing[-1] if self._writing else None

        async def write() -> None:
            if previous is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await previous
            for start in range(0, len(data), SEND_CHUNK):
                await stream.write(data[start:start + SEND_CHUNK])

        self._writing.append(asyncio.create_task(write()))

    async def read_until(self, done: Callable[[Transcript], bool], timeout_s: float) -> Transcript:
        """Read frames until done(transcript), the server closes, or timeout_s pass. A close
        frame from the server is answered with one (once)."""
        transcript, stream = self.transcript, self.client.stream
        assert stream is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not transcript.closed and not done(transcript):  # bounded by the deadline
            data = await stream.read(deadline)
            if isinstance(data, str):
                transcript.ending = EOF if data == "the server closed the connection" else \
                    data.replace("nothing more before the deadline",
                                 f"nothing more within {timeout_s:.1f}s")
                break
            transcript.received += self.reader.receive(data)
            if self.reader.too_long:
                transcript.ending = f"then {self.reader.too_long}, not read"
                break
            self.answer_close()
        return transcript

    def answer_close(self) -> None:
        """A close frame from the server gets one back: its code if it had a valid one, else
        none (RFC 6455 5.5.1). Only once, and not after our own close."""
        close = self.transcript.server_close
        if close is None or self.answered_close or any(
                f.opcode == Opcode.CLOSE for f in self.transcript.sent):
            return
        self.answered_close = True
        self.send([close_frame(CloseCode.NORMAL_CLOSURE if close.close_code else None)])

    async def finish(self, timeout_s: float = REPLY_TIMEOUT_S) -> Transcript:
        """Read on until the server closes the connection (or timeout_s pass)."""
        return await self.read_until(lambda _: False, timeout_s)

    async def close_politely(self, timeout_s: float = REPLY_TIMEOUT_S) -> None:
        """Send a normal close (unless a close frame went either way) and read until the server
        closes: the end of a check that judged what came before."""
        if self.transcript.server_close is None and not any(
                f.opcode == Opcode.CLOSE for f in self.transcript.sent):
            self.send([close_frame(CloseCode.NORMAL_CLOSURE)])
        await self.finish(timeout_s)
