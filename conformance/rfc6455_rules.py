"""The protocol group's rules (`-m protocol`): what RFC 6455 demands of a server's framing, each
with the section it comes from. A failure names its rule like the contract's do.

"Fails the connection with C" (7.1.7): the server sends no reply to the offending frame, then
a close frame with status code C, and closes the TCP connection. The close frame is a SHOULD
in 7.1.7, so a server that drops the TCP connection without one passes too, unless the run
says --require-close-frame; a close frame with another code never passes.
"""

from __future__ import annotations

RFC6455_RULES: dict[str, str] = {
    "rfc6455.fragmentation": "any split of a text or binary message into fragments echoes the "
    "same message on /raw (RFC 6455 5.4)",
    "rfc6455.ping-between-fragments": "a ping between the fragments of a message is answered "
    "with a pong of its payload, and the message is still reassembled (RFC 6455 5.4, 5.5.2)",
    "rfc6455.utf8-invalid": "a text message that is not valid UTF-8, in one frame or split "
    "across fragments, fails the connection with 1007 (RFC 6455 8.1, 5.6, 7.4.1)",
    "rfc6455.utf8-valid": "valid UTF-8 split across fragments anywhere, inside a character too, "
    "is accepted and echoed (RFC 6455 5.6, 8.1)",
    "rfc6455.reserved-bits": "a frame with an RSV bit set, no extension negotiated, fails the "
    "connection with 1002 (RFC 6455 5.2)",
    "rfc6455.reserved-opcode": "a frame with a reserved opcode (0x3-0x7, 0xB-0xF) fails the "
    "connection with 1002 (RFC 6455 5.2)",
    "rfc6455.unmasked-frame": "an unmasked frame from the client fails the connection with 1002 "
    "(RFC 6455 5.1, 5.3)",
    "rfc6455.control-too-long": "a control frame with a payload over 125 bytes fails the "
    "connection with 1002 (RFC 6455 5.5)",
    "rfc6455.control-fragmented": "a fragmented control frame (FIN not set) fails the connection "
    "with 1002 (RFC 6455 5.5)",
    "rfc6455.continuation-without-start": "a continuation frame with no message started fails "
    "the connection with 1002 (RFC 6455 5.4)",
    "rfc6455.data-inside-fragmented": "a new text or binary frame inside a fragmented message "
    "fails the connection with 1002 (RFC 6455 5.4)",
    "rfc6455.ping-pong": "a ping is answered by a pong with the same payload, byte for byte "
    "(RFC 6455 5.5.2, 5.5.3)",
    "rfc6455.unsolicited-pong": "an unsolicited pong is ignored: no answer, and the connection "
    "goes on (RFC 6455 5.5.3)",
    "rfc6455.close-reply": "a close frame with a valid status code (or none) is answered with a "
    "close frame (the same code, or 1000; none for none), and the server then closes the TCP "
    "connection (RFC 6455 5.5.1, 7.4)",
    "rfc6455.close-invalid-code": "a close frame with an invalid status code (0-999, 1004-1006, "
    "1015, 1016-2999 unassigned, 5000 and above) or a one-byte body fails the connection "
    "with 1002 (RFC 6455 5.5.1, 7.4.1, 7.4.2)",
    "rfc6455.close-invalid-reason": "a close frame whose reason is not UTF-8 fails the "
    "connection, with 1007 or 1002 (RFC 6455 5.5.1, 8.1)",
    "rfc6455.nothing-after-close": "the server sends nothing after its close frame (RFC 6455 "
    "5.5.1)",
}
