"""`/items/{item_id}/ws`: credentials, `q`, the replies in order, and the refusals."""

from __future__ import annotations

import contextlib

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import InvalidStatus
from websockets.frames import CloseCode

from tests.target_app.conftest import RunningApp
from tests.target_app.wire import open_socket, receive_texts


def replies(credential: str, item_id: str, message: str, q: int | None = None) -> list[str]:
    expected = [f"Session cookie or query token value is: {credential}"]
    if q is not None:
        expected.append(f"Query parameter q is: {q}")
    return [*expected, f"Message text was: {message}, for item ID: {item_id}"]


@pytest.mark.parametrize(
    ("query", "cookies", "credential", "q"),
    [
        ("?token=tok", {}, "tok", None),
        ("?token=tok&q=42", {}, "tok", 42),
        ("?q=-7", {"session": "sess"}, "sess", -7),
        ("?token=tok", {"session": "sess"}, "sess", None),
        ("?token=", {}, "", None),
    ],
    ids=["token", "token-and-q", "cookie-and-q", "cookie-wins", "empty-token"],
)
def test_credentials_in_process(client: TestClient, query: str, cookies: dict[str, str],
                                credential: str, q: int | None) -> None:
    client.cookies.update(cookies)
    with contextlib.suppress(WebSocketDisconnect), \
            client.websocket_connect(f"/items/foo/ws{query}") as ws:
        # (the documented handler re-raises the client's normal close: suppressed)
        for message in ("first", "second"):
            ws.send_text(message)
            got = [ws.receive_text() for _ in replies(credential, "foo", message, q)]
            assert got == replies(credential, "foo", message, q)


@pytest.mark.parametrize(
    "path", ["/items/foo/ws", "/items/foo/ws?q=1", "/items/foo/ws?token=t&q=bar"])
def test_refused_with_1008_in_process(client: TestClient, path: str) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path):
        pass
    assert refused.value.code == CloseCode.POLICY_VIOLATION


@pytest.mark.parametrize("path", ["/items/foo/ws", "/items/foo/ws?token=t&q=bar"])
def test_refused_with_403_on_the_wire(running: RunningApp, path: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(f"{running.server.ws_url}{path}")
    assert refused.value.response.status_code == 403


def test_url_encoded_item_id_on_the_wire(running: RunningApp) -> None:
    with open_socket(f"{running.server.ws_url}/items/a%20b%2Bc/ws?token=t%26u&q=3") as ws:
        ws.send("m")
        assert receive_texts(ws, 3) == replies("t&u", "a b+c", "m", 3)


def cookie_handshake(running: RunningApp, origin: str) -> list[str]:
    with open_socket(f"{running.server.ws_url}/items/foo/ws",
                     additional_headers={"Cookie": "session=sess"}, origin=origin) as ws:
        ws.send("m")
        return receive_texts(ws, 2)


def test_hardened_refuses_cookie_from_a_foreign_origin(
        running_apps: dict[str, RunningApp]) -> None:
    hardened = running_apps["hardened"]
    with pytest.raises(InvalidStatus) as refused:
        cookie_handshake(hardened, "https://evil.example")
    assert refused.value.response.status_code == 403
    assert cookie_handshake(hardened, f"http://127.0.0.1:{hardened.server.port}") == replies(
        "sess", "foo", "m")


def test_docs_accepts_cookie_from_a_foreign_origin(running_apps: dict[str, RunningApp]) -> None:
    assert cookie_handshake(running_apps["docs"], "https://evil.example") == replies(
        "sess", "foo", "m")


def test_foreign_origin_may_still_use_a_query_token(running: RunningApp) -> None:
    with open_socket(f"{running.server.ws_url}/items/foo/ws?token=tok",
                     origin="https://evil.example") as ws:
        ws.send("m")
        assert receive_texts(ws, 2) == replies("tok", "foo", "m")
