"""WebSocketUser: the abstract Locust user that scenario writers build on.

Every operation is reported to Locust under a type (WS CONNECT, WS SEND, WS RECV, WS RTT)
and a name (the path template by default). Successes are recorded into HDR histograms and
fed to Locust's statistics in batches; a failure (timeout, wrong content, unexpected close
with its code, refused handshake) is reported at once and ends the task iteration by
raising WsFailure, which scenario code may catch.

A user whose connection closed or whose connect failed backs off before it connects again:
capped exponential backoff with jitter (Backoff), waited between task iterations and before
the next connect, so a dead target costs each user at most one error a second once the
first few quick retries are spent. At most --max-connecting connects are under way at once in
a process; the others wait their turn (not timed), so a burst of users cannot overflow the
server's listen backlog.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, cast
from urllib.parse import urlencode

import gevent
import gevent.lock
from locust import User
from locust.exception import RescheduleTask, StopUser

from loadtests import _run, _webui  # noqa: F401  (register the run's and web UI's listeners)
from loadtests._backoff import Backoff
from loadtests._options import Settings
from loadtests._recorder import LOCUST_TYPES, RECORDER
from loadtests._sources import SourceAddresses
from loadtests._target import HOST_OPTION, check_allowed
from loadtests._wsclient import Connection, HandshakeRefused, Message, WsClosed, WsError
from wsharness.target import TargetError, ws_base

Expect = str | bytes | Callable[[Message], bool] | None
now_ns = time.perf_counter_ns
MAX_CATCH_UP_NS = 1_000_000_000  # a user more than 1 s behind its rate skips messages


@functools.cache
def _sources(spec: str) -> SourceAddresses:
    """This process's turn through the --source-addresses (one for every user)."""
    return SourceAddresses(spec)


@functools.cache
def _connecting(limit: int) -> contextlib.AbstractContextManager[Any]:
    """This process's turns to connect (--max-connecting; 0: no limit)."""
    return gevent.lock.BoundedSemaphore(limit) if limit else contextlib.nullcontext()


class WrongContent(WsError):
    kind = "wrong_content"


class UnexpectedAccept(WsError):
    kind = "unexpected_accept"


class BadTarget(WsError):
    kind = "bad_target"


class WsFailure(RescheduleTask):
    """A reported failure; uncaught, it ends the current task iteration quietly."""

    def __init__(self, error: WsError) -> None:
        super().__init__(str(error))
        self.error = error


