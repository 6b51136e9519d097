"""The client's framing alone (loadtests._framing): bytes in, events out, no sockets.

Tests are named after the sections of RFC 6455 they check. Frames come from websockets'
serializer (tests/loadtests/server_frames.py), and frames we send are read back by
websockets' server-side parser.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from loadtests._framing import ControlFrame, Event, Failure, Framing
from tests.loadtests.server_frames import (
    INVALID_UTF8,
    PROTOCOL_ERRORS,
    Stream,
    broken_streams,
    chunks,
    close_frames,
    fragments,
    message_frames,
    messages,
    raw_frame,
    server_frame,
    streams,
    texts,
)

SETTINGS = settings(deadline=None)  # a shared machine: a slow example is not a failure
SPLITS = st.lists(st.integers(min_value=0), max_size=12)  # where to cut a stream into chunks
CUTS = st.lists(st.integers(0, 600), max_size=5)  # where to cut a payload into fragments


def receive(framing: Framing, pieces: Iterable[bytes]) -> list[Event]:
    events: list[Event] = []
    for piece in pieces:
        events += framing.receive_data(piece)
    return events


def failure_codes(events: list[Event]) -> list[int]:
    return [event.code for event in events if isinstance(event, Failure)]


# -- any chunking -------------------------------------------------------------------------------


@SETTINGS
@given(streams(), SPLITS)
def test_any_split_of_the_stream_gives_its_events(stream: Stream, splits: list[int]) -> None:
    assert receive(Framing(), chunks(stream.data, splits)) == stream.events


@SETTINGS
@given(broken_streams(), SPLITS)
def test_any_split_of_a_broken_stream_gives_the_same_events_as_the_whole(
        data: bytes, splits: list[int]) -> None:
    whole = Framing(max_size=1000).receive_data(data)
    assert receive(Framing(max_size=1000), chunks(data, splits)) == whole
    assert failure_codes(whole) in ([], [CloseCode.PROTOCOL_ERROR], [CloseCode.INVALID_DATA],
                                    [CloseCode.MESSAGE_TOO_BIG])


@SETTINGS
@given(streams())
def test_one_byte_at_a_time_gives_the_same_events(stream: Stream) -> None:
    single_bytes = [stream.data[index:index + 1] for index in range(len(stream.data))]
    assert receive(Framing(), single_bytes) == stream.events


# -- 5.4 fragmentation --------------------------------------------------------------------------


@SETTINGS
@given(messages(), CUTS)
def test_5_4_a_message_fragmented_at_any_points_reassembles(message: str | bytes,
                                                            cuts: list[int]) -> None:
    assert Framing().receive_data(b"".join(message_frames(message, cuts))) == [message]


def test_5_4_control_frames_between_fragments_come_out_first_and_in_order() -> None:
    ping, pong = server_frame(Opcode.PING, b"1"), server_frame(Opcode.PONG, b"2")
    first, middle, last = fragments(Opcode.TEXT, "défragmenté".encode(), [2, 7])
    events = Framing().receive_data(first + ping + middle + pong + last)
    assert events == [ControlFrame(ping), ControlFrame(pong), "défragmenté"]


def test_5_4_a_character_cut_between_fragments_is_whole_again() -> None:
    payload = "€".encode()  # three bytes
    assert Framing().receive_data(b"".join(fragments(Opcode.TEXT, payload, [1, 2]))) == ["€"]


# -- 8.1 UTF-8 ----------------------------------------------------------------------------------


@SETTINGS
@given(texts(), st.sampled_from(INVALID_UTF8), texts(), CUTS, SPLITS)
def test_8_1_invalid_utf8_anywhere_in_a_text_fails_with_1007(
        before: str, invalid: bytes, after: str, cuts: list[int], splits: list[int]) -> None:
    payload = before.encode() + invalid + after.encode()
    with pytest.raises(UnicodeDecodeError):
        payload.decode()
    data = b"".join(fragments(Opcode.TEXT, payload, cuts)) + server_frame(Opcode.TEXT, b"next")
    framing = Framing()
    events = receive(framing, chunks(data, splits))
    assert len(events) == 1
    assert failure_codes(events) == [CloseCode.INVALID_DATA]
    assert framing.ended


@SETTINGS
@given(st.binary(max_size=40), CUTS)
def test_8_1_binary_messages_are_never_decoded(payload: bytes, cuts: list[int]) -> None:
    assert Framing().receive_data(b"".join(fragments(Opcode.BINARY, payload, cuts))) == [payload]


# -- 5.2, 5.1, 5.4, 5.5: protocol errors ----------------------------------------------------------


@pytest.mark.parametrize("breach", list(PROTOCOL_ERRORS.values()), ids=list(PROTOCOL_ERRORS))
@SETTINGS
@given(splits=SPLITS)
def test_each_breach_of_the_framing_fails_with_1002_and_ends_the_stream(
        breach: bytes, splits: list[int]) -> None:
    before, after = server_frame(Opcode.TEXT, b"before"), server_frame(Opcode.TEXT, b"after")
    framing = Framing()
    events = receive(framing, chunks(before + breach + after, splits))
    assert events[0] == "before"
    assert len(events) == 2
    assert failure_codes(events) == [CloseCode.PROTOCOL_ERROR]
    assert framing.ended
    assert framing.receive_data(after) == []


# -- 10.4 size limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [10, 1000])
def test_10_4_a_message_of_max_size_passes_and_one_byte_more_fails_with_1009(limit: int) -> None:
    assert Framing(max_size=limit).receive_data(raw_frame(0x82, bytes(limit))) == [bytes(limit)]
    events = Framing(max_size=limit).receive_data(raw_frame(0x82, bytes(limit + 1)))
    assert failure_codes(events) == [CloseCode.MESSAGE_TOO_BIG]


def test_10_4_an_oversize_frame_fails_on_its_header_before_its_payload_comes() -> None:
    header = raw_frame(0x81, bytes(2000))[:4]  # 0x81, 126, then the 16-bit length
    assert failure_codes(Framing(max_size=1000).receive_data(header)) == \
        [CloseCode.MESSAGE_TOO_BIG]


def test_10_4_fragments_count_together_against_max_size() -> None:
    fits = b"".join(fragments(Opcode.BINARY, bytes(100), [60]))
    assert Framing(max_size=100).receive_data(fits) == [bytes(100)]
    over = b"".join(fragments(Opcode.BINARY, bytes(101), [60]))
    assert failure_codes(Framing(max_size=100).receive_data(over)) == [CloseCode.MESSAGE_TOO_BIG]


def test_no_limit_takes_a_64_bit_length() -> None:
    payload = bytes(70_000)
    assert Framing(max_size=None).receive_data(raw_frame(0x82, payload)) == [payload]


# -- 5.5 control frames -------------------------------------------------------------------------


def open_client() -> ClientProtocol:
    return ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)


@SETTINGS
@given(st.sampled_from([Opcode.PING, Opcode.PONG]), st.binary(max_size=125), SPLITS)
def test_5_5_2_pings_and_pongs_pass_whole_to_the_protocol(opcode: Opcode, payload: bytes,
                                                          splits: list[int]) -> None:
    frame = server_frame(opcode, payload)
    events = receive(Framing(), chunks(frame, splits))
    assert events == [ControlFrame(frame)]
    protocol = open_client()
    protocol.receive_data(frame)
    assert protocol.events_received() == [Frame(opcode, payload)]
    answer = protocol.data_to_send()
    if opcode is Opcode.PING:  # the protocol answers with a pong of the same payload
        server = ServerProtocol(state=State.OPEN)
        server.receive_data(b"".join(answer))
        assert server.events_received() == [Frame(Opcode.PONG, payload)]
    else:
        assert answer == []


@SETTINGS
@given(close_frames(), st.binary(max_size=30))
def test_5_5_1_a_close_frame_passes_to_the_protocol_and_nothing_after_it_counts(
        close: bytes, after: bytes) -> None:
    framing = Framing()
    assert framing.receive_data(close + after) == [ControlFrame(close)]
    assert framing.ended
    assert framing.receive_data(server_frame(Opcode.TEXT, b"later")) == []
    protocol = open_client()
    protocol.receive_data(close)
    assert protocol.close_rcvd == Close.parse(close[2:])


def test_5_5_1_a_close_inside_a_fragmented_message_drops_the_message_without_error() -> None:
    first, last = fragments(Opcode.TEXT, b"unfinished", [3])
    close = server_frame(Opcode.CLOSE, Close(CloseCode.GOING_AWAY, "").serialize())
    assert Framing().receive_data(first + close + last) == [ControlFrame(close)]


# -- 5.3 frames sent ----------------------------------------------------------------------------


def read_by_a_server(data: bytes) -> list[Frame]:
    server = ServerProtocol(state=State.OPEN, max_size=None)
    server.receive_data(data)
    return [event for event in server.events_received() if isinstance(event, Frame)]


@SETTINGS
@given(texts(max_size=200))
def test_5_3_a_text_frame_is_masked_and_the_server_reads_the_text(text: str) -> None:
    data = Framing().send_text(text)
    assert data[1] & 0x80  # the MASK bit
    assert read_by_a_server(data) == [Frame(Opcode.TEXT, text.encode())]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70_000])
def test_5_2_each_length_form_reads_back(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert read_by_a_server(Framing().send_binary(payload)) == [Frame(Opcode.BINARY, payload)]


@SETTINGS
@given(st.binary(max_size=300))
def test_5_3_a_binary_frame_is_masked_and_the_server_reads_the_bytes(payload: bytes) -> None:
    data = Framing().send_binary(payload)
    assert data[1] & 0x80
    assert read_by_a_server(data) == [Frame(Opcode.BINARY, payload)]
