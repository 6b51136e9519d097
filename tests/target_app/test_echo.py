"""`/ws`: one `Message text was: m` per text message, in-process and on the wire."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed

from tests.target_app.conftest import RunningApp
from tests.target_app.waiting import wait_for_log
from tests.target_app.wire import open_socket, receive_text, receive_texts

MESSAGES = ["hello", "", " ", "ünïcødé 🙂", "x" * 70_000]


def test_echo_in_process(client: TestClient, variant: str) -> None:
    try:
        with client.websocket_connect("/ws") as ws:
            for message in MESSAGES:
                ws.send_text(message)
                assert ws.receive_text() == f"Message text was: {message}"
    except WebSocketDisconnect:
        # The documented handler lets the client's normal close escape as an exception.
        assert variant == "docs"


def test_echo_on_the_wire_keeps_order(running: RunningApp) -> None:
    with open_socket(f"{running.server.ws_url}/ws") as ws:
        for message in MESSAGES:
            ws.send(message)
        assert receive_texts(ws, len(MESSAGES)) == [f"Message text was: {m}" for m in MESSAGES]


def test_hardened_closes_on_binary_with_1003(running_apps: dict[str, RunningApp]) -> None:
    with open_socket(f"{running_apps['hardened'].server.ws_url}/ws") as ws:
        ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as closed:
            receive_text(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1003


def test_docs_binary_frame_drops_the_connection(running_apps: dict[str, RunningApp]) -> None:
    with open_socket(f"{running_apps['docs'].server.ws_url}/ws") as ws:
        ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as closed:
            receive_text(ws)
    assert closed.value.rcvd is None  # no close frame: the handler raised (1006)


def test_normal_close_is_logged_as_an_exception_only_by_docs(
        running_apps: dict[str, RunningApp]) -> None:
    for running in running_apps.values():
        with open_socket(f"{running.server.ws_url}/ws") as ws:
            ws.send(f"marker-{running.variant}")
            receive_text(ws)
    docs = running_apps["docs"]
    wait_for_log(docs.log_path, "WebSocketDisconnect")
    # Closing a socket of the hardened variant too, then a marker request to each server:
    # once the hardened server has logged the marker, its earlier close was handled.
    hardened = running_apps["hardened"]
    with open_socket(f"{hardened.server.ws_url}/ws?after=close") as ws:
        ws.send("x")
        receive_text(ws)
    wait_for_log(hardened.log_path, "after=close")
    assert "WebSocketDisconnect" not in hardened.log()
    assert "Traceback" not in hardened.log()
