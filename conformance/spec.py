"""The protocol of PROTOCOL.md: its rules by name, and the messages a conforming server sends."""

from __future__ import annotations

from typing import NamedTuple

from conformance.hardening_rules import HARDENING_RULES
from conformance.rfc6455_rules import RFC6455_RULES

RULES: dict[str, str] = {
    "echo.reply": "for every text message m on /ws, exactly one reply `Message text was: m`",
    "echo.order": "/ws replies come in the order the messages were sent",
    "echo.isolation": "a /ws connection gets only the replies to its own messages",
    "echo.long-connection": "one /ws connection answers thousands of messages, pipelined or in "
    "lock-step, each with its one right reply, in order",
    "items.refuse-without-credentials": "neither cookie `session` nor query `token`: refused "
    "before accept (close 1008 in-process, HTTP 403 on the wire)",
    "items.refuse-non-int-q": "a non-int `q` is refused before accept (1008 in-process, 403 on "
    "the wire)",
    "items.token": "query `token` only: the value shown is the token",
    "items.cookie": "cookie `session` only: the value shown is the cookie",
    "items.cookie-wins": "both cookie `session` and query `token`: the cookie wins",
    "items.empty-token": "an empty `?token=` counts as present: the value shown is ''",
    "items.q-int": "with an int `q`, `Query parameter q is: {q}` comes second",
    "items.replies": "for every message m: the value reply, the q reply (only when q was given), "
    "`Message text was: {m}, for item ID: {item_id}`, in that order, and no others",
    "chat.refuse-non-int-id": "a non-int client_id on /ws/{client_id} is refused before accept "
    "(1008 in-process, 403 on the wire)",
    "chat.join": "any int client_id is accepted, duplicates too",
    "chat.personal-reply": "the sender of m first gets `You wrote: m`",
    "chat.broadcast": "every connected client, the sender included, gets `Client #N says: m` "
    "exactly once",
    "chat.order": "messages from one sender reach each receiver in the order sent",
    "chat.left": "when client N disconnects, every remaining client gets `Client #N left the "
    "chat` exactly once, after N's messages",
    "chat.no-loss": "a client that keeps reading gets every message meant for it, exactly once "
    "and in each sender's order, however bursty the room: a burst never drops a message or "
    "closes it",
    "chat.stall-close": "a client that reads nothing for the stall limit (WSHARNESS_STALL_S, "
    "--stall-s) while messages wait for it is closed with 1013 in a real close frame, after a "
    "prefix of its messages in each sender's order, and leaves the room; the others' delivery "
    "continues",
    **HARDENING_RULES,
    **RFC6455_RULES,
}


class Expected(NamedTuple):
    """One message a conforming server sends, and the rule that demands it."""

    text: str
    rule: str


def echo_reply(message: str) -> Expected:
    return Expected(f"Message text was: {message}", "echo.reply")


def items_replies(value: str, q: int | None, message: str, item_id: str,
                  value_rule: str) -> list[Expected]:
    replies = [Expected(f"Session cookie or query token value is: {value}", value_rule)]
    if q is not None:
        replies.append(Expected(f"Query parameter q is: {q}", "items.q-int"))
    replies.append(Expected(f"Message text was: {message}, for item ID: {item_id}",
                            "items.replies"))
    return replies


def personal_reply(message: str) -> Expected:
    return Expected(f"You wrote: {message}", "chat.personal-reply")


def says(client_id: int, message: str) -> Expected:
    return Expected(f"Client #{client_id} says: {message}", "chat.broadcast")


def left(client_id: int) -> Expected:
    return Expected(f"Client #{client_id} left the chat", "chat.left")


def chat_rule_of(text: str) -> str:
    """The rule an unexpected chat message falls under, judged by its shape."""
    if text.startswith("You wrote: "):
        return "chat.personal-reply"
    if text.endswith(" left the chat"):
        return "chat.left"
    return "chat.broadcast"
