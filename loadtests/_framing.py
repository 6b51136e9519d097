"""A WebSocket client's framing, Sans-I/O: the server's bytes in, events out; messages in,
bytes out.

`Framing.receive_data(data)` takes the server's byte stream in chunks of any size (after the
opening handshake) and returns, in stream order, what its frames mean:

- a message, as itself: `str` for text, `bytes` for binary, fragments reassembled;
- `ControlFrame`: a whole ping, pong or close frame, to hand to websockets' `ClientProtocol`,
  which answers pings and runs the closing handshake;
- `Failure`: the stream breaks RFC 6455 and the connection must fail with `code`:
  PROTOCOL_ERROR (reserved bits or opcode, a masked frame, a continuation with no message to
  continue, a new message inside a fragmented one, a control frame fragmented or over 125
  bytes), INVALID_DATA (text that is not UTF-8), MESSAGE_TOO_BIG (over max_size).

After a close frame or a failure it ignores every byte: a peer discards what follows a close
frame (section 1.4) and stops processing a connection it fails (7.1.7).

It knows nothing of the connection's state, on purpose: one fragment state serves the whole
connection. Once our close frame is out (CLOSING), the server may still send data frames,
and may finish a fragmented message before it answers (5.5.1: an endpoint "MAY delay sending
a Close frame until its current message is sent"), so frames are reassembled and checked
there exactly as in OPEN. A close frame in the middle of a fragmented message is allowed
(5.4 lets control frames come between fragments; 5.5.1 only says the peer MAY finish first):
the unfinished message is dropped, not an error.

`send_text` and `send_binary` return one whole frame, FIN set and masked (5.3), ready to send.
"""

from __future__ import annotations

import codecs
import random
import struct
from dataclasses import dataclass

from websockets.frames import CloseCode

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension ships with websockets' wheels
    from websockets.utils import apply_mask

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
FIN, RSV_BITS, OPCODE_BITS, MASK_BIT = 0x80, 0x70, 0x0F, 0x80
WHOLE_TEXT, WHOLE_BINARY = FIN | OP_TEXT, FIN | OP_BINARY  # first byte of a one-frame message
MAX_CONTROL_PAYLOAD = 125
LENGTH_16, LENGTH_64 = 126, 127  # the 7-bit length values that announce a longer length
NO_LIMIT = 2**63  # max_size None: the 64-bit length's own bound
_mask_bits = random.getrandbits  # masks stop proxies' cache poisoning, not an attacker
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


@dataclass(frozen=True, slots=True)
class ControlFrame:
    """A whole ping, pong or close frame as received (header included), for ClientProtocol."""

    data: bytes

    @property
    def opcode(self) -> int:
        return self.data[0] & OPCODE_BITS


@dataclass(frozen=True, slots=True)
class Failure:
    """The server broke the protocol: fail the connection with this close code."""

    code: CloseCode
    reason: str


Message = str | bytes
Event = Message | ControlFrame | Failure


def frame_header(opcode: int, length: int) -> bytes:
    """FIN + opcode, MASK + payload length (client frames are always masked)."""
    first = FIN | opcode
    if length < LENGTH_16:
        return bytes((first, MASK_BIT | length))
    if length < 65536:
        return struct.pack("!BBH", first, MASK_BIT | LENGTH_16, length)
    return struct.pack("!BBQ", first, MASK_BIT | LENGTH_64, length)


