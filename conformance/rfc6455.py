"""What RFC 6455 demands of a server's framing, checked on one connection each (frameclient):
an echo, a failed connection, a closing handshake. A check that fails raises SpecMismatch
naming its rule (rfc6455_rules), with the frames sent and the frames received.

The target is an echo endpoint: `/raw` of the reference app (--raw-path), which sends every
message back unchanged, text as text and binary as binary.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from websockets.frames import CloseCode, Opcode

from conformance.frameclient import FrameSession, Transcript, deadline_for
from conformance.frames import WireFrame, describe_code, messages_of, shorten
from conformance.mismatch import SpecMismatch, show_list

PROTOCOL_ERROR = (CloseCode.PROTOCOL_ERROR,)
INVALID_DATA = (CloseCode.INVALID_DATA,)


@dataclass(frozen=True)
class RawTarget:
    """The echo endpoint checked, and whether failing a connection needs a close frame
    (--require-close-frame) or a dropped TCP connection will do (RFC 6455 7.1.7: SHOULD)."""

    url: str
    close_frame_required: bool = False


def show_message(message: str | bytes) -> str:
    kind = "text" if isinstance(message, str) else "binary"
    data = message.encode() if isinstance(message, str) else message
    if isinstance(message, str):
        shown = repr(message) if len(message) <= 40 else f"{message[:24]!r}..."
        return f"{kind} {shown} ({len(data)} B)"
    return f"{kind} {shorten(data)}"


def show_messages(messages: Sequence[str | bytes]) -> str:
    return "[" + ", ".join(show_message(m) for m in messages) + "]"


def mismatch(rule: str, transcript: Transcript, expected: str, difference: str) -> SpecMismatch:
    return SpecMismatch(rule, sent=transcript.describe_sent(), expected=expected,
                        arrived=transcript.describe_received(), difference=difference)


def is_subsequence(wanted: Sequence[bytes], got: Sequence[bytes]) -> bool:
    rest = iter(got)
    return all(any(item == g for g in rest) for item in wanted)


async def expect_echo(target: RawTarget, frames: Sequence[WireFrame],
                      messages: Sequence[str | bytes], rule: str, *,
                      pings: Sequence[bytes] = (), ping_rule: str = "") -> None:
    """Send frames; the server must send back messages, unchanged and in order, and a pong for
    each of pings, in order (a server may pong more: unsolicited pongs are allowed)."""
    async with FrameSession(target.url) as session:
        session.send(frames)
        transcript = await session.read_until(
            lambda t: len(t.messages) >= len(messages) and len(t.pongs) >= len(pings),
            deadline_for(frames))
        got = transcript.messages
        expected = f"the message(s) back unchanged: {show_messages(messages)}"
        if pings:
            expected += f", and pongs of {show_list(pings)}"
        if got[:len(messages)] != list(messages):
            raise mismatch(rule, transcript, expected, first_message_difference(messages, got))
        if pings and not is_subsequence(pings, transcript.pongs):
            raise mismatch(ping_rule or rule, transcript, expected,
                           f"pongs {show_list(transcript.pongs)} for pings {show_list(pings)}")
        if len(got) > len(messages):
            raise mismatch(rule, transcript, expected, f"{len(got) - len(messages)} message(s) "
                           f"more than were sent: {show_messages(got[len(messages):])}")
        await session.close_politely()


def first_message_difference(expected: Sequence[str | bytes], got: Sequence[str | bytes]) -> str:
    for index, (want, came) in enumerate(zip(expected, got, strict=False)):
        if want != came:
            return (f"message #{index + 1}: expected {show_message(want)}, arrived "
                    f"{show_message(came)}")
    return f"message #{len(got) + 1}: expected {show_message(expected[len(got)])}, arrived none"


async def expect_failure(target: RawTarget, frames: Sequence[WireFrame],
                         codes: Collection[int], rule: str, *,
                         echoes_before: Sequence[str | bytes] = ()) -> None:
    """Send frames, the last of them breaking a rule: the server must fail the connection with
    one of codes. Messages sent before the breach (echoes_before) may be echoed first."""
    async with FrameSession(target.url) as session:
        session.send(frames)
        transcript = await session.finish(deadline_for(frames))
        check_failure(target, transcript, codes, rule, echoes_before)


def describe_failure(target: RawTarget, codes: Collection[int]) -> str:
    shown = " or ".join(describe_code(code) for code in codes)
    dropped = "" if target.close_frame_required else " (or no close frame: a dropped TCP " \
        "connection)"
    return f"no reply to the breach, a close frame with code {shown}{dropped}, the TCP " \
        "connection closed"


def check_failure(target: RawTarget, transcript: Transcript, codes: Collection[int], rule: str,
                  echoes_before: Sequence[str | bytes] = ()) -> None:
    expected = describe_failure(target, codes)
    close = transcript.server_close
    received = transcript.received
    before = received[:received.index(close)] if close is not None else received
    replies = [f for f in before if f.is_control and f.opcode != Opcode.PING]
    if replies:
        raise mismatch(rule, transcript, expected, "a reply to the frame that breaks the rule: "
                       f"{replies[0].describe()}")
    echoed = messages_of(before)
    if echoed != list(echoes_before)[:len(echoed)]:
        raise mismatch(rule, transcript, expected, "a reply to the frame that breaks the rule: "
                       f"{show_messages(echoed[len(echoes_before):] or echoed)}")
    if close is None:
        if not transcript.closed:
            raise mismatch(rule, transcript, expected, f"the connection stayed open "
                           f"({transcript.ending})")
        if target.close_frame_required:
            raise mismatch(rule, transcript, expected, "the TCP connection was dropped without "
                           "a close frame (--require-close-frame)")
        return
    if close.close_code not in codes:
        raise mismatch(rule, transcript, expected,
                       f"a close frame with code {describe_code(close.close_code)}")
    check_end(transcript, rule, expected)


def check_end(transcript: Transcript, rule: str, expected: str) -> None:
    """After the server's close frame: nothing more, and the TCP connection closed."""
    after = transcript.after_server_close
    if after:
        raise mismatch("rfc6455.nothing-after-close", transcript, "nothing after the server's "
                       "close frame", f"{after[0].describe()} after the close frame")
    if not transcript.closed:
        raise mismatch(rule, transcript, expected, "the TCP connection stayed open after the "
                       f"closing handshake ({transcript.ending})")


