"""ChatUser: the chat room on /ws/{client_id}, measuring broadcast fan-out.

Each message carries an id (`<process>.<user>|<sequence>`). The sender notes when it sent
it; each copy (`Client #N says: ...`) that another connection of this process receives is
timed against that note: the fan-out delay. Copies of messages sent by other processes
are counted as received but not timed (their clocks are not ours). The sender's own
`You wrote: ...` reply is its round trip.
"""

from __future__ import annotations

import collections
import itertools
import os

import gevent
from gevent.event import Event
from locust import task

from loadtests._recorder import RECORDER
from loadtests._wsclient import Connection, WsError, WsTimeout
from loadtests.ws_user import WebSocketUser, WrongContent, now_ns

NAME = "/ws/{client_id}"
SAYS = " says: "
YOU_WROTE = "You wrote: "
LEFT = " left the chat"
LISTEN_TIMEOUT_S = 1.0

_user_numbers = itertools.count(1)
_sent_at: collections.OrderedDict[str, int] = collections.OrderedDict()  # id -> send time (ns)


def _forget_older_than(limit_ns: int) -> None:
    while _sent_at:
        key, sent = next(iter(_sent_at.items()))
        if sent >= limit_ns:
            return
        del _sent_at[key]


class ChatUser(WebSocketUser):
    """Joins the room with --chat-room-size connections, speaks on the first, listens on all."""

    def on_start(self) -> None:
        number = next(_user_numbers)
        self.tag = f"{os.getpid()}.{number}"
        self.sequence = 0
        self.filler = "c" * self.settings.message_size
        self.reply = Event()
        self.awaiting = ""
        self.reply_ns = 0
        self.stopping = False
        self.fanout = RECORDER.samples("fanout", NAME)
        first_id = (os.getpid() % 100_000) * 100_000 + number * self.settings.chat_room_size
        self.speaker: Connection | None = None
        self.readers: list[gevent.Greenlet] = []
        for offset in range(self.settings.chat_room_size):
            connection = self.connect(f"/ws/{first_id + offset}", name=NAME)
            self.speaker = self.speaker or connection
            self.readers.append(gevent.spawn(self.listen, connection, connection is self.speaker))

    @task
    def speak(self) -> None:
        if self.speaker is None:
            return
        self.sequence += 1
        key = f"{self.tag}|{self.sequence}"
        text = f"{key} {self.filler}"
        self.awaiting = key
        self.reply.clear()
        started = self.round_trip_start()  # the copies' fan-out counts from here too
        _forget_older_than(started - int(2e9 * self.settings.ws_timeout))
        _sent_at[key] = started
        self.send(self.speaker, text, name=NAME)
        if not self.reply.wait(self.settings.ws_timeout):
            self.fail("rtt", NAME, WsTimeout("no 'You wrote' reply within the timeout"), started)
        RECORDER.samples("rtt", NAME).append(self.reply_ns - started)
        self.pace()

    def listen(self, connection: Connection, speaker: bool) -> None:
        """Read every message of one connection until it closes or the user stops."""
        fanout, tag = self.fanout, self.tag
        while not self.stopping:
            try:
                message = connection.recv(LISTEN_TIMEOUT_S)
            except WsTimeout:
                continue
            except WsError as exc:
                if not self.stopping:
                    self.report_failure("fanout", NAME, exc, now_ns())
                return
            received = now_ns()
            RECORDER.received += 1
            if not isinstance(message, str):
                self.report_failure("fanout", NAME, WrongContent("binary message"), received)
                continue
            if message.startswith("Client #"):
                _, says, said = message.partition(SAYS)
                if says:
                    key = said.split(" ", 1)[0]
                    sent = _sent_at.get(key)
                    if sent is not None and not (speaker and key.startswith(tag + "|")):
                        fanout.append(received - sent)
                    continue
                if message.endswith(LEFT):
                    continue
            elif speaker and message.startswith(YOU_WROTE):
                if message[len(YOU_WROTE):].split(" ", 1)[0] == self.awaiting:
                    self.reply_ns = received
                    self.reply.set()
                continue
            self.report_failure("fanout", NAME, WrongContent(f"unexpected {message[:60]!r}"),
                                received)

    def on_stop(self) -> None:
        self.stopping = True
        gevent.killall(self.readers, block=True, timeout=2.0)
        super().on_stop()

