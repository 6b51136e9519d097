"""The hardening group's rules: robustness and security beyond the documented protocol.

The contract (spec.py) says what a conforming server sends; these say how it must behave
when clients misbehave, leave, crowd in, or come from another site. RFC 6455 sections are
named where a rule comes from there.
"""

from __future__ import annotations

HARDENING_RULES: dict[str, str] = {
    "hardening.binary-close": "a binary message on a text-only socket closes its sender with a "
    "close frame (any code), never a dropped connection",
    "hardening.binary-room": "after a chat member sends binary data, every other member gets its "
    "`left the chat` exactly once and every later broadcast",
    "hardening.cross-site": "a handshake that carries the session cookie and a foreign Origin is "
    "refused like missing credentials (HTTP 403 on the wire): no cross-site WebSocket hijacking",
    "hardening.allowed-origin": "the session cookie from the target's own origin, and a query "
    "token from any origin, are accepted as the protocol says",
    "hardening.message-too-big": "a message over the server's size limit is refused with close "
    "code 1009 (message too big)",
    "hardening.ping-timeout": "a client that never answers the server's pings is closed with "
    "close code 1011 within the ping interval plus the ping timeout",
    "hardening.shutdown": "a graceful server shutdown closes every connected client with close "
    "code 1012 (service restart)",
    "hardening.slow-handshake": "a TCP connection that never finishes its upgrade request is "
    "closed within a bounded time (--handshake-timeout-s)",
    "hardening.handshake-key": "a handshake without a Sec-WebSocket-Key, or with one that is not "
    "16 bytes in base64, gets an HTTP 4xx error, and the server keeps serving (RFC 6455 4.2.1)",
    "hardening.handshake-version": "a handshake with a Sec-WebSocket-Version other than 13 gets an "
    "HTTP 4xx error (426 Upgrade Required) with a Sec-WebSocket-Version header listing 13, and "
    "the server keeps serving (RFC 6455 4.2.2, 4.4)",
    "hardening.handshake-method": "an upgrade request whose method is not GET gets an HTTP 4xx "
    "error, and the server keeps serving (RFC 6455 4.1, 4.2.1)",
    "hardening.handshake-headers": "an upgrade request with oversized headers gets an HTTP 4xx "
    "error (such as 431), and the server keeps serving",
    "hardening.close-logged": "a normal client close (1000 or 1001) on any socket is never logged "
    "as an exception or error by the server",
    "hardening.churn-departures": "through thousands of connects and disconnects, clean and "
    "abrupt, every departure from the chat is announced to the members exactly once",
    "hardening.churn-recovery": "after thousands of connects and disconnects the chat still "
    "works: a new member's message reaches everyone",
}
