"""`/raw`, the probe endpoint: every message back unchanged, text as text, binary as binary."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.target_app.conftest import RunningApp
from tests.target_app.wire import open_socket

MESSAGES: list[str | bytes] = ["hello", "", "ünïcødé 🙂", b"", b"\x00\xff\x80", "x" * 70_000,
                               bytes(range(256)) * 300]
MULTI_MIB = 5 * 2**20 + 3  # fragmented below: the server's limit (16 MiB) counts the whole


def test_raw_echoes_text_and_binary_in_process(client: TestClient) -> None:
    with client.websocket_connect("/raw") as ws:
        for message in MESSAGES:
            if isinstance(message, str):
                ws.send_text(message)
                assert ws.receive_text() == message
            else:
                ws.send_bytes(message)
                assert ws.receive_bytes() == message


def test_raw_echoes_every_message_unchanged_on_the_wire(running: RunningApp) -> None:
    with open_socket(f"{running.server.ws_url}/raw", max_size=None, compression=None) as ws:
        for message in MESSAGES:
            ws.send(message)
        assert [ws.recv() for _ in MESSAGES] == MESSAGES


def test_raw_echoes_a_multi_mib_fragmented_message(running: RunningApp) -> None:
    text = ("0123456789abcdéf" * (MULTI_MIB // 16 + 1))[:MULTI_MIB]
    binary = text.encode()[:MULTI_MIB]
    with open_socket(f"{running.server.ws_url}/raw", max_size=None, compression=None) as ws:
        ws.send(text[i:i + 2**20] for i in range(0, len(text), 2**20))
        assert ws.recv() == text
        ws.send(binary[i:i + 2**20] for i in range(0, len(binary), 2**20))
        assert ws.recv() == binary
