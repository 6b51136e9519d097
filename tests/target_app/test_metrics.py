"""`GET /metrics` of the default app: the counts follow connections and messages on the wire.

Each test starts from the counts it reads first and waits, bounded, until the server shows
what the clients did: a handler counts a connection after its accept and a reply after
its send, a moment after the client has seen them.
"""

from __future__ import annotations

import itertools
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

from tests.target_app.conftest import APPS, RunningApp
from tests.target_app.wire import TIMEOUT_S, open_socket, receive_text, receive_texts
from wsharness.serve import Server, serve

Samples = dict[str, float]  # 'name' or 'name{label="value"}' -> value
OPEN = "wsharness_open_connections"
RECEIVED = "wsharness_messages_received_total"
SENT = "wsharness_messages_sent_total"
MEMBERS = "wsharness_room_members"


def key(name: str, **labels: str) -> str:
    inner = ",".join(f'{label}="{value}"' for label, value in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


def scrape(server: Server) -> Samples:
    return scrape_url(server.url)


def scrape_url(url: str) -> Samples:
    """The samples of url/metrics (a server of the default app at http://host:port)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=TIMEOUT_S) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        text = response.read().decode()
    return {key(sample.name, **sample.labels): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def wait_for(server: Server, expected: Samples) -> Samples:
    """Scrape until every sample in `expected` has its value; fail with the last scrape."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        samples = scrape(server)
        if all(samples.get(name) == value for name, value in expected.items()):
            return samples
        if time.monotonic() > deadline:
            seen = {name: samples.get(name) for name in expected}
            raise AssertionError(f"expected {expected}, /metrics shows {seen}")
        time.sleep(0.02)


def quiet(server: Server) -> Samples:
    """The counts once no connection is open and the room is empty."""
    return wait_for(server, {**{key(OPEN, endpoint=e): 0 for e in ("echo", "items", "chat", "raw")},
                             MEMBERS: 0})


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve(APPS["hardened"]) as running:
        yield running


def test_exposition_has_every_family(server: Server) -> None:
    samples = quiet(server)
    for endpoint in ("echo", "items", "chat"):
        for name in (OPEN, RECEIVED, SENT):
            assert key(name, endpoint=endpoint) in samples
    for reason in ("broadcast_lost", "stalled", "unsupported_data"):
        assert key("wsharness_evictions_total", reason=reason) in samples
    assert samples["wsharness_queued_bytes"] >= 0
    assert samples["process_resident_memory_bytes"] > 1_000_000
    assert samples["process_open_fds"] > 0


def test_docs_variant_has_no_metrics(running_apps: dict[str, RunningApp]) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{running_apps['docs'].server.url}/metrics", timeout=TIMEOUT_S)
    missing.value.close()
    assert missing.value.code == 404


def test_echo_counts(server: Server) -> None:
    before = quiet(server)
    echo = {"endpoint": "echo"}
    with open_socket(f"{server.ws_url}/ws") as a, open_socket(f"{server.ws_url}/ws") as b, \
            open_socket(f"{server.ws_url}/ws") as c:
        wait_for(server, {key(OPEN, **echo): 3})
        for number, ws in zip(range(5), itertools.cycle((a, b, c)), strict=False):
            ws.send(f"m{number}")
            assert receive_text(ws) == f"Message text was: m{number}"
        wait_for(server, {key(OPEN, **echo): 3,
                          key(RECEIVED, **echo): before[key(RECEIVED, **echo)] + 5,
                          key(SENT, **echo): before[key(SENT, **echo)] + 5})
    wait_for(server, {key(OPEN, **echo): 0})


def test_raw_counts(server: Server) -> None:
    before = quiet(server)
    raw = {"endpoint": "raw"}
    with open_socket(f"{server.ws_url}/raw") as ws:
        wait_for(server, {key(OPEN, **raw): 1})
        for message in ("text", b"\x00binary"):
            ws.send(message)
            assert ws.recv(TIMEOUT_S) == message
        wait_for(server, {key(OPEN, **raw): 1,
                          key(RECEIVED, **raw): before[key(RECEIVED, **raw)] + 2,
                          key(SENT, **raw): before[key(SENT, **raw)] + 2})
    wait_for(server, {key(OPEN, **raw): 0})


def test_items_counts_every_reply(server: Server) -> None:
    before = quiet(server)
    items = {"endpoint": "items"}
    with open_socket(f"{server.ws_url}/items/foo/ws?token=t&q=3") as with_q, \
            open_socket(f"{server.ws_url}/items/bar/ws?token=t") as without_q:
        wait_for(server, {key(OPEN, **items): 2})
        for text in ("a", "b"):
            with_q.send(text)
            assert len(receive_texts(with_q, 3)) == 3
        without_q.send("c")
        assert len(receive_texts(without_q, 2)) == 2
        wait_for(server, {key(RECEIVED, **items): before[key(RECEIVED, **items)] + 3,
                          key(SENT, **items): before[key(SENT, **items)] + 2 * 3 + 2})
    wait_for(server, {key(OPEN, **items): 0})


def test_refused_handshakes_are_not_counted(server: Server) -> None:
    counted = (RECEIVED, SENT, OPEN)
    before = quiet(server)
    for path in ("/items/foo/ws", "/ws/abc"):
        with pytest.raises(InvalidStatus):
            open_socket(f"{server.ws_url}{path}")
    after = quiet(server)
    assert {name: after[name] for name in after if name.startswith(counted)} \
        == {name: before[name] for name in before if name.startswith(counted)}


def test_chat_counts_members_and_messages(server: Server) -> None:
    before = quiet(server)
    chat = {"endpoint": "chat"}
    with open_socket(f"{server.ws_url}/ws/1") as one, open_socket(f"{server.ws_url}/ws/2") as two:
        wait_for(server, {key(OPEN, **chat): 2, MEMBERS: 2})
        one.send("hi")
        assert receive_texts(one, 2) == ["You wrote: hi", "Client #1 says: hi"]
        assert receive_text(two) == "Client #1 says: hi"
        wait_for(server, {key(RECEIVED, **chat): before[key(RECEIVED, **chat)] + 1,
                          key(SENT, **chat): before[key(SENT, **chat)] + 3})
    quiet(server)


def test_binary_frame_on_echo_still_ends_the_connection(server: Server) -> None:
    quiet(server)
    with open_socket(f"{server.ws_url}/ws") as ws:
        ws.send(b"\x00")
        with pytest.raises(ConnectionClosed):
            receive_text(ws)
    quiet(server)


def test_a_binary_frame_in_the_chat_is_an_eviction(server: Server) -> None:
    unsupported = key("wsharness_evictions_total", reason="unsupported_data")
    before = quiet(server)
    with open_socket(f"{server.ws_url}/ws/5") as ws:
        ws.send(b"\x00")
        with pytest.raises(ConnectionClosed):
            receive_text(ws)
    assert quiet(server)[unsupported] == before[unsupported] + 1


def test_a_stalled_member_is_an_eviction() -> None:
    env = {"WSHARNESS_SEND_QUEUE": "8", "WSHARNESS_STALL_S": "1"}
    stalled = key("wsharness_evictions_total", reason="stalled")
    with serve(APPS["hardened"], env=env) as server:
        assert quiet(server)[stalled] == 0
        with socket.socket() as slow:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.settimeout(TIMEOUT_S)
            slow.connect((server.host, server.port))
            slow.sendall(b"GET /ws/666 HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         b"Sec-WebSocket-Version: 13\r\n\r\n")  # and never reads again
            wait_for(server, {MEMBERS: 1})
            with open_socket(f"{server.ws_url}/ws/1", max_size=None) as fast:
                big, received = "x" * 65_536, []
                for _ in range(200):
                    fast.send(big)
                    received.extend(receive_texts(fast, 2))
                    if "Client #666 left the chat" in received:
                        break
                wait_for(server, {stalled: 1})
        quiet(server)


# -- churn: connections that come and go, cleanly or not, leave nothing behind ------------------

def close_cleanly(ws: ClientConnection) -> None:
    ws.close()


def drop(ws: ClientConnection) -> None:
    """End the TCP connection without a close frame (FIN)."""
    ws.socket.shutdown(socket.SHUT_RDWR)
    ws.socket.close()


def reset(ws: ClientConnection) -> None:
    """Abort the TCP connection (RST): linger on, timeout 0."""
    ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.socket.close()


ENDINGS: tuple[Callable[[ClientConnection], None], ...] = (close_cleanly, drop, reset)
PATHS = {"/ws": 1, "/items/churn/ws?token=t": 2, "/ws/{n}": 1}  # path -> replies to read


def test_churn_leaves_no_connection_or_member_behind(server: Server) -> None:
    cycles = 300
    before = quiet(server)
    for number, (path, replies), ending in zip(
            range(cycles), itertools.cycle(PATHS.items()),
            itertools.cycle(ENDINGS * 2 + ENDINGS[::-1]), strict=False):
        with open_socket(server.ws_url + path.format(n=number)) as ws:
            ws.send(f"c{number}")
            receive_texts(ws, replies)
            ending(ws)
    received = {endpoint: before[key(RECEIVED, endpoint=endpoint)] + cycles // 3
                for endpoint in ("echo", "items", "chat")}
    after = quiet(server)
    assert {endpoint: after[key(RECEIVED, endpoint=endpoint)] for endpoint in received} \
        == received
