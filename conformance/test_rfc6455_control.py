"""RFC 6455 control frames on the echo endpoint (--raw-path): ping and pong (5.5.2, 5.5.3) and
the closing handshake (5.5.1, 7.4), and nothing after the server's close frame."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from websockets.frames import CloseCode, Opcode

from conformance import strategies
from conformance.client import run
from conformance.frames import WireFrame, close_frame, message_frames
from conformance.rfc6455 import (
    PROTOCOL_ERROR,
    RawTarget,
    expect_close_reply,
    expect_echo,
    expect_failure,
    expect_ignored,
)
from conformance.server_gaps import assume_within_limits, expect_server_gap
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.protocol

CHECK_TIMEOUT_S = scaled(30.0)
SMALL_MESSAGES = st.one_of(strategies.short_texts(20), st.binary(max_size=20))
INVALID_REASON_CODES = (CloseCode.INVALID_DATA, CloseCode.PROTOCOL_ERROR)


@given(payloads=st.lists(strategies.ping_payloads(), min_size=1, max_size=4))
@example(payloads=[b""])
@example(payloads=[bytes(range(125))])
def test_5_5_2_a_ping_is_answered_by_a_pong_with_its_payload(raw_target: RawTarget,
                                                             payloads: list[bytes]) -> None:
    pings = [WireFrame(Opcode.PING, payload) for payload in payloads]
    run(expect_echo(raw_target, pings, [], "rfc6455.ping-pong", pings=payloads),
        CHECK_TIMEOUT_S)


@given(payload=strategies.ping_payloads(), message=SMALL_MESSAGES)
def test_5_5_3_an_unsolicited_pong_is_ignored(wire: WireTarget, raw_target: RawTarget,
                                             payload: bytes, message: str | bytes) -> None:
    assume_within_limits(wire, [message])
    frames = [WireFrame(Opcode.PONG, payload), *message_frames(message)]
    run(expect_ignored(raw_target, frames, message, "rfc6455.unsolicited-pong"), CHECK_TIMEOUT_S)


@given(code=st.one_of(st.none(), strategies.valid_close_codes()),
       reason=strategies.close_reasons(), before=st.lists(SMALL_MESSAGES, max_size=2))
@example(code=None, reason=b"", before=[])
@example(code=CloseCode.NORMAL_CLOSURE, reason=b"", before=[])
@example(code=4999, reason="κόσμε".encode(), before=[])
def test_5_5_1_a_valid_close_code_is_answered_with_a_close_frame(
        wire: WireTarget, raw_target: RawTarget, code: int | None, reason: bytes,
        before: list[str | bytes]) -> None:
    """before: messages sent and echoed first, so the close comes mid-conversation."""
    assume_within_limits(wire, before)
    async def check() -> None:
        if before:  # their echoes are the fragmentation rule's concern: read and checked there
            await expect_echo(raw_target, [f for m in before for f in message_frames(m)],
                              before, "rfc6455.fragmentation")
        await expect_close_reply(raw_target, [close_frame(code, b"" if code is None else reason)],
                                 code)
    run(check(), CHECK_TIMEOUT_S)


@given(started=SMALL_MESSAGES, code=st.one_of(st.none(), strategies.valid_close_codes()))
@example(started="fragment1", code=CloseCode.NORMAL_CLOSURE)
def test_5_4_a_close_frame_between_fragments_is_answered_with_a_close_frame(
        request: pytest.FixtureRequest, wire: WireTarget, raw_target: RawTarget,
        started: str | bytes, code: int | None) -> None:
    """Control frames may come between the fragments of a message (5.4), a close frame too:
    the unfinished message is dropped and the close answered."""
    expect_server_gap(request, wire, "close-inside-message", "rfc6455.close-reply")
    first = message_frames(started, [0])[0]  # the message's first fragment, FIN not set
    run(expect_close_reply(raw_target, [first, close_frame(code)], code), CHECK_TIMEOUT_S)


@pytest.mark.parametrize("code", [CloseCode.SERVICE_RESTART, CloseCode.TRY_AGAIN_LATER,
                                  CloseCode.BAD_GATEWAY])
def test_7_4_the_codes_registered_after_rfc_6455_are_answered_with_a_close_frame(
        request: pytest.FixtureRequest, wire: WireTarget, raw_target: RawTarget,
        code: CloseCode) -> None:
    """1012, 1013 and 1014 were registered with IANA after RFC 6455 (7.4.2: 1000-2999 are for
    the protocol and its public extensions): valid, like 7.4.1's own."""
    expect_server_gap(request, wire, f"close-{int(code)}", "rfc6455.close-reply")
    run(expect_close_reply(raw_target, [close_frame(code)], code), CHECK_TIMEOUT_S)


@given(code=strategies.invalid_close_codes(), reason=strategies.close_reasons())
@example(code=1005, reason=b"")
@example(code=1006, reason=b"")
@example(code=1015, reason=b"")
@example(code=999, reason=b"")
@example(code=5000, reason=b"")
def test_7_4_an_invalid_close_code_fails_the_connection_with_1002(
        raw_target: RawTarget, code: int, reason: bytes) -> None:
    run(expect_failure(raw_target, [close_frame(code, reason)], PROTOCOL_ERROR,
                       "rfc6455.close-invalid-code"), CHECK_TIMEOUT_S)


def test_5_5_1_a_close_frame_with_a_one_byte_body_fails_the_connection_with_1002(
        raw_target: RawTarget) -> None:
    run(expect_failure(raw_target, [WireFrame(Opcode.CLOSE, b"\x03")], PROTOCOL_ERROR,
                       "rfc6455.close-invalid-code"), CHECK_TIMEOUT_S)


@given(code=strategies.valid_close_codes(), before=strategies.short_texts(20),
       invalid=st.sampled_from(strategies.INVALID_UTF8), after=strategies.short_texts(20))
def test_8_1_a_close_reason_that_is_not_utf8_fails_the_connection(
        raw_target: RawTarget, code: int, before: str, invalid: bytes, after: str) -> None:
    reason = (before.encode() + invalid + after.encode())[:123]
    assume(not is_utf8(reason))  # not cut short of the invalid bytes
    run(expect_failure(raw_target, [close_frame(code, reason)], INVALID_REASON_CODES,
                       "rfc6455.close-invalid-reason"), CHECK_TIMEOUT_S)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


@given(code=strategies.valid_close_codes(), after=st.lists(SMALL_MESSAGES, min_size=1,
                                                           max_size=3),
       ping=st.one_of(st.none(), strategies.ping_payloads()))
def test_5_5_1_nothing_comes_after_the_servers_close_frame(
        raw_target: RawTarget, code: int, after: list[str | bytes], ping: bytes | None) -> None:
    """Frames sent after the client's close frame are not answered: the server's close reply
    is the last thing it sends."""
    later = [f for m in after for f in message_frames(m)]
    if ping is not None:
        later.append(WireFrame(Opcode.PING, ping))
    run(expect_close_reply(raw_target, [close_frame(code), *later], code), CHECK_TIMEOUT_S)
