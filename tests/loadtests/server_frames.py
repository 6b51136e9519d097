"""What a server sends, as bytes: frames, breaches of RFC 6455, and Hypothesis strategies for
streams of frames with the events they mean to the client's framing (loadtests._framing).

Valid frames are serialized by websockets, not by the code under test; invalid ones are
built byte by byte, since websockets refuses to serialize them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from websockets.frames import Close, CloseCode, Frame, Opcode

from loadtests._framing import ControlFrame, Event, Message

MASK = b"\x0f\xf0\x3c\xc3"
ANY_CHARACTER = st.characters(codec="utf-8")


def server_frame(opcode: Opcode, payload: bytes, *, fin: bool = True) -> bytes:
    """A valid frame from a server (unmasked), serialized by websockets."""
    return Frame(opcode, payload, fin=fin).serialize(mask=False)


def raw_frame(first: int, payload: bytes, *, mask: bytes = b"") -> bytes:
    """A frame built by hand, valid or not: the first byte as given (FIN, RSV, opcode), the
    payload length in its shortest form, masked with mask when one is given."""
    length = len(payload)
    if mask:
        payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head = bytes((first, mask_bit | length))
    elif length < 65536:
        head = bytes((first, mask_bit | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((first, mask_bit | 127)) + length.to_bytes(8, "big")
    return head + mask + payload


def message_frames(message: Message, cuts: Sequence[int] = ()) -> list[bytes]:
    """message as frames: one, or fragments cut at the given offsets (empty ones too)."""
    if isinstance(message, str):
        return fragments(Opcode.TEXT, message.encode(), cuts)
    return fragments(Opcode.BINARY, message, cuts)


def fragments(opcode: Opcode, payload: bytes, cuts: Sequence[int] = ()) -> list[bytes]:
    """A message of payload as frames, cut at the given offsets (clamped to the payload)."""
    bounds = [0, *sorted(min(max(cut, 0), len(payload)) for cut in cuts), len(payload)]
    pieces = [payload[start:stop] for start, stop in itertools.pairwise(bounds)]
    return [server_frame(opcode if index == 0 else Opcode.CONT, piece,
                         fin=index == len(pieces) - 1) for index, piece in enumerate(pieces)]


# Each breach of RFC 6455 that a client must fail with 1002 (PROTOCOL_ERROR), named by section.
PROTOCOL_ERRORS = {
    "5.2 RSV1 set, no extension negotiated": raw_frame(0xC1, b"hi"),
    "5.2 RSV3 set, no extension negotiated": raw_frame(0x92, b"hi"),
    "5.2 reserved data opcode 0x3": raw_frame(0x83, b""),
    "5.2 reserved control opcode 0xB": raw_frame(0x8B, b""),
    "5.1 a masked frame from the server": raw_frame(0x81, b"hi", mask=MASK),
    "5.4 a continuation frame with no message to continue": raw_frame(0x80, b"x"),
    "5.4 a new message inside a fragmented one": raw_frame(0x01, b"a") + raw_frame(0x81, b"b"),
    "5.5 a control frame over 125 bytes": raw_frame(0x89, b"p" * 126),
    "5.5 a fragmented control frame": raw_frame(0x09, b"p"),
    "5.2 a 64-bit length with its top bit set": bytes((0x82, 127)) + (2**63).to_bytes(8, "big"),
}

# Byte sequences that are not UTF-8 wherever they stand in a text (before another character
# or at the end): what a client must fail with 1007 (INVALID_DATA), section 8.1.
INVALID_UTF8 = (
    b"\xff",  # never in UTF-8
    b"\x80",  # a continuation byte with no lead
    b"\xc0\xaf",  # an overlong form of "/"
    b"\xed\xa0\x80",  # a UTF-16 surrogate, U+D800
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xe2\x82",  # a three-byte character cut short
)


def texts(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.text(ANY_CHARACTER, max_size=max_size)


def messages() -> st.SearchStrategy[Message]:
    """Text or binary, up to a few hundred bytes (the 7- and 16-bit length forms)."""
    return st.one_of(texts(), st.binary(max_size=300),
                     st.builds(lambda unit, count: unit * count,
                               st.text(ANY_CHARACTER, min_size=1, max_size=3),
                               st.integers(40, 80)))


def control_frames() -> st.SearchStrategy[bytes]:
    """A ping or a pong with up to 125 bytes of payload (a close ends the stream: apart)."""
    return st.builds(server_frame, st.sampled_from([Opcode.PING, Opcode.PONG]),
                     st.binary(max_size=125))


def close_frames() -> st.SearchStrategy[bytes]:
    codes = st.sampled_from([CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY,
                             CloseCode.INTERNAL_ERROR, 4000])
    return st.builds(lambda code, reason: server_frame(Opcode.CLOSE,
                                                       Close(code, reason).serialize()),
                     codes, texts(max_size=20))


@dataclass(frozen=True)
class Stream:
    """Bytes a server sends and the events they mean, in order."""

    data: bytes
    events: list[Event]


@st.composite
def streams(draw: st.DrawFn, max_messages: int = 4) -> Stream:
    """Messages, each in one frame or fragmented at any points, with pings and pongs between
    frames, and maybe a close frame at the end."""
    data, events = b"", list[Event]()
    for message in draw(st.lists(messages(), max_size=max_messages)):
        size = len(message.encode() if isinstance(message, str) else message)
        cuts = draw(st.lists(st.integers(0, size), max_size=4))
        for frame in message_frames(message, cuts):
            for control in draw(st.lists(control_frames(), max_size=1)):
                data += control
                events.append(ControlFrame(control))
            data += frame
        events.append(message)
    if draw(st.booleans()):
        close = draw(close_frames())
        data += close
        events.append(ControlFrame(close))
    return Stream(data, events)


@st.composite
def broken_streams(draw: st.DrawFn) -> bytes:
    """A valid stream, then something the client must fail on, then any bytes at all."""
    breach = draw(st.one_of(
        st.sampled_from(list(PROTOCOL_ERRORS.values())),
        st.builds(lambda before, invalid: server_frame(Opcode.TEXT, before.encode() + invalid),
                  texts(), st.sampled_from(INVALID_UTF8)),
        st.just(raw_frame(0x82, bytes(2000)))))  # over a max_size of 1000
    return draw(streams()).data + breach + draw(st.binary(max_size=40))


def chunks(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """data cut at the given offsets, in order; empty chunks left out, as recv() never
    returns one while the connection is open."""
    bounds = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    return [data[start:stop] for start, stop in itertools.pairwise(bounds) if stop > start]
