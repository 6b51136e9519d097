"""RFC 6455 frames by hand, Sans-I/O: what a client sends, valid or not, and what a server sent.

websockets refuses to build a frame that breaks the rules, so the protocol group builds its
own: `WireFrame` holds every field of section 5.2 as it is on the wire (FIN, the three RSV
bits, any of the sixteen opcodes, masked or not, any payload), `encode()` turns it into bytes,
and `FrameReader` splits a server's byte stream back into WireFrames without judging them,
so a failure can show exactly what came. `describe()` writes a frame as a failure shows it.
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from websockets.frames import CloseCode, Opcode

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension ships with websockets' wheels
    from websockets.utils import apply_mask

FIN_BIT, RSV_SHIFT, OPCODE_BITS, MASK_BIT = 0x80, 4, 0x0F, 0x80
RESERVED_DATA_OPCODES = (0x3, 0x4, 0x5, 0x6, 0x7)
RESERVED_CONTROL_OPCODES = (0xB, 0xC, 0xD, 0xE, 0xF)
MAX_CONTROL_PAYLOAD = 125
SHOWN_BYTES = 24  # of a payload, in a description
REPR_BYTES = 130  # in a repr: a control frame's whole payload
OPCODE_NAMES = {int(op): op.name for op in Opcode}


@dataclass(frozen=True, repr=False)
class WireFrame:
    """One frame's fields as they are on the wire (RFC 6455 5.2). rsv: the three RSV bits as
    one number (RSV1 = 4, RSV2 = 2, RSV3 = 1). masked: a client frame is (5.3)."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    masked: bool = True

    @property
    def is_control(self) -> bool:
        return self.opcode >= Opcode.CLOSE

    @property
    def close_code(self) -> int | None:
        """The status code of a close frame with one (two bytes or more), else None."""
        if self.opcode != Opcode.CLOSE or len(self.payload) < 2:
            return None
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code

    @property
    def close_reason(self) -> bytes:
        return self.payload[2:] if self.opcode == Opcode.CLOSE else b""

    def __repr__(self) -> str:  # short, as Hypothesis prints an example's frames
        return f"WireFrame({self.describe(REPR_BYTES)})"

    def describe(self, shown_bytes: int = SHOWN_BYTES) -> str:
        name = OPCODE_NAMES.get(self.opcode, f"opcode {self.opcode:#x}")
        flags = [] if self.fin else ["not fin"]
        if self.rsv:
            flags.append(f"rsv {self.rsv:03b}")
        flags.append("masked" if self.masked else "unmasked")
        if self.opcode == Opcode.CLOSE and self.payload:
            code = self.close_code
            shown = f"code {describe_code(code)}" if code is not None else \
                f"payload {self.payload!r}"
            if self.close_reason:
                shown += f", reason {shorten(self.close_reason, shown_bytes)}"
        else:
            shown = shorten(self.payload, shown_bytes)
        return f"{name} ({', '.join(flags)}) {shown}"


def describe_code(code: int | None) -> str:
    """1002 (protocol error): a close code with websockets' name for it."""
    if code is None:
        return "none"
    try:
        return f"{code} ({CloseCode(code).name.lower().replace('_', ' ')})"
    except ValueError:
        return str(code)


def shorten(payload: bytes, shown_bytes: int = SHOWN_BYTES) -> str:
    if len(payload) <= shown_bytes:
        return f"{payload!r} ({len(payload)} B)"
    return f"{payload[:shown_bytes]!r}... ({len(payload)} B)"


def encode(frame: WireFrame, mask: bytes | None = None) -> bytes:
    """The frame's bytes: the payload length in its shortest form, masked with mask (four
    random bytes unless given) when frame.masked."""
    first = (FIN_BIT if frame.fin else 0) | (frame.rsv << RSV_SHIFT) | frame.opcode
    length = len(frame.payload)
    mask_bit = MASK_BIT if frame.masked else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not frame.masked:
        return head + frame.payload
    mask = mask if mask is not None else os.urandom(4)
    return head + mask + apply_mask(frame.payload, mask)


def encode_all(frames: Iterable[WireFrame]) -> bytes:
    return b"".join(encode(frame) for frame in frames)


def fragments(opcode: int, payload: bytes, cuts: Sequence[int] = ()) -> list[WireFrame]:
    """A message of payload as masked frames, cut at the given offsets (clamped to the
    payload; equal offsets give empty fragments)."""
    bounds = [0, *sorted(min(max(cut, 0), len(payload)) for cut in cuts), len(payload)]
    pieces = [payload[start:stop] for start, stop in itertools.pairwise(bounds)]
    return [WireFrame(opcode if index == 0 else Opcode.CONT, piece,
                      fin=index == len(pieces) - 1) for index, piece in enumerate(pieces)]


def message_frames(message: str | bytes, cuts: Sequence[int] = ()) -> list[WireFrame]:
    if isinstance(message, str):
        return fragments(Opcode.TEXT, message.encode(), cuts)
    return fragments(Opcode.BINARY, message, cuts)


def close_frame(code: int | None = None, reason: bytes = b"") -> WireFrame:
    """A close frame: no payload when code is None, else the code and the reason's bytes."""
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return WireFrame(Opcode.CLOSE, payload)


@dataclass
class FrameReader:
    """A server's frames from its byte stream in chunks of any size; nothing is judged.

    receive(data) returns the frames data completes. A frame longer than max_payload is not
    buffered: `too_long` says so, and no frame comes after it."""

    max_payload: int = 64 * 2**20
    too_long: str = ""
    _buffer: bytearray = field(default_factory=bytearray)

    def receive(self, data: bytes) -> list[WireFrame]:
        if self.too_long:
            return []
        self._buffer += data
        frames: list[WireFrame] = []
        buffer, position = self._buffer, 0
        while len(buffer) - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length, start = second & 0x7F, position + 2
            if length == 126:
                if len(buffer) - start < 2:
                    break
                length, start = struct.unpack_from("!H", buffer, start)[0], start + 2
            elif length == 127:
                if len(buffer) - start < 8:
                    break
                length, start = struct.unpack_from("!Q", buffer, start)[0], start + 8
            masked = bool(second & MASK_BIT)
            if length > self.max_payload:
                self.too_long = f"a frame of {length} bytes (over {self.max_payload})"
                break
            stop = start + (4 if masked else 0) + length
            if stop > len(buffer):
                break
            payload = bytes(buffer[stop - length:stop])
            if masked:
                payload = apply_mask(payload, bytes(buffer[start:start + 4]))
            frames.append(WireFrame(first & OPCODE_BITS, payload, bool(first & FIN_BIT),
                                    (first >> RSV_SHIFT) & 0x7, masked))
            position = stop
        del buffer[:position]
        return frames


def messages_of(frames: Sequence[WireFrame]) -> list[str | bytes]:
    """The data messages in frames, reassembled (text decoded with errors replaced, so that a
    server's bad UTF-8 still shows); a message not finished is left out."""
    messages: list[str | bytes] = []
    opcode, parts = 0, list[bytes]()
    for frame in frames:
        if frame.is_control:
            continue
        if frame.opcode != Opcode.CONT:
            opcode, parts = frame.opcode, []
        parts.append(frame.payload)
        if frame.fin and opcode:
            payload = b"".join(parts)
            messages.append(payload.decode(errors="replace") if opcode == Opcode.TEXT
                            else payload)
            opcode, parts = 0, []
    return messages