async def expect_close_reply(target: RawTarget, frames: Sequence[WireFrame],
                             code: int | None) -> None:
    """Send frames, a close frame with code (None: no code) first: the server must answer
    with a close frame (code, or 1000; no code for none), send nothing else, and close TCP."""
    async with FrameSession(target.url) as session:
        session.send(frames)
        transcript = await session.finish(deadline_for(frames))
    wanted = [None, CloseCode.NORMAL_CLOSURE] if code is None else \
        [code, CloseCode.NORMAL_CLOSURE]
    expected = (f"a close frame with code {' or '.join(describe_code(c) for c in wanted)}, "
                "nothing else, then the TCP connection closed")
    close = transcript.server_close
    if close is None:
        raise mismatch("rfc6455.close-reply", transcript, expected, "no close frame")
    before = transcript.received[:transcript.received.index(close)]
    if before:
        raise mismatch("rfc6455.close-reply", transcript, expected,
                       f"{before[0].describe()} before the close frame")
    if close.close_code not in wanted:
        raise mismatch("rfc6455.close-reply", transcript, expected,
                       f"a close frame with code {describe_code(close.close_code)}")
    check_end(transcript, "rfc6455.close-reply", expected)


async def expect_ignored(target: RawTarget, frames: Sequence[WireFrame],
                         message: str | bytes, rule: str) -> None:
    """Send frames that must be ignored, then one message: what comes back must be exactly
    that message's echo."""
    async with FrameSession(target.url) as session:
        session.send(frames)
        transcript = await session.read_until(lambda t: bool(t.messages), deadline_for(frames))
        expected = f"nothing but the echo of {show_message(message)}"
        stray = [f for f in transcript.received if f.is_control and f.opcode != Opcode.PING]
        if stray:
            raise mismatch(rule, transcript, expected, f"{stray[0].describe()}")
        if transcript.messages != [message]:
            raise mismatch(rule, transcript, expected,
                           first_message_difference([message], transcript.messages))
        await session.close_politely()
