"""ChatUser: the chat room on /ws/{client_id}, measuring broadcast fan-out.

Each message carries an id, `<machine>.<process>.<user>|<sequence>|<send time>`, the send
time in ns of the machine's monotonic clock. Each copy (`Client #N says: ...`) that another
connection receives on the same machine, in this process or another (`--processes`), is
timed against it: the fan-out delay. Copies sent from another machine are counted as
received but not timed (its clock is not ours). The sender's own `You wrote: ...` reply is
its round trip.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import gevent
from gevent.event import Event
from locust import task

from loadtests._recorder import RECORDER
from loadtests._wsclient import Connection, WsClosed, WsError, WsTimeout
from loadtests.ws_user import WebSocketUser, WrongContent, WsFailure, now_ns

NAME = "/ws/{client_id}"
SAYS = " says: "
YOU_WROTE = "You wrote: "
LEFT = " left the chat"
LISTEN_TIMEOUT_S = 1.0

_user_numbers = itertools.count(1)


def _machine() -> str:
    """Who shares our monotonic clock: this boot of this machine (Linux), else this process."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return f"p{os.getpid()}"


MACHINE = _machine()


class ChatUser(WebSocketUser):
    """Joins the room with --chat-room-size connections, speaks on the first, listens on all.

    When any of its connections closes, the user leaves the room (closing the others) and
    joins again on its next message, after the backoff of a lost connection.
    """

    reads_while_idle = False  # every connection has its reader, which answers the pings

    def on_start(self) -> None:
        number = next(_user_numbers)
        self.tag = f"{MACHINE}.{os.getpid()}.{number}"
        self.sequence = 0
        self.filler = "c" * self.settings.message_size
        self.reply = Event()
        self.awaiting = ""
        self.reply_ns = 0
        self.stopping = False
        self.lost: Connection | None = None  # a connection of the room that closed
        self.fanout = RECORDER.samples("fanout", NAME)
        self.first_id = (os.getpid() % 100_000) * 100_000 + number * self.settings.chat_room_size
        self.speaker: Connection | None = None
        self.readers: list[gevent.Greenlet] = []

    def join(self) -> Connection:
        """Open the user's connections to the room, each with its reader; all or none."""
        self.leave()
        try:
            for offset in range(self.settings.chat_room_size):
                connection = self.connect(f"/ws/{self.first_id + offset}", name=NAME)
                self.speaker = self.speaker or connection
                self.readers.append(
                    gevent.spawn(self.listen, connection, connection is self.speaker))
        except BaseException:
            self.leave()
            raise
        assert self.speaker is not None
        return self.speaker

    def leave(self) -> None:
        """Stop the readers and close every connection (those still open close normally)."""
        readers, self.readers = self.readers, []
        gevent.killall(readers, block=True, timeout=2.0)
        for connection in list(self._connections):
            self.close(connection)
        self.speaker, self.lost = None, None

    @task
    def speak(self) -> None:
        speaker = self.speaker if self.speaker is not None and self.lost is None else self.join()
        self.sequence += 1
        started = self.round_trip_start()  # the copies' fan-out counts from here too
        key = f"{self.tag}|{self.sequence}|{started}"
        self.awaiting = key
        self.reply_ns = 0
        self.reply.clear()
        try:
            self.send(speaker, f"{key} {self.filler}", name=NAME)
        except WsFailure:
            self.lost = self.lost or speaker
            raise
        self.reply.wait(self.settings.ws_timeout)
        if not self.reply_ns:
            lost = self.lost
            self.fail("rtt", NAME, WsClosed(lost.close_code, "the room's connection closed")
                      if lost is not None else
                      WsTimeout("no 'You wrote' reply within the timeout"), started)
        RECORDER.samples("rtt", NAME).append(self.reply_ns - started)
        self.pace()

    def listen(self, connection: Connection, speaker: bool) -> None:
        """Read every message of one connection until it closes or the user stops; a close
        marks the room lost (and wakes a speaker waiting for its reply), so the user joins again."""
        fanout, tag = self.fanout, self.tag
        while not self.stopping:
            try:
                message = connection.recv(LISTEN_TIMEOUT_S)
            except WsTimeout:
                continue
            except WsError as exc:
                if not self.stopping:
                    self.report_failure("fanout", NAME, exc, now_ns())
                    self.lost = self.lost or connection
                    if speaker:
                        self.reply.set()
                return
            received = now_ns()
            RECORDER.received += 1
            if not isinstance(message, str):
                self.report_failure("fanout", NAME, WrongContent("binary message"), received)
                continue
            if message.startswith("Client #"):
                _, says, said = message.partition(SAYS)
                if says:
                    sender, _, sequence_and_time = said.split(" ", 1)[0].partition("|")
                    sent = sequence_and_time.partition("|")[2]
                    if (sender.startswith(MACHINE + ".") and sent.isdigit()
                            and not (speaker and sender == tag)):
                        fanout.append(received - int(sent))
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
