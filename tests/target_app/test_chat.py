"""`/ws/{client_id}`: personal reply, broadcast, departures, and the documented defects."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from target_app.room import STALLED_CLOSE
from tests.target_app.conftest import APPS, RunningApp
from tests.target_app.wire import TIMEOUT_S, open_socket, receive_text, receive_texts
from wsharness.serve import Server, serve


def test_broadcast_and_departure_in_process(client: TestClient) -> None:
    with client.websocket_connect("/ws/1") as one:
        with client.websocket_connect("/ws/2") as two:
            one.send_text("hi")
            assert one.receive_text() == "You wrote: hi"
            assert one.receive_text() == "Client #1 says: hi"
            assert two.receive_text() == "Client #1 says: hi"
        assert one.receive_text() == "Client #2 left the chat"


def test_non_int_client_id_refused(client: TestClient, running: RunningApp) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/abc"):
        pass
    assert refused.value.code == 1008
    with pytest.raises(InvalidStatus) as on_the_wire:
        open_socket(f"{running.server.ws_url}/ws/abc")
    assert on_the_wire.value.response.status_code == 403


def test_room_on_the_wire(running: RunningApp) -> None:
    url = running.server.ws_url
    with open_socket(f"{url}/ws/7") as first, open_socket(f"{url}/ws/7") as duplicate:
        with open_socket(f"{url}/ws/8") as other:
            other.send("a")
            other.send("b")
            assert receive_texts(other, 4) == [
                "You wrote: a", "Client #8 says: a", "You wrote: b", "Client #8 says: b"]
            for ws in (first, duplicate):
                assert receive_texts(ws, 2) == ["Client #8 says: a", "Client #8 says: b"]
        for ws in (first, duplicate):
            assert receive_text(ws) == "Client #8 left the chat"


def test_dropped_tcp_connection_counts_as_leaving(running: RunningApp) -> None:
    url = running.server.ws_url
    with open_socket(f"{url}/ws/1") as stays, open_socket(f"{url}/ws/2") as leaves:
        leaves.send("bye")
        assert receive_text(stays) == "Client #2 says: bye"
        leaves.socket.shutdown(socket.SHUT_RDWR)
        leaves.socket.close()
        assert receive_text(stays) == "Client #2 left the chat"


def test_hardened_binary_frame_closes_1003_and_leaves_the_room(
        running_apps: dict[str, RunningApp]) -> None:
    url = running_apps["hardened"].server.ws_url
    with open_socket(f"{url}/ws/1") as binary, open_socket(f"{url}/ws/2") as other:
        binary.send(b"\x00")
        with pytest.raises(ConnectionClosed) as closed:
            receive_text(binary)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1003
        assert receive_text(other) == "Client #1 left the chat"
        other.send("still here")
        assert receive_texts(other, 2) == ["You wrote: still here", "Client #2 says: still here"]


def test_docs_binary_frame_breaks_the_next_broadcast(running_apps: dict[str, RunningApp]) -> None:
    url = running_apps["docs"].server.ws_url
    with open_socket(f"{url}/ws/1") as binary, open_socket(f"{url}/ws/2") as other:
        binary.send(b"\x00")
        with pytest.raises(ConnectionClosed):
            receive_text(binary)
        other.send("anyone?")
        assert receive_text(other) == "You wrote: anyone?"
        # The dead socket is still first in the room: the broadcast raises before reaching us.
        with pytest.raises(ConnectionClosed):
            receive_text(other)


TIGHT_LIMITS = {"WSHARNESS_SEND_BUFFER": "4096", "WSHARNESS_STALL_S": "1"}
BURST_CLIENTS = 20
BURST_MESSAGES = 50
FIRST_BURST_ID = 9000


@pytest.fixture(params=sorted(APPS))
def tight_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server]]:
    """A server whose send buffers hold 4 KiB and whose stall limit is 1 s."""
    with serve(APPS[request.param], env=TIGHT_LIMITS) as server:
        yield request.param, server


def test_a_burst_through_small_buffers_loses_nothing(tight_server: tuple[str, Server]) -> None:
    """Every client pipelines its messages at once: each gets every copy, in sender order."""
    _, server = tight_server
    ids = [FIRST_BURST_ID + n for n in range(BURST_CLIENTS)]
    received = asyncio.run(asyncio.wait_for(burst(server.ws_url, ids), TIMEOUT_S * 6))
    for receiver, messages in zip(ids, received, strict=True):
        by_sender: dict[str, list[str]] = {}
        for message in messages:
            sender, _, text = message.partition(": ")
            by_sender.setdefault(sender, []).append(text)
        sent = [f"m{n}" for n in range(BURST_MESSAGES)]
        assert by_sender == {"You wrote": sent} | {f"Client #{i} says": sent for i in ids}, (
            f"client #{receiver}")


async def burst(base_url: str, ids: list[int]) -> list[list[str]]:
    expected = BURST_MESSAGES * (len(ids) + 1)
    connections = [await connect(f"{base_url}/ws/{i}", max_size=None) for i in ids]

    async def talk(websocket: AsyncConnection) -> list[str]:
        for n in range(BURST_MESSAGES):
            await websocket.send(f"m{n}")
        return [str(await websocket.recv()) for _ in range(expected)]

    try:
        return await asyncio.gather(*(talk(c) for c in connections))
    finally:
        await asyncio.gather(*(c.close() for c in connections))


class StalledClient:
    """A real handshake on a small receive buffer, then no reads until told: the server's
    sends to it back up."""

    def __init__(self, server: Server, path: str) -> None:
        self.protocol = ClientProtocol(parse_uri(f"{server.ws_url}{path}"), max_size=None)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
        self.sock.settimeout(TIMEOUT_S)
        self.sock.connect((server.host, server.port))
        self.protocol.send_request(self.protocol.connect())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def read_until_closed(self) -> tuple[list[str], int | None]:
        """Drain what the server sent: its text messages and the close code, if any."""
        texts: list[str] = []
        while self.protocol.close_rcvd is None:
            data = self.sock.recv(1 << 20)
            if not data:
                break
            self.protocol.receive_data(data)
            texts.extend(str(event.data, "utf-8") for event in self.protocol.events_received()
                         if isinstance(event, Frame) and event.opcode is Opcode.TEXT)
            self.sock.sendall(b"".join(self.protocol.data_to_send()))
        return texts, self.protocol.close_rcvd.code if self.protocol.close_rcvd else None


def test_a_client_that_stops_reading(tight_server: tuple[str, Server]) -> None:
    """Hardened: the stalled client is closed with 1013 after the stall limit, after a prefix
    of its messages in order, and the room goes on. Docs: the whole room stalls."""
    variant, server = tight_server
    slow = StalledClient(server, "/ws/666")
    big = "x" * 65_536
    with slow.sock, open_socket(f"{server.ws_url}/ws/1", max_size=None) as fast:
        received: list[str] = []
        try:
            for n in range(200):
                fast.send(f"{n:04d}{big}")
                received.extend(receive_texts(fast, 2))
                if "Client #666 left the chat" in received:
                    break
        except TimeoutError:
            assert variant == "docs", "the hardened room stalled on a client that stopped reading"
            return
        assert variant == "hardened", "the documented room did not stall on a slow client"
        texts, code = slow.read_until_closed()
    assert code == STALLED_CLOSE
    numbers = [int(text.removeprefix("Client #1 says: ")[:4]) for text in texts]
    assert numbers == list(range(len(numbers))), "the stalled client's messages are not a prefix"
