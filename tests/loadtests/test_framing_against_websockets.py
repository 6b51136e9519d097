"""The client's framing (loadtests._framing.Framing) against websockets' Sans-I/O protocol: the
same server bytes, cut into any chunks, must mean the same to both.

Valid streams: every payload length form, messages whole or fragmented anywhere, pings and
pongs between frames, a close at the end. Framing's messages must be those websockets'
ClientProtocol parses (its data frames reassembled here, as its asyncio and sync layers do),
and Framing's control frames the protocol's. Broken streams (RFC 6455 5.1, 5.2, 5.4, 5.5):
both must fail the connection with the same close code after the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from loadtests._framing import ControlFrame, Event, Failure, Framing, Message
from tests.loadtests.server_frames import (
    PROTOCOL_ERRORS,
    chunks,
    close_frames,
    control_frames,
    message_frames,
    messages,
)

SETTINGS = settings(deadline=None, max_examples=200)
SPLITS = st.lists(st.integers(min_value=0), max_size=20)
TOP_BIT_LENGTH = "5.2 a 64-bit length with its top bit set"  # websockets waits for 2**63 bytes
COMPARABLE_BREACHES = [b for name, b in PROTOCOL_ERRORS.items() if name != TOP_BIT_LENGTH]


def large_messages() -> st.SearchStrategy[Message]:
    """Over 64 KiB: the 64-bit length form."""
    return st.one_of(
        st.builds(lambda unit, n: unit * n, st.binary(min_size=1, max_size=4),
                  st.integers(16_400, 40_000)),
        st.builds(lambda unit, n: unit * n, st.text(min_size=1, max_size=3),
                  st.integers(22_000, 40_000)))


@st.composite
def valid_streams(draw: st.DrawFn, may_close: bool = True) -> bytes:
    data = b""
    for message in draw(st.lists(st.one_of(messages(), large_messages()), max_size=4)):
        size = len(message.encode() if isinstance(message, str) else message)
        for frame in message_frames(message, draw(st.lists(st.integers(0, size), max_size=4))):
            data += b"".join(draw(st.lists(control_frames(), max_size=1))) + frame
    if may_close and draw(st.booleans()):
        data += draw(close_frames())
    return data


def by_framing(pieces: Iterable[bytes]) -> tuple[list[Message], list[bytes], int | None]:
    """Messages, control frames' payloads, and the failure's close code, from Framing."""
    framing, events = Framing(max_size=None), list[Event]()
    for piece in pieces:
        events += framing.receive_data(piece)
    found = [e for e in events if isinstance(e, (str, bytes))]
    controls = [e.data[2:] for e in events if isinstance(e, ControlFrame)]  # 2-byte headers
    failures = [e.code for e in events if isinstance(e, Failure)]
    return found, controls, failures[0] if failures else None


def by_websockets(pieces: Iterable[bytes]) -> tuple[list[Message], list[bytes], int | None]:
    """The same from websockets' ClientProtocol, its data frames reassembled."""
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=None)
    frames: list[Frame] = []
    for piece in pieces:
        protocol.receive_data(piece)
        frames += [e for e in protocol.events_received() if isinstance(e, Frame)]
    found: list[Message] = []
    controls: list[bytes] = []
    opcode, parts = Opcode.CONT, list[bytes]()
    for frame in frames:
        if frame.opcode in (Opcode.PING, Opcode.PONG, Opcode.CLOSE):
            controls.append(bytes(frame.data))
            continue
        if frame.opcode is not Opcode.CONT:
            opcode, parts = frame.opcode, []
        parts.append(bytes(frame.data))
        if frame.fin:
            payload = b"".join(parts)
            found.append(payload.decode() if opcode is Opcode.TEXT else payload)
    failed = protocol.parser_exc is not None and protocol.close_sent is not None
    return found, controls, protocol.close_sent.code if failed and protocol.close_sent else None


@SETTINGS
@given(valid_streams(), SPLITS)
def test_any_chunking_of_valid_frames_means_the_same_as_to_websockets(
        data: bytes, splits: list[int]) -> None:
    pieces = chunks(data, splits)
    framing = by_framing(pieces)
    assert framing == by_websockets(pieces)
    assert framing[2] is None


@SETTINGS
@given(valid_streams(may_close=False), st.sampled_from(COMPARABLE_BREACHES), SPLITS)
def test_a_breach_after_valid_frames_fails_as_websockets_fails_it(
        data: bytes, breach: bytes, splits: list[int]) -> None:
    pieces = chunks(data + breach, splits)
    framing = by_framing(pieces)
    assert framing == by_websockets(pieces)
    assert framing[2] == CloseCode.PROTOCOL_ERROR
