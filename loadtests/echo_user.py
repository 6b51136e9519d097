"""EchoUser: round trips on /ws, each reply checked (`Message text was: m`); with --payload, on
the echo endpoint /raw instead, text, binary or JSON messages each checked to come back
unchanged."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from locust import task

from loadtests._wsclient import Connection, Message
from loadtests.ws_user import WebSocketUser, WsFailure

PATH = "/ws"
RAW_PATH = "/raw"
ROUND_TRIPS_PER_TASK = 100  # fewer task iterations: Locust's own cost per iteration stays off
SEQUENCE_BYTES = 8


@functools.cache
def binary_filler(size: int) -> bytes:
    """size bytes of 0x80-0xFF: never valid UTF-8, so no layer can mistake it for text."""
    return (bytes(range(0x80, 0x100)) * (size // 128 + 1))[:size]


def text_message(sequence: int, size: int) -> str:
    """Unique, size characters or longer."""
    return str(sequence).rjust(size, "x")


def binary_message(sequence: int, size: int) -> bytes:
    """Filler, then the sequence number in 8 bytes: size bytes (9 at least), unique, and never
    UTF-8 (it starts with 0x80, a continuation byte)."""
    return binary_filler(max(size - SEQUENCE_BYTES, 1)) + sequence.to_bytes(SEQUENCE_BYTES, "big")


def json_message(sequence: int, size: int) -> str:
    """A JSON object `{"seq": n, "pad": "xx..."}` of size bytes or longer, unique."""
    bare = len(json.dumps({"seq": sequence, "pad": ""}))
    return json.dumps({"seq": sequence, "pad": "x" * max(size - bare, 0)})


MESSAGES: dict[str, Callable[[int, int], Message]] = {
    "text": text_message, "binary": binary_message, "json": json_message}


class EchoUser(WebSocketUser):
    """Sends --message-size messages on one connection and checks every echo: text to /ws, or
    with --payload text, binary or json to /raw."""

    connection: Connection | None = None
    sequence = 0

    @task
    def echo(self) -> None:
        payload = self.settings.payload
        path = RAW_PATH if payload else PATH
        make = MESSAGES.get(payload, text_message)
        connection = self.connection or self.connect(path)
        self.connection = connection
        size = self.settings.message_size
        try:
            for _ in range(ROUND_TRIPS_PER_TASK):
                self.sequence += 1
                if payload:
                    message = make(self.sequence, size)
                    self.request(connection, message, name=path, expect=message)
                else:
                    text = text_message(self.sequence, size)
                    self.request(connection, text, name=path, expect="Message text was: " + text)
                self.pace()
        except WsFailure:
            self.connection = None
            self.close(connection)
            raise
