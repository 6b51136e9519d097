"""RFC 6455 framing errors on the echo endpoint (--raw-path): each fails the connection with
1002 (protocol error). Messages sent whole before the breach may be echoed first or not (a
server may fail the connection before it answers them)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from websockets.frames import Opcode

from conformance import strategies
from conformance.client import run
from conformance.frames import (
    MAX_CONTROL_PAYLOAD,
    RESERVED_CONTROL_OPCODES,
    RESERVED_DATA_OPCODES,
    WireFrame,
    message_frames,
)
from conformance.rfc6455 import PROTOCOL_ERROR, RawTarget, expect_failure
from wsharness.timeouts import scaled

pytestmark = pytest.mark.protocol

CHECK_TIMEOUT_S = scaled(30.0)
DATA_OPCODES = st.sampled_from([Opcode.TEXT, Opcode.BINARY])
CONTROL_OPCODES = st.sampled_from([Opcode.PING, Opcode.PONG, Opcode.CLOSE])
SMALL_MESSAGES = st.one_of(strategies.short_texts(20), st.binary(max_size=20))
BEFORE = st.lists(SMALL_MESSAGES, max_size=2)  # whole messages sent before the breach


def whole(messages: list[str | bytes]) -> list[WireFrame]:
    return [frame for message in messages for frame in message_frames(message)]


def fails_with_1002(target: RawTarget, before: list[str | bytes], breach: list[WireFrame],
                    rule: str) -> None:
    run(expect_failure(target, [*whole(before), *breach], PROTOCOL_ERROR, rule,
                       echoes_before=before), CHECK_TIMEOUT_S)


def control_payload(opcode: int, payload: bytes) -> bytes:
    """A valid payload for a control frame: a close frame's starts with a code (1000)."""
    return b"\x03\xe8" + payload[2:] if opcode == Opcode.CLOSE and payload else payload


@given(before=BEFORE, rsv=st.integers(1, 7),
       opcode=st.one_of(DATA_OPCODES, st.just(Opcode.PING)), payload=st.binary(max_size=40))
@example(before=["before"], rsv=4, opcode=Opcode.TEXT, payload=b"rsv1")
def test_5_2_a_reserved_bit_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], rsv: int, opcode: Opcode,
        payload: bytes) -> None:
    fails_with_1002(raw_target, before, [WireFrame(opcode, payload, rsv=rsv)],
                    "rfc6455.reserved-bits")


@given(before=BEFORE,
       opcode=st.sampled_from(RESERVED_DATA_OPCODES + RESERVED_CONTROL_OPCODES),
       payload=st.binary(max_size=MAX_CONTROL_PAYLOAD), fin=st.booleans())
def test_5_2_a_reserved_opcode_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], opcode: int, payload: bytes,
        fin: bool) -> None:
    fails_with_1002(raw_target, before, [WireFrame(opcode, payload, fin=fin)],
                    "rfc6455.reserved-opcode")


@given(before=BEFORE, opcode=st.one_of(DATA_OPCODES, st.just(Opcode.PING)),
       payload=st.binary(max_size=200))
def test_5_1_an_unmasked_client_frame_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], opcode: Opcode,
        payload: bytes) -> None:
    if opcode == Opcode.PING:
        payload = payload[:MAX_CONTROL_PAYLOAD]
    elif opcode == Opcode.TEXT:
        payload = payload.decode(errors="replace").encode()
    fails_with_1002(raw_target, before, [WireFrame(opcode, payload, masked=False)],
                    "rfc6455.unmasked-frame")


@given(before=BEFORE, opcode=CONTROL_OPCODES,
       size=st.integers(MAX_CONTROL_PAYLOAD + 1, 70_000))
@example(before=[], opcode=Opcode.PING, size=MAX_CONTROL_PAYLOAD + 1)
def test_5_5_a_control_frame_over_125_bytes_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], opcode: Opcode, size: int) -> None:
    payload = control_payload(opcode, b"p" * size)
    fails_with_1002(raw_target, before, [WireFrame(opcode, payload)], "rfc6455.control-too-long")


@given(before=BEFORE, opcode=CONTROL_OPCODES,
       payload=st.binary(max_size=MAX_CONTROL_PAYLOAD),
       inside=st.one_of(st.none(), SMALL_MESSAGES))
def test_5_5_a_fragmented_control_frame_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], opcode: Opcode, payload: bytes,
        inside: str | bytes | None) -> None:
    """inside: the control frame comes between the fragments of this message."""
    start = [] if inside is None else [message_frames(inside, [0])[0]]
    frame = WireFrame(opcode, control_payload(opcode, payload), fin=False)
    fails_with_1002(raw_target, before, [*start, frame], "rfc6455.control-fragmented")


@given(before=BEFORE, payload=st.binary(max_size=40), fin=st.booleans())
@example(before=["complete"], payload=b"continued?", fin=True)
def test_5_4_a_continuation_with_no_message_started_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], payload: bytes, fin: bool) -> None:
    fails_with_1002(raw_target, before, [WireFrame(Opcode.CONT, payload, fin=fin)],
                    "rfc6455.continuation-without-start")


@given(before=BEFORE, started=SMALL_MESSAGES,
       new=st.builds(WireFrame, DATA_OPCODES, SMALL_MESSAGES.map(
           lambda m: m.encode() if isinstance(m, str) else m), fin=st.booleans()))
def test_5_4_a_new_data_frame_inside_a_fragmented_message_fails_the_connection_with_1002(
        raw_target: RawTarget, before: list[str | bytes], started: str | bytes,
        new: WireFrame) -> None:
    first = message_frames(started, [0])[0]  # the message's first fragment, FIN not set
    fails_with_1002(raw_target, before, [first, new], "rfc6455.data-inside-fragmented")
