"""The gevent WebSocket client against the reference app, a websockets server, and servers
scripted byte by byte (tests/loadtests/raw_server.py)."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import gevent
import pytest
from gevent.exceptions import ConcurrentObjectUseError
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.sync.server import ServerConnection, serve

from loadtests._wsclient import (
    ConnectFailed,
    Connection,
    HandshakeRefused,
    WsClosed,
    WsTimeout,
)
from tests.loadtests.raw_server import Peer, raw_server, server_tls
from tests.loadtests.server_frames import MASK, raw_frame, server_frame
from wsharness.serve import Server
from wsharness.serve import serve as serve_app

TIMEOUT_S = 5.0
SERVER_GIVES_UP_S = 2 * TIMEOUT_S  # a scripted server's own end, for a client that never ends


@pytest.fixture(scope="module")
def app() -> Iterator[Server]:
    with serve_app() as server:
        yield server


@pytest.fixture(params=["ws", "wss"])
def tls(request: pytest.FixtureRequest) -> ssl.SSLContext | None:
    """A raw server's transport: None for ws://, a server context for wss://."""
    return server_tls() if request.param == "wss" else None


@contextlib.contextmanager
def scripted_server(script: Callable[[ServerConnection], None]) -> Iterator[str]:
    """websockets' own server running script for each connection, for the block."""
    with serve(script, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        finally:
            server.shutdown()
            thread.join(TIMEOUT_S)


def test_text_round_trips_in_order(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    for number in range(50):
        connection.send_text(f"m{number}")
    assert [connection.recv(TIMEOUT_S) for _ in range(50)] == [
        f"Message text was: m{number}" for number in range(50)]
    assert connection.close() == CloseCode.NORMAL_CLOSURE


def test_a_host_name_connects_as_well_as_an_address(app: Server) -> None:
    for host in ("localhost", "127.0.0.1"):
        connection = Connection.open(f"ws://{host}:{app.port}/ws", timeout_s=TIMEOUT_S)
        connection.send_text(host)
        assert connection.recv(TIMEOUT_S) == f"Message text was: {host}"
        assert connection.close() == CloseCode.NORMAL_CLOSURE


def test_connections_come_from_the_source_address_given() -> None:
    def tell_address(connection: ServerConnection) -> None:
        connection.send(connection.remote_address[0])
        connection.recv()

    with scripted_server(tell_address) as url:
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.2"):  # one address, many ports
            connection = Connection.open(url, timeout_s=TIMEOUT_S, source_address=source)
            assert connection.recv(TIMEOUT_S) == source
            connection.close()
        with pytest.raises(ConnectFailed, match=r" from 192\.0\.2\.1: "):  # not this machine's
            Connection.open(url, timeout_s=TIMEOUT_S, source_address="192.0.2.1")


def test_an_idle_connection_answers_pings_and_keeps_messages_for_recv() -> None:
    def ping_then_tell(connection: ServerConnection) -> None:
        connection.send("before the ping")
        answered = connection.ping().wait(TIMEOUT_S)
        connection.send("pong came" if answered else "no pong")

    with scripted_server(ping_then_tell) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        deadline = time.monotonic() + TIMEOUT_S
        while len(connection._messages) < 2:  # read only while idle: nothing but idle() reads
            assert time.monotonic() < deadline, "no answer to the ping while idle"
            connection.idle(0.05)
        assert [connection.recv(TIMEOUT_S) for _ in range(2)] == ["before the ping", "pong came"]
        connection.close()


def test_json_text_and_a_long_message(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    document = json.dumps({"n": 1, "text": "é" * 40_000})  # 16-bit and 64-bit length forms
    connection.send_text(document)
    assert connection.recv(TIMEOUT_S) == "Message text was: " + document
    connection.close()


def test_binary_is_refused_by_the_reference_app_with_its_close_code(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    connection.send_binary(b"\x00\x01")
    with pytest.raises(WsClosed) as closed:
        connection.recv(TIMEOUT_S)
    assert closed.value.code == CloseCode.UNSUPPORTED_DATA


def test_refused_handshake_reports_the_http_status(app: Server) -> None:
    with pytest.raises(HandshakeRefused) as refused:
        Connection.open(app.ws_url + "/items/1/ws", timeout_s=TIMEOUT_S)
    assert refused.value.status == 403


def test_credentials_by_query_and_cookie(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/items/7/ws?token=t&q=3", timeout_s=TIMEOUT_S,
                                 cookies={"session": "s"})
    connection.send_text("hi")
    assert [connection.recv(TIMEOUT_S) for _ in range(3)] == [
        "Session cookie or query token value is: s", "Query parameter q is: 3",
        "Message text was: hi, for item ID: 7"]
    connection.close()


def test_closing_while_another_greenlet_reads_ends_that_read(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    reader = gevent.spawn(connection.recv, TIMEOUT_S)
    gevent.idle()  # the reader waits for a message
    code = connection.close()
    with pytest.raises(WsClosed) as closed:
        reader.get(timeout=TIMEOUT_S)
    assert closed.value.code == code == connection.close_code


def test_a_second_greenlet_receiving_at_once_is_refused(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    first = gevent.spawn(connection.recv, TIMEOUT_S)
    gevent.idle()  # the first waits for a message
    with pytest.raises(ConcurrentObjectUseError):
        connection.recv(TIMEOUT_S)
    connection.send_text("one reader")
    assert first.get(timeout=TIMEOUT_S) == "Message text was: one reader"
    assert connection.close() == CloseCode.NORMAL_CLOSURE


def test_a_silent_server_times_out(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    with pytest.raises(WsTimeout):
        connection.recv(0.2)
    connection.send_text("still open")
    assert connection.recv(TIMEOUT_S) == "Message text was: still open"
    connection.close()


def _fragments_ping_then_going_away(websocket: ServerConnection) -> None:
    websocket.send(["frag", "ment"])
    websocket.send([b"\x01", b"\x02"])
    websocket.send(b"\x03")
    websocket.ping(b"p")
    websocket.send("after ping")
    websocket.close(CloseCode.GOING_AWAY, "bye")


def test_fragments_pings_and_the_server_close_code() -> None:
    with scripted_server(_fragments_ping_then_going_away) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        assert connection.recv(TIMEOUT_S) == "fragment"
        assert connection.recv(TIMEOUT_S) == b"\x01\x02"
        assert connection.recv(TIMEOUT_S) == b"\x03"
        assert connection.recv(TIMEOUT_S) == "after ping"
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == CloseCode.GOING_AWAY


def _sends_too_much(websocket: ServerConnection) -> None:
    websocket.send("x" * 2000)
    websocket.recv(TIMEOUT_S)  # until the client fails the connection


def test_a_message_over_max_size_fails_the_connection_with_1009() -> None:
    with scripted_server(_sends_too_much) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S, max_size=1000)
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == CloseCode.MESSAGE_TOO_BIG


class CloseOnCue:
    """A server script that tells when the client's close frame has come, and answers it
    only when told to."""

    def __init__(self) -> None:
        self.close_came = threading.Event()
        self.answer = threading.Event()

    def __call__(self, peer: Peer) -> None:
        peer.receive_close()
        self.close_came.set()
        assert self.answer.wait(TIMEOUT_S)
        peer.flush()


def test_receiving_while_another_greenlet_closes_is_closed() -> None:
    server = CloseOnCue()
    with raw_server(server) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        closing = gevent.spawn(connection.close)
        gevent.idle()  # closing sends its close frame and waits for the answer
        assert server.close_came.wait(TIMEOUT_S)
        with pytest.raises(WsClosed, match="closing"):
            connection.recv(TIMEOUT_S)
        server.answer.set()
        assert closing.get(timeout=TIMEOUT_S) == CloseCode.NORMAL_CLOSURE


def test_a_kill_during_the_close_handshake_still_ends_it_normally() -> None:
    server = CloseOnCue()
    with raw_server(server) as url:
        codes: list[int] = []
        connection = Connection.open(url, timeout_s=TIMEOUT_S, on_end=codes.append)
        closing = gevent.spawn(connection.close)
        gevent.idle()  # closing runs: its close frame goes out, it waits for the answer
        assert server.close_came.wait(TIMEOUT_S)
        closing.kill(block=False)  # lands before the answer can be read: it is not sent yet
        server.answer.set()
        closing.join(TIMEOUT_S)
        assert isinstance(closing.value, gevent.GreenletExit)  # the kill went on
        assert codes == [CloseCode.NORMAL_CLOSURE]
        assert connection._protocol.close_rcvd == Close(CloseCode.NORMAL_CLOSURE, "")


BEFORE = server_frame(Opcode.TEXT, b"before")
FIRST_FRAGMENT = server_frame(Opcode.TEXT, b"frag", fin=False)


def _sends_around_our_close(before: bytes, after: bytes) -> Callable[[Peer], None]:
    """Sends before; once the client's close frame has come, sends after, then answers the
    close (RFC 6455 5.5.1: a peer MAY finish the message it is sending first)."""
    def script(peer: Peer) -> None:
        peer.send(before)
        peer.receive_close()
        peer.send(after)
        peer.flush()  # the close frame's answer, then the end of the stream
    return script


def test_5_5_1_a_message_the_server_finishes_after_our_close_frame_is_no_error() -> None:
    """Its last fragment continues the message (no 1002 for a continuation with nothing to
    continue), and the message, complete after our close frame, goes to no one."""
    script = _sends_around_our_close(BEFORE + FIRST_FRAGMENT, server_frame(Opcode.CONT, b"ment"))
    with raw_server(script) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        assert connection.recv(TIMEOUT_S) == "before"
        assert connection.close() == CloseCode.NORMAL_CLOSURE
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == CloseCode.NORMAL_CLOSURE


@pytest.mark.parametrize(("before", "after"), [
    (BEFORE + FIRST_FRAGMENT, server_frame(Opcode.CONT, b"\xff")),
    (BEFORE, server_frame(Opcode.TEXT, b"\xff")),
], ids=["the last fragment", "a whole message"])
def test_8_1_invalid_utf8_after_our_close_frame_ends_the_close_with_1007(
        before: bytes, after: bytes) -> None:
    with raw_server(_sends_around_our_close(before, after)) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        assert connection.recv(TIMEOUT_S) == "before"
        assert connection.close() == CloseCode.INVALID_DATA  # never a UnicodeDecodeError
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == CloseCode.INVALID_DATA


@pytest.mark.parametrize(("frame", "code"), [
    (raw_frame(0x81, b"ok \xff"), CloseCode.INVALID_DATA),
    (raw_frame(0x01, b"ok \xe2") + raw_frame(0x80, b"\x28"), CloseCode.INVALID_DATA),
    (raw_frame(0x81, b"hidden", mask=MASK), CloseCode.PROTOCOL_ERROR),
    (raw_frame(0x09, b"ping"), CloseCode.PROTOCOL_ERROR),
    (raw_frame(0x80, b"orphan"), CloseCode.PROTOCOL_ERROR),
    (raw_frame(0x88, b"\x03"), CloseCode.PROTOCOL_ERROR),  # a close payload of one byte
], ids=["invalid UTF-8", "invalid UTF-8 across fragments", "masked", "fragmented ping",
        "continuation without a start", "malformed close frame"])
def test_a_broken_frame_fails_the_connection_and_the_server_hears_the_code(
        frame: bytes, code: CloseCode) -> None:
    heard: list[Close] = []

    def script(peer: Peer) -> None:
        peer.send(server_frame(Opcode.TEXT, b"first") + frame)
        heard.append(peer.receive_close())
        peer.flush()

    with raw_server(script) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        assert connection.recv(TIMEOUT_S) == "first"
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == code
        assert connection.close() == code
    assert [close.code for close in heard] == [code]


def _pings_every(interval_s: float, pongs: list[Frame]) -> Callable[[Peer], None]:
    """Pings every interval_s (until SERVER_GIVES_UP_S) and sends nothing else; keeps the
    pongs that come back; answers the close frame."""
    ping = server_frame(Opcode.PING, b"still there?")

    def script(peer: Peer) -> None:
        now = time.monotonic()
        next_ping, stop = now, now + SERVER_GIVES_UP_S
        while peer.protocol.close_rcvd is None:
            if next_ping <= now < stop:
                peer.send(ping)
                next_ping = now + interval_s
            events = peer.receive_for(next_ping - now if now < stop else TIMEOUT_S)
            pongs.extend(event for event in events
                         if isinstance(event, Frame) and event.opcode is Opcode.PONG)
            now = time.monotonic()
        peer.flush()
    return script


def test_pings_do_not_put_off_a_receive_timeout(tls: ssl.SSLContext | None) -> None:
    pongs: list[Frame] = []
    with raw_server(_pings_every(0.2, pongs), tls=tls) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S, verify_tls=False)
        receiving = gevent.spawn(connection.recv, 1.0)
        try:
            receiving.join(TIMEOUT_S)
        finally:
            receiving.kill()
            code = connection.close()
        assert isinstance(receiving.exception, WsTimeout)
        assert code == CloseCode.NORMAL_CLOSURE
    assert len(pongs) >= 2  # pings came (and were answered) while the receive waited


def _keeps_sending(after_close: list[int]) -> Callable[[Peer], None]:
    """Sends text messages, ten every 10 ms, and never answers the close frame: until the
    client closes the TCP connection (or SERVER_GIVES_UP_S). Counts the messages sent once
    the close frame had come."""
    burst = server_frame(Opcode.TEXT, b"news " * 20) * 10

    def script(peer: Peer) -> None:
        stop = time.monotonic() + SERVER_GIVES_UP_S
        with contextlib.suppress(OSError):  # the client closed the connection
            while time.monotonic() < stop:
                peer.send(burst)
                if peer.protocol.close_rcvd is not None:
                    after_close.append(10)
                peer.receive_for(0.01)
    return script


def test_a_server_that_keeps_sending_and_never_answers_our_close(
        tls: ssl.SSLContext | None) -> None:
    """close() ends at its timeout with 1006, and keeps none of what came meanwhile."""
    after_close: list[int] = []
    with raw_server(_keeps_sending(after_close), tls=tls) as url:
        connection = Connection.open(url, timeout_s=TIMEOUT_S, verify_tls=False)
        assert connection.recv(TIMEOUT_S) == "news " * 20
        queued = list(connection._messages)  # received before close(): kept for recv
        closing = gevent.spawn(connection.close, timeout_s=1.0)
        try:
            closing.join(TIMEOUT_S)
        finally:
            closing.kill(block=False)  # the old client's close would swallow a blocking kill
        assert closing.value == CloseCode.ABNORMAL_CLOSURE
        assert list(connection._messages) == queued
    assert sum(after_close) >= 20  # it kept sending after our close frame came


def _sends_a_message_then_stops_reading(done: threading.Event) -> Callable[[Peer], None]:
    def script(peer: Peer) -> None:
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # no autotuning
        peer.send(server_frame(Opcode.TEXT, b"hello"))
        done.wait(SERVER_GIVES_UP_S)
    return script


def test_a_send_that_cannot_finish_fails_at_the_send_timeout_not_a_read_s(
        tls: ssl.SSLContext | None) -> None:
    done = threading.Event()
    with raw_server(_sends_a_message_then_stops_reading(done), tls=tls) as url:
        connection = Connection.open(url, timeout_s=1.0, verify_tls=False)
        try:
            assert connection.recv(60.0) == "hello"  # a read with a long timeout of its own
            sending = gevent.spawn(connection.send_binary, bytes(16 * 2**20))
            sending.join(TIMEOUT_S)
            sending.kill(block=False)
            assert isinstance(sending.exception, WsClosed)
        finally:
            done.set()  # the server goes: the close frame is not sent, the close is quick
            connection.close()