class Framing:
    """The data framing of one client connection, from the end of the opening handshake."""

    def __init__(self, max_size: int | None = 2**20) -> None:
        self.max_size = NO_LIMIT if max_size is None else max_size  # bytes of one message
        self.ended = False  # a close frame or a failure came: every later byte is ignored
        self._idle = True  # no partial frame, no fragmented message, not ended
        self._buffer = b""  # the start of a frame whose end has not come yet
        self._opcode = 0  # OP_TEXT or OP_BINARY while a fragmented message is open, else 0
        self._size = 0  # its bytes so far
        self._text: list[str] = []  # its text so far, decoded fragment by fragment
        self._binary: list[bytes] = []
        self._decoder = _utf8_decoder()

    # -- receiving ------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """The events that data completes, in order (none until a frame is whole)."""
        if self._idle:  # the usual case first: data is exactly one small whole message
            length = len(data) - 2
            if 0 <= length < LENGTH_16 and data[1] == length and length <= self.max_size:
                first = data[0]
                if first == WHOLE_TEXT:
                    try:
                        return [data[2:].decode()]
                    except UnicodeDecodeError:
                        pass  # the general path fails the connection
                elif first == WHOLE_BINARY:
                    return [data[2:]]
        return self._split(data)

    def _split(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.ended:
            return events
        buffer = self._buffer + data if self._buffer else data
        position, end = 0, len(buffer)
        while end - position >= 2:
            first = buffer[position]
            opcode = first & OPCODE_BITS
            problem = self._header_problem(first, buffer[position + 1], opcode)
            if problem:
                return self._fail(events, CloseCode.PROTOCOL_ERROR, problem)
            start, length = _payload_span(buffer, position)
            if start < 0:
                break
            if length >= NO_LIMIT:
                return self._fail(events, CloseCode.PROTOCOL_ERROR,
                                  "64-bit payload length with its top bit set")
            if opcode < OP_CLOSE and length + self._size > self.max_size:
                return self._fail(events, CloseCode.MESSAGE_TOO_BIG,
                                  f"message over {self.max_size} bytes")
            stop = start + length
            if stop > end:
                break
            if opcode >= OP_CLOSE:
                events.append(ControlFrame(buffer[position:stop]))
            else:
                event = self._data_frame(opcode, first & FIN, buffer[start:stop])
                if event is not None:
                    events.append(event)
            if opcode == OP_CLOSE or self.ended:
                self._end()
                return events
            position = stop
        self._buffer = buffer[position:] if position < end else b""
        self._idle = not self._buffer and not self._opcode
        return events

    def _header_problem(self, first: int, second: int, opcode: int) -> str:
        """What is wrong with a frame's first two bytes (section 5.2), or ""."""
        if first & RSV_BITS:
            return "reserved bits set (no extension was negotiated)"
        if second & MASK_BIT:
            return "masked frame from the server"
        if opcode >= OP_CLOSE:
            if opcode > OP_PONG:
                return f"reserved opcode {opcode:#x}"
            if not first & FIN:
                return "fragmented control frame"
            if second > MAX_CONTROL_PAYLOAD:
                return "control frame payload over 125 bytes"
        elif opcode > OP_BINARY:
            return f"reserved opcode {opcode:#x}"
        elif opcode == OP_CONT:
            if not self._opcode:
                return "continuation frame with no message to continue"
        elif self._opcode:
            return "new data frame inside a fragmented message"
        return ""

    def _data_frame(self, opcode: int, fin: int, payload: bytes) -> Message | Failure | None:
        """A whole message, a failure, or None while a fragmented message goes on."""
        if opcode != OP_CONT:
            if fin:
                if opcode == OP_BINARY:
                    return payload
                try:
                    return payload.decode()
                except UnicodeDecodeError as exc:
                    return self._invalid_utf8(exc)
            self._opcode = opcode
        self._size += len(payload)
        if self._opcode == OP_TEXT:
            try:  # fragment by fragment: invalid UTF-8 fails as soon as it arrives
                self._text.append(self._decoder.decode(payload, bool(fin)))
            except UnicodeDecodeError as exc:
                return self._invalid_utf8(exc)
        else:
            self._binary.append(payload)
        if not fin:
            return None
        message: Message = "".join(self._text) if self._opcode == OP_TEXT \
            else b"".join(self._binary)
        self._opcode, self._size, self._text, self._binary = 0, 0, [], []
        self._decoder.reset()
        return message

    def _invalid_utf8(self, exc: UnicodeDecodeError) -> Failure:
        self.ended = True
        return Failure(CloseCode.INVALID_DATA, f"invalid UTF-8 in a text message: {exc.reason}")

    def _fail(self, events: list[Event], code: CloseCode, reason: str) -> list[Event]:
        events.append(Failure(code, reason))
        self._end()
        return events

    def _end(self) -> None:
        self.ended, self._idle = True, False
        self._buffer, self._text, self._binary = b"", [], []

    # -- sending --------------------------------------------------------------------------------

    def send_text(self, text: str) -> bytes:
        """One masked text frame carrying text."""
        payload = text.encode()
        mask = _mask_bits(32).to_bytes(4, "little")
        length = len(payload)
        header = bytes((WHOLE_TEXT, MASK_BIT | length)) if length < LENGTH_16 \
            else frame_header(OP_TEXT, length)
        return header + mask + apply_mask(payload, mask)

    def send_binary(self, data: bytes) -> bytes:
        """One masked binary frame carrying data."""
        mask = _mask_bits(32).to_bytes(4, "little")
        length = len(data)
        header = bytes((WHOLE_BINARY, MASK_BIT | length)) if length < LENGTH_16 \
            else frame_header(OP_BINARY, length)
        return header + mask + apply_mask(data, mask)



def _payload_span(buffer: bytes, position: int) -> tuple[int, int]:
    """Where the payload of the frame at position starts, and its length; start is -1 while
    the extended length has not all come."""
    length, start = buffer[position + 1], position + 2
    if length == LENGTH_16:
        if len(buffer) - start < 2:
            return -1, 0
        return start + 2, int.from_bytes(buffer[start:start + 2], "big")
    if length == LENGTH_64:
        if len(buffer) - start < 8:
            return -1, 0
        return start + 8, int.from_bytes(buffer[start:start + 8], "big")
    return start, length
