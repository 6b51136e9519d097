"""The stall limit a chat server learns from its environment (PROTOCOL.md, Delivery): a
client that reads nothing for WSHARNESS_STALL_S seconds (default 5) while messages wait for
it is closed with 1013. The suite passes it to the server it starts (--stall-s)."""

from __future__ import annotations

from wsharness.argtypes import from_env, positive_float

STALL_ENV = "WSHARNESS_STALL_S"
DEFAULT_STALL_S = 5.0


def stall_s() -> float:
    """This process's stall limit in seconds; ValueError (one line) unless a positive number."""
    return from_env(STALL_ENV, positive_float, DEFAULT_STALL_S)