class WebSocketUser(User):
    abstract = True
    insecure = False  # True: wss:// without checking the server's certificate (as HttpUser)
    # while pacing, the user's one connection is read (pings answered at once); a user whose
    # connections have readers of their own (ChatUser) sets False
    reads_while_idle = True

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.settings = Settings.from_options(environment.parsed_options)
        self.target_error = ""
        try:
            self.base_url = ws_base(self.host or environment.host or "", HOST_OPTION)
        except TargetError as exc:  # a host typed into the web UI: every connect fails
            self.base_url, self.target_error = "", str(exc)
        self.messages_left = self.settings.max_messages
        self._next_send_ns = 0  # when the next message is due, per --message-rate
        self._late_since_ns = 0  # when the message about to go was due, if it is late
        self._connections: list[Connection] = []
        self._backoff = Backoff()
        self._retry_at_s = 0.0  # monotonic time before which this user does not connect again
        self._failed_at_s = 0.0  # the last connection loss, and messages_left then
        self._left_at_failure = self.messages_left
        self._sources = _sources(self.settings.source_addresses)

    def wait_time(self) -> float:
        """Between task iterations: no pause (pacing is per message, see pace()), unless the
        user is backing off after losing its connection."""
        if not self._retry_at_s:
            return 0.0
        pause = self._retry_at_s - time.monotonic()
        if pause <= 0:
            self._retry_at_s = 0.0
        return max(pause, 0.0)

    # -- operations -------------------------------------------------------------------------

    def connect(self, path: str, *, query: dict[str, Any] | None = None,
                cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                origin: str | None = None, name: str | None = None) -> Connection:
        """Open a connection to path on the target; reported as WS CONNECT."""
        name = name or path
        if self._retry_at_s:
            gevent.sleep(self.wait_time())
        url = self._url(path, query, name)
        self._late_since_ns = 0  # a round trip on the new connection counts from its send
        with _connecting(self.settings.max_connecting):
            started = now_ns()
            try:
                connection = Connection.open(
                    url, timeout_s=self.settings.ws_timeout, headers=headers, cookies=cookies,
                    origin=origin, verify_tls=not self.insecure, on_end=RECORDER.closed,
                    source_address=self._sources.next())
            except WsError as exc:
                self.fail("connect", name, exc, started)
        RECORDER.samples("connect", name).append(now_ns() - started)
        RECORDER.opened()
        self._connections.append(connection)
        return connection

    def connect_refused(self, path: str, *, query: dict[str, Any] | None = None,
                        name: str | None = None) -> int:
        """Expect the handshake to be refused; return the HTTP status (or close code) seen."""
        name = name or path
        url = self._url(path, query, name)
        with _connecting(self.settings.max_connecting):
            started = now_ns()
            try:
                connection = Connection.open(url, timeout_s=self.settings.ws_timeout,
                                             verify_tls=not self.insecure,
                                             on_end=RECORDER.closed,
                                             source_address=self._sources.next())
                RECORDER.opened()
            except HandshakeRefused as exc:
                RECORDER.samples("connect", name).append(now_ns() - started)
                return exc.status
            except WsError as exc:
                self.fail("connect", name, exc, started)
        try:  # a refusal right after accepting is still a refusal
            connection.recv(self.settings.ws_timeout)
        except WsClosed as exc:
            RECORDER.samples("connect", name).append(now_ns() - started)
            return exc.code
        except WsError:
            pass
        connection.close(timeout_s=0.5)
        self.fail("connect", name, UnexpectedAccept("connected without credentials"), started)

    def _url(self, path: str, query: dict[str, Any] | None, name: str) -> str:
        """The URL of path on the target, never another host; a connect failure without one."""
        if not self.base_url:
            self.fail("connect", name, BadTarget(self.target_error), now_ns())
        url = self.base_url + path + (f"?{urlencode(query)}" if query else "")
        check_allowed(url, self.base_url)
        return url

    def send(self, connection: Connection, message: Message | dict[str, Any] | list[Any], *,
             name: str = "send") -> None:
        """Send a text, binary or JSON (dict or list) message; reported as WS SEND."""
        started = now_ns()
        try:
            if isinstance(message, str):
                connection.send_text(message)
            elif isinstance(message, bytes):
                connection.send_binary(message)
            else:
                connection.send_text(json.dumps(message))
        except WsError as exc:
            self.fail("send", name, exc, started)
        RECORDER.sent += 1
        RECORDER.samples("send", name).append(now_ns() - started)

    def receive(self, connection: Connection, *, name: str = "recv",
                timeout_s: float | None = None) -> Message:
        """The next message within the timeout; reported as WS RECV (time spent waiting)."""
        started = now_ns()
        try:
            message = connection.recv(timeout_s or self.settings.ws_timeout)
        except WsError as exc:
            self.fail("recv", name, exc, started)
        RECORDER.received += 1
        RECORDER.samples("recv", name).append(now_ns() - started)
        return message

    def receive_json(self, connection: Connection, *, name: str = "recv") -> Any:
        message = self.receive(connection, name=name)
        try:
            return json.loads(message)
        except ValueError:
            self.fail("recv", name, WrongContent(f"not JSON: {message[:60]!r}"), now_ns())

    def request(self, connection: Connection, message: Message, *, name: str,
                expect: Expect | Sequence[Expect] = None) -> list[Message]:
        """Send, then receive one reply per expectation; reported as WS RTT (to the last reply).

        An expectation is the exact reply, a predicate, or None (anything). Wrong content,
        a timeout or a close fail the request.
        """
        timeout_s = self.settings.ws_timeout
        expectations: Sequence[Expect] = (
            expect if isinstance(expect, (list, tuple)) else (cast(Expect, expect),))
        recorder = RECORDER
        started = self.round_trip_start()
        try:
            if isinstance(message, str):
                connection.send_text(message)
            else:
                connection.send_binary(message)
            recorder.sent += 1
            replies = []
            for expected in expectations:
                reply = connection.recv(timeout_s)
                recorder.received += 1
                if reply != expected and expected is not None and (
                        isinstance(expected, str | bytes) or not expected(reply)):
                    raise WrongContent(f"unexpected reply {_short(reply)}")
                replies.append(reply)
        except WsError as exc:
            self.fail("rtt", name, exc, started)
        recorder.samples("rtt", name).append(now_ns() - started)
        return replies

    def close(self, connection: Connection) -> int:
        """Close normally; return the close code the connection ended with (counted once)."""
        code = connection.close(timeout_s=min(self.settings.ws_timeout, 2.0))
        if connection in self._connections:
            self._connections.remove(connection)
        return code

    # -- pacing, bounds and failures --------------------------------------------------------

    def pace(self) -> None:
        """Count one message against --max-messages, then wait: --think-time if given, else
        until the next message is due at --message-rate."""
        self.messages_left -= 1
        if self.messages_left <= 0:
            raise StopUser
        settings = self.settings
        if settings.think_time:
            self.idle(settings.think_time)
        elif settings.message_rate:
            now, period = now_ns(), int(1e9 / settings.message_rate)
            if self._next_send_ns:
                self._next_send_ns = max(self._next_send_ns + period, now - MAX_CATCH_UP_NS)
            else:  # a random phase: users spawned together must not send in step
                self._next_send_ns = now + int(random.random() * period)
            if self._next_send_ns > now:
                self.idle((self._next_send_ns - now) / 1e9)
            else:
                self._late_since_ns = self._next_send_ns

    def idle(self, seconds: float) -> None:
        """Wait seconds between messages. A user holding one connection reads it meanwhile,
        so the server's pings are answered however long the pause (uvicorn closes a client
        with 1011 when its pong is 20 s late)."""
        if self.reads_while_idle and len(self._connections) == 1:
            self._connections[0].idle(seconds)
        else:
            gevent.sleep(seconds)

    def round_trip_start(self) -> int:
        """When a round trip starting now began: when its message was due if a slow reply
        made it late (paced users), so a stall counts for every message it held back, not
        once (no coordinated omission); else now."""
        started, late_since = now_ns(), self._late_since_ns
        self._late_since_ns = 0
        return late_since if late_since else started

    def fail(self, kind: str, name: str, error: WsError, started_ns: int) -> NoReturn:
        """Report a failed operation and raise WsFailure; a lost connection or a failed
        connect also makes the user back off before its next connect or task iteration."""
        self.report_failure(kind, name, error, started_ns)
        if isinstance(error, WsClosed) or (kind == "connect" and
                                           not isinstance(error, UnexpectedAccept)):
            self.back_off()
        raise WsFailure(error)

    def back_off(self) -> None:
        """Wait before connecting again; the wait grows while failures follow each other. A
        message completed since the last failure (pace()), or a quiet spell longer than the
        cap, starts the next one over from the first pause."""
        now = time.monotonic()
        if self.messages_left != self._left_at_failure or \
                now - self._failed_at_s > self._backoff.delay_s + self._backoff.cap_s:
            self._backoff.reset()
        self._failed_at_s, self._left_at_failure = now, self.messages_left
        self._retry_at_s = now + self._backoff.next_pause_s()

    def report_failure(self, kind: str, name: str, error: WsError, started_ns: int) -> None:
        """Count a failure by kind and report it to Locust at once."""
        RECORDER.failure(kind, name, error.kind)
        self.environment.events.request.fire(
            request_type=LOCUST_TYPES.get(kind, kind), name=name,
            response_time=(now_ns() - started_ns) / 1e6, response_length=0, exception=error,
            context={})

    def on_stop(self) -> None:
        for connection in list(self._connections):
            try:
                self.close(connection)
            except Exception:  # stopping must not fail on a dead socket
                continue


def _short(message: Message) -> str:
    text = repr(message)
    return text if len(text) <= 80 else text[:77] + "..."
