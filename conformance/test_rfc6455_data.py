"""RFC 6455 data frames on the echo endpoint (--raw-path): fragmentation (5.4), control frames
between fragments (5.4, 5.5.2) and UTF-8 (5.6, 8.1), frames built by hand (conformance.frames).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from websockets.frames import Opcode

from conformance import strategies
from conformance.client import run
from conformance.frames import WireFrame, fragments
from conformance.rfc6455 import INVALID_DATA, RawTarget, expect_echo, expect_failure
from conformance.server_gaps import assume_within_limits
from conformance.strategies import Repeated
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.protocol

CHECK_TIMEOUT_S = scaled(60.0)


def payload_of(message: str | bytes) -> tuple[int, bytes]:
    if isinstance(message, str):
        return Opcode.TEXT, message.encode()
    return Opcode.BINARY, message


@st.composite
def split_messages(draw: st.DrawFn) -> tuple[Repeated, list[int]]:
    """A message and where to cut it, in bytes."""
    message = draw(strategies.frame_messages())
    return message, draw(strategies.cuts(len(payload_of(message.message)[1])))


@given(split=split_messages())
@example(split=(Repeated("", 0), []))
@example(split=(Repeated(b"", 0), [0, 0]))
@example(split=(Repeated("x", 5 * strategies.MIB), [2**20 * i for i in range(1, 5)]))
@example(split=(Repeated(bytes(range(256)), 3 * strategies.MIB), [1, 65_536, 65_537]))
def test_5_4_any_split_of_a_message_echoes_the_same_message(
        wire: WireTarget, raw_target: RawTarget, split: tuple[Repeated, list[int]]) -> None:
    """A text is cut between characters only: a cut inside one is the UTF-8 rule's concern."""
    message, offsets = split[0].message, split[1]
    opcode, payload = payload_of(message)
    if opcode == Opcode.TEXT:
        offsets = strategies.at_character_boundaries(payload, offsets)
    frames = fragments(opcode, payload, offsets)
    assume_within_limits(wire, [message], frames)
    run(expect_echo(raw_target, frames, [message], "rfc6455.fragmentation"), CHECK_TIMEOUT_S)


@st.composite
def pinged_messages(draw: st.DrawFn) -> tuple[list[WireFrame], str | bytes, list[bytes]]:
    """A message in two fragments or more, with pings between fragments."""
    message = draw(st.one_of(strategies.short_texts().filter(bool),
                             st.binary(min_size=1, max_size=3000)))
    opcode, payload = payload_of(message)
    offsets = draw(st.lists(st.integers(0, len(payload)), min_size=1, max_size=6))
    if opcode == Opcode.TEXT:
        offsets = strategies.at_character_boundaries(payload, offsets)
    pieces = fragments(opcode, payload, offsets)
    frames: list[WireFrame] = [pieces[0]]
    pings: list[bytes] = []
    for piece in pieces[1:]:
        for ping in draw(st.lists(strategies.ping_payloads(), max_size=2)):
            frames.append(WireFrame(Opcode.PING, ping))
            pings.append(ping)
        frames.append(piece)
    if not pings:  # at least one ping, between the first two fragments
        ping = draw(strategies.ping_payloads())
        frames.insert(1, WireFrame(Opcode.PING, ping))
        pings.append(ping)
    return frames, message, pings


@given(case=pinged_messages())
def test_5_4_pings_between_fragments_are_answered_and_the_message_reassembled(
        raw_target: RawTarget, case: tuple[list[WireFrame], str | bytes, list[bytes]]) -> None:
    frames, message, pings = case
    run(expect_echo(raw_target, frames, [message], "rfc6455.fragmentation", pings=pings,
                    ping_rule="rfc6455.ping-between-fragments"), CHECK_TIMEOUT_S)


@given(text=strategies.short_texts(80).filter(lambda t: len(t.encode()) > len(t)),
       offsets=st.lists(st.integers(0, 400), min_size=1, max_size=12))
@example(text="€", offsets=[1, 2])  # U+20AC, three bytes: one per fragment
@example(text="😀", offsets=[1, 2, 3])  # four bytes
def test_5_6_valid_utf8_split_anywhere_is_accepted(raw_target: RawTarget, text: str,
                                                   offsets: list[int]) -> None:
    frames = fragments(Opcode.TEXT, text.encode(), offsets)
    run(expect_echo(raw_target, frames, [text], "rfc6455.utf8-valid"), CHECK_TIMEOUT_S)


@given(before=strategies.short_texts(40), invalid=st.sampled_from(strategies.INVALID_UTF8),
       after=strategies.short_texts(40),
       offsets=st.lists(st.integers(0, 200), max_size=8))
@example(before="", invalid=b"\xff", after="", offsets=[])
@example(before="κόσμε", invalid=b"\xed\xa0\x80", after="edited", offsets=[11, 12])
def test_8_1_invalid_utf8_anywhere_fails_the_connection_with_1007(
        raw_target: RawTarget, before: str, invalid: bytes, after: str,
        offsets: list[int]) -> None:
    payload = before.encode() + invalid + after.encode()
    with pytest.raises(UnicodeDecodeError):
        payload.decode()
    frames = fragments(Opcode.TEXT, payload, offsets)
    run(expect_failure(raw_target, frames, INVALID_DATA, "rfc6455.utf8-invalid"),
        CHECK_TIMEOUT_S)
