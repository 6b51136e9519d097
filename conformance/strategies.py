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
