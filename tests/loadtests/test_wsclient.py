"""The gevent WebSocket client against the reference app and a websockets server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import gevent
import pytest
from websockets.frames import Close
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.sync.server import ServerConnection, serve

from loadtests._wsclient import Connection, HandshakeRefused, WsClosed, WsTimeout
from wsharness.serve import Server
from wsharness.serve import serve as serve_app

TIMEOUT_S = 5.0
CLOSE_DELAY_S = 0.3


@pytest.fixture(scope="module")
def app() -> Iterator[Server]:
    with serve_app() as server:
        yield server


def scripted_server(script: object) -> Iterator[str]:
    with serve(script, "127.0.0.1", 0) as server:  # type: ignore[arg-type]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()
        thread.join(TIMEOUT_S)


def test_text_round_trips_in_order(app: Server) -> None:
    connection = Connection.open(app.ws_url + "/ws", timeout_s=TIMEOUT_S)
    for number in range(50):
        connection.send_text(f"m{number}")
    assert [connection.recv(TIMEOUT_S) for _ in range(50)] == [
        f"Message text was: m{number}" for number in range(50)]
    assert connection.close() == 1000


def test_a_host_name_connects_as_well_as_an_address(app: Server) -> None:
    for host in ("localhost", "127.0.0.1"):
        connection = Connection.open(f"ws://{host}:{app.port}/ws", timeout_s=TIMEOUT_S)
        connection.send_text(host)
        assert connection.recv(TIMEOUT_S) == f"Message text was: {host}"
        assert connection.close() == 1000


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
    assert closed.value.code == 1003


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
    websocket.close(1001, "bye")


def test_fragments_pings_and_the_server_close_code() -> None:
    for url in scripted_server(_fragments_ping_then_going_away):
        connection = Connection.open(url, timeout_s=TIMEOUT_S)
        assert connection.recv(TIMEOUT_S) == "fragment"
        assert connection.recv(TIMEOUT_S) == b"\x01\x02"
        assert connection.recv(TIMEOUT_S) == b"\x03"
        assert connection.recv(TIMEOUT_S) == "after ping"
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == 1001


def _sends_too_much(websocket: ServerConnection) -> None:
    websocket.send("x" * 2000)
    websocket.recv(TIMEOUT_S)  # until the client fails the connection


def test_a_message_over_max_size_fails_the_connection_with_1009() -> None:
    for url in scripted_server(_sends_too_much):
        connection = Connection.open(url, timeout_s=TIMEOUT_S, max_size=1000)
        with pytest.raises(WsClosed) as closed:
            connection.recv(TIMEOUT_S)
        assert closed.value.code == 1009


def slow_to_close_server() -> Iterator[str]:
    """Serves one connection and answers the client's close frame CLOSE_DELAY_S late."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT_S)

    def serve_one() -> None:
        sock, _ = listener.accept()
        sock.settimeout(TIMEOUT_S)
        protocol = ServerProtocol()
        with sock:
            while data := sock.recv(4096):
                protocol.receive_data(data)
                for event in protocol.events_received():
                    if isinstance(event, Request):
                        protocol.send_response(protocol.accept(event))
                if protocol.close_rcvd is not None:
                    time.sleep(CLOSE_DELAY_S)
                for chunk in protocol.data_to_send():
                    sock.sendall(chunk)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{listener.getsockname()[1]}"
    thread.join(TIMEOUT_S)
    listener.close()


def test_a_kill_during_the_close_handshake_still_ends_it_normally() -> None:
    for url in slow_to_close_server():
        codes: list[int] = []
        connection = Connection.open(url, timeout_s=TIMEOUT_S, on_end=codes.append)
        closing = gevent.spawn(connection.close)
        gevent.sleep(CLOSE_DELAY_S / 3)  # the close frame is out, its answer is not yet in
        closing.kill(block=True, timeout=TIMEOUT_S)
        assert isinstance(closing.value, gevent.GreenletExit)  # the kill went on
        assert codes == [1000]
        assert connection._protocol.close_rcvd == Close(1000, "")
