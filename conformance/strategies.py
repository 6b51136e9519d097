"""Hypothesis strategies for what clients send: texts, ids, credentials, paths."""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from hypothesis import strategies as st

LONG_MESSAGE_CHARS = 64 * 1024
WHITESPACE_AND_CONTROLS = "".join(chr(c) for c in range(0x20)) + " \x7f\x85\xa0\u2028\u3000"
COOKIE_OCTETS = "".join(c for c in string.printable[:94] if c not in '",;\\')
ANY_CHARACTER = st.characters(codec="utf-8")
NOT_INT_EXAMPLES = ("bar", "1.5", "1e3", "0x10", "one", "3a", "--1", "NaN")
BURST_MESSAGE_CHARS = (16, 1024, 8192)


def short_texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any short text: empty, whitespace, control characters, non-BMP."""
    return st.one_of(
        st.text(ANY_CHARACTER, max_size=max_size),
        st.text(st.sampled_from(WHITESPACE_AND_CONTROLS), max_size=8),
        st.text(st.characters(min_codepoint=0x10000, codec="utf-8"), min_size=1, max_size=8),
    )


def long_texts() -> st.SearchStrategy[str]:
    """At least 64 Ki characters: a short text repeated."""
    def repeat(unit: str, extra: int) -> str:
        return unit * (LONG_MESSAGE_CHARS // len(unit) + 1 + extra)
    return st.builds(repeat, st.text(ANY_CHARACTER, min_size=1, max_size=6),
                     st.integers(0, 100))


def message_texts() -> st.SearchStrategy[str]:
    return st.one_of(short_texts(), long_texts())


def path_safe_texts() -> st.SearchStrategy[str]:
    """One path segment before URL-encoding: not empty, no '/', not a dot segment."""
    return st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1,
                   max_size=30).filter(lambda s: s not in {".", ".."})


def url_encoded(segment: str) -> str:
    return quote(segment, safe="")


def is_clearly_not_int(text: str) -> bool:
    """True when no integer parser could read text: it holds a letter, a symbol or punctuation."""
    return any(unicodedata.category(c)[0] in "LPS" and c not in "+-_." for c in text)


def non_int_texts() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NOT_INT_EXAMPLES),
                     path_safe_texts().filter(is_clearly_not_int))


def tokens() -> st.SearchStrategy[str]:
    """A query token, possibly empty (an empty token still counts as present)."""
    return st.text(ANY_CHARACTER, max_size=30)


def cookie_values() -> st.SearchStrategy[str]:
    """A `session` cookie value: cookie-octets of RFC 6265, not empty."""
    return st.text(st.sampled_from(COOKIE_OCTETS), min_size=1, max_size=30)


def ints() -> st.SearchStrategy[int]:
    return st.integers()


FOREIGN_SUFFIXES = ("example", "example.com", "test", "invalid")
LOOKALIKE_ORIGINS = ("null", "http://127.0.0.1.attacker.example", "http://localhost.example",
                     "https://attacker.example:8000")


def foreign_origins() -> st.SearchStrategy[str]:
    """A browser Origin of another site, never a loopback one: names under reserved domains,
    `null` (sandboxed frames, file: pages) and look-alikes of loopback origins."""
    label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
    port = st.one_of(st.none(), st.integers(1, 65535))
    return st.one_of(
        st.sampled_from(LOOKALIKE_ORIGINS),
        st.builds(lambda scheme, name, suffix, port: f"{scheme}://{name}.{suffix}"
                  + (f":{port}" if port is not None else ""),
                  st.sampled_from(["http", "https"]), label, st.sampled_from(FOREIGN_SUFFIXES),
                  port))


@dataclass(frozen=True)
class Drop:
    """A client that sends `sent` messages, reads until `heard` arrived, then drops TCP."""

    sent: int
    heard: int


@dataclass(frozen=True)
class DropPlan:
    """A room where every client bursts `messages` texts of `chars` characters, but the
    clients in `drops` (by index) drop their TCP connection part of the way."""

    room: int
    messages: int
    chars: int
    drops: dict[int, Drop]


@st.composite
def drop_plans(draw: st.DrawFn, max_room: int = 8, max_messages: int = 40) -> DropPlan:
    """Rooms of 3 to max_room clients of which 1 to all but 2 drop, each at its own point."""
    room = draw(st.integers(3, max_room))
    messages = draw(st.integers(1, max_messages))
    droppers = draw(st.sets(st.integers(0, room - 1), min_size=1, max_size=room - 2))
    drops = {d: Drop(draw(st.integers(0, messages)), draw(st.integers(0, 2 * messages)))
             for d in sorted(droppers)}
    return DropPlan(room, messages, draw(st.sampled_from(BURST_MESSAGE_CHARS)), drops)


# -- RFC 6455 frames (the protocol group) ---------------------------------------------------------

MIB = 2**20
MAX_FRAGMENTS = 64  # of one message: enough to cut anywhere, far below any server's cap
# Byte sequences that are not UTF-8 wherever they stand in a text (before another character or
# at the end), RFC 3629 and RFC 6455 8.1.
INVALID_UTF8 = (
    b"\xff",  # never in UTF-8
    b"\x80",  # a continuation byte with no lead
    b"\xc0\xaf",  # an overlong form of "/"
    b"\xe0\x80\xaf",  # another overlong form of "/"
    b"\xed\xa0\x80",  # a UTF-16 surrogate, U+D800
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xf8\x88\x80\x80\x80",  # a five-byte form
    b"\xe2\x82",  # a three-byte character cut short
)
RESERVED_CODES_1000 = (1004, 1005, 1006, 1015)  # reserved or never sent in a close frame
VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011)  # RFC 6455 7.4.1


@dataclass(frozen=True)
class Repeated:
    """A message to send: unit repeated to size bytes (text: whole characters, so about
    size), text if unit is str. Its repr stays short however large the message, so that a
    failing example of several MiB prints in one line."""

    unit: str | bytes
    size: int

    @property
    def message(self) -> str | bytes:
        if not self.unit:
            return self.unit
        if isinstance(self.unit, str):
            return self.unit * max(1, self.size // len(self.unit.encode()))
        return (self.unit * (self.size // len(self.unit) + 1))[:self.size]

    def __repr__(self) -> str:
        return f"Repeated({self.unit!r}, size={self.size})"


def whole(message: str | bytes) -> Repeated:
    """A message as itself (unit repeated once)."""
    return Repeated(message, len(message.encode() if isinstance(message, str) else message))


def frame_messages(max_size: int = 6 * MIB) -> st.SearchStrategy[Repeated]:
    """Text or binary messages from empty to several MiB (every payload length form: 7, 16
    and 64 bits); large ones are a short unit repeated, so drawing them stays cheap."""
    sizes = st.one_of(st.integers(126, 70_000), st.integers(MIB, max_size))
    return st.one_of(
        short_texts().map(whole),
        st.binary(max_size=300).map(whole),
        st.builds(Repeated, st.text(ANY_CHARACTER, min_size=1, max_size=6), sizes),
        st.builds(Repeated, st.binary(min_size=1, max_size=6), sizes),
    )


@st.composite
def cuts(draw: st.DrawFn, size: int) -> list[int]:
    """Where to cut a payload of size bytes into fragments: at any points (empty fragments
    too), or into equal pieces; at most MAX_FRAGMENTS fragments."""
    if draw(st.booleans()):
        return draw(st.lists(st.integers(0, size), max_size=16))
    pieces = draw(st.integers(1, MAX_FRAGMENTS))
    return [size * index // pieces for index in range(1, pieces)]


def at_character_boundaries(payload: bytes, offsets: list[int]) -> list[int]:
    """Each offset moved forward to the next start of a UTF-8 character (or the end)."""
    moved = []
    for offset in offsets:
        at = offset
        while at < len(payload) and payload[at] & 0xC0 == 0x80:  # at most 3 bytes on
            at += 1
        moved.append(at)
    return moved


def ping_payloads() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=125)


def valid_close_codes() -> st.SearchStrategy[int]:
    """Codes a close frame may carry: RFC 6455's own (7.4.1) and those for libraries,
    frameworks and applications (3000-4999, 7.4.2)."""
    return st.one_of(st.sampled_from(VALID_CLOSE_CODES), st.integers(3000, 4999))


def invalid_close_codes() -> st.SearchStrategy[int]:
    """Codes no close frame may carry (RFC 6455 7.4.1, 7.4.2): below 1000, reserved or never
    sent (1004-1006, 1015), unassigned (1016-2999), and 5000 and above."""
    return st.one_of(st.integers(0, 999), st.sampled_from(RESERVED_CODES_1000),
                     st.integers(1016, 2999), st.integers(5000, 65535))


def close_reasons() -> st.SearchStrategy[bytes]:
    """A close reason: UTF-8 of at most 123 bytes (125 less the code)."""
    return st.text(ANY_CHARACTER, max_size=30).map(str.encode).filter(lambda r: len(r) <= 123)
