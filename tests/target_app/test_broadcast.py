"""The default app's chat room relayed through a real Redis, served by two uvicorn workers:
one room across the workers with its guarantees, flow control from one worker's full buffer to
another worker's publisher, and what losing Redis does (a close code, one log line, no hang),
until Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection

from conformance.client import open_connection
from target_app.broadcast import (
    BROADCAST_ENV,
    LIVENESS_S,
    REDIS_TIMEOUT_S,
    BroadcastError,
    parse_broadcast_url,
)
from tests.redis_server import RedisServer
from tests.target_app.conftest import APPS
from tests.target_app.test_cli import announced_port, run_and_fail, target_app_process
from tests.target_app.test_metrics import scrape, scrape_url
from tests.target_app.wire import TIMEOUT_S, open_socket, receive_text, receive_texts
from tests.workers import holder, worker_pids
from wsharness.bind import bind_listening
from wsharness.serve import Server, serve, wait_until_listening
from wsharness.stall import STALL_ENV
from wsharness.timeouts import scaled

WORKERS = 2
LOST = CloseCode.INTERNAL_ERROR  # 1011: the room can no longer promise delivery
LOST_LINE = "lost its Redis broadcast"
CLOSED_IN_LINE = re.compile(r"(\d+) chat client\(s\) closed with 1011")
JOIN_ATTEMPTS = 40
QUIET_S = scaled(0.5)
ids = itertools.count(1000)


@contextlib.contextmanager
def room_server(redis_at: RedisServer, log_path: Path,
                env: dict[str, str] | None = None) -> Iterator[Server]:
    with serve(APPS["hardened"], workers=WORKERS, log_path=log_path, log_level="info",
               env={BROADCAST_ENV: redis_at.url, **(env or {})}) as server:
        yield server


class Members:
    """Chat clients of one server, opened until every worker holds at least `each` of them."""

    def __init__(self, server: Server, stack: contextlib.ExitStack) -> None:
        self.server = server
        self.stack = stack  # closes every member
        self.workers = wait_for_workers(server)
        self.by_worker: dict[int, list[tuple[int, ClientConnection]]] = {
            pid: [] for pid in self.workers}

    def fill(self, each: int) -> Members:
        for _ in range(JOIN_ATTEMPTS):
            if all(len(joined) >= each for joined in self.by_worker.values()):
                return self
            client_id = next(ids)
            ws = self.stack.enter_context(open_socket(f"{self.server.ws_url}/ws/{client_id}"))
            pid = holder(self.workers, self.server.port, ws.socket.getsockname()[1])
            assert pid is not None, "no worker holds the connection"
            self.by_worker[pid].append((client_id, ws))
        raise AssertionError(f"{JOIN_ATTEMPTS} connections did not reach every worker")

    @property
    def all(self) -> list[tuple[int, ClientConnection]]:
        return [member for joined in self.by_worker.values() for member in joined]


def wait_for_workers(server: Server) -> list[int]:
    deadline = time.monotonic() + TIMEOUT_S
    while len(pids := worker_pids(server.process.pid)) < WORKERS:
        assert time.monotonic() < deadline, f"workers: {pids}"
        time.sleep(0.05)
    return pids


def quiet(ws: ClientConnection) -> list[str]:
    """What arrives until QUIET_S passes without a message."""
    got = []
    for _ in range(1000):
        try:
            got.append(receive_text(ws, QUIET_S))
        except TimeoutError:
            break
    return got


def close_code(ws: ClientConnection) -> int | None:
    """Read until the connection ends (at most 1000 messages); the close code received."""
    for _ in range(1000):
        try:
            ws.recv(REDIS_TIMEOUT_S + LIVENESS_S + TIMEOUT_S)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None
        except TimeoutError:
            return None
    return None


def lost_lines(log_path: Path) -> list[str]:
    return [line for line in log_path.read_text().splitlines() if LOST_LINE in line]


def closes_in(line: str) -> int:
    found = CLOSED_IN_LINE.search(line)
    assert found, line
    return int(found[1])


def joins(server: Server, stack: contextlib.ExitStack) -> tuple[int, ClientConnection] | int:
    """A member that joined and was answered (closed with stack), or the close code the room
    closed it with."""
    client_id = next(ids)
    ws = stack.enter_context(open_socket(f"{server.ws_url}/ws/{client_id}"))
    try:
        ws.send("hello")
        assert receive_texts(ws, 2) == ["You wrote: hello", f"Client #{client_id} says: hello"]
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else 0
    return client_id, ws


def test_broadcast_urls_are_checked() -> None:
    assert parse_broadcast_url("redis://127.0.0.1:6390/3").channel == "wsharness:3:chat"
    assert parse_broadcast_url("redis://:secret@cache/0").shown == "redis://cache:6379/0"
    for bad in ("http://127.0.0.1:6379/0", "redis://", "redis://host:99999/0",
                "redis://host/zero", "redis://host/0?db=1", "127.0.0.1:6379"):
        with pytest.raises(BroadcastError, match="expected redis://host:port/N"):
            parse_broadcast_url(bad, "--broadcast")


def test_the_room_spans_the_workers(redis_at: RedisServer, tmp_path: Path) -> None:
    """Every member gets every member's messages, each sender's in order, its own `You wrote`
    just before its own copy; a departure is announced once, on every worker."""
    with room_server(redis_at, tmp_path / "server.log") as server, \
            contextlib.ExitStack() as stack:
        members = Members(server, stack).fill(2)
        texts = {i: [f"m{n} from {i}" for n in range(3)] for i, _ in members.all}
        for client_id, ws in members.all:
            for text in texts[client_id]:
                ws.send(text)
        for receiver, ws in members.all:
            got = receive_texts(ws, 3 * len(texts) + 3)
            for sender, sent in texts.items():
                from_sender = [m for m in got if m.startswith(f"Client #{sender} says")
                               or (sender == receiver and m.startswith("You wrote"))]
                expected = [f"Client #{sender} says: {t}" for t in sent]
                if sender == receiver:
                    expected = [e for t in sent for e in (f"You wrote: {t}",
                                                          f"Client #{sender} says: {t}")]
                assert from_sender == expected
        (leaver, leaving), *staying = members.all
        leaving.close()
        for _, ws in staying:
            assert quiet(ws) == [f"Client #{leaver} left the chat"]
    assert not lost_lines(tmp_path / "server.log")


def test_losing_redis_closes_the_chat_with_1011_and_a_log_line_until_redis_returns(
        redis_at: RedisServer, tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with room_server(redis_at, log_path) as server, contextlib.ExitStack() as stack:
        members = Members(server, stack).fill(2)
        redis_at.stop()
        assert [close_code(ws) for _, ws in members.all] == [LOST] * len(members.all)
        with open_socket(f"{server.ws_url}/ws") as echo:  # the rest of the app goes on
            echo.send("still here")
            assert receive_text(echo) == "Message text was: still here"
        assert joins(server, stack) == LOST  # a new member is closed at once meanwhile
        lines = lost_lines(log_path)
        assert len(lines) == WORKERS, lines  # one line per worker, each naming its closes
        assert sum(closes_in(line) for line in lines) == len(members.all)
        redis_at.restart()
        (speaker, ws), *others = rejoin_every_worker(server, stack)
        ws.send("back")
        assert receive_texts(ws, 2) == ["You wrote: back", f"Client #{speaker} says: back"]
        for _, other in others:
            assert f"Client #{speaker} says: back" in quiet(other)
    assert "Traceback" not in log_path.read_text()


def rejoin_every_worker(server: Server,
                        stack: contextlib.ExitStack) -> list[tuple[int, ClientConnection]]:
    """Join until a member of every worker was answered (each worker tries Redis again when a
    member arrives, at most once a second)."""
    workers = worker_pids(server.process.pid)
    joined: dict[int, tuple[int, ClientConnection]] = {}
    for _ in range(JOIN_ATTEMPTS):
        member = joins(server, stack)
        if isinstance(member, int):
            assert member == LOST
            time.sleep(0.25)
            continue
        pid = holder(workers, server.port, member[1].socket.getsockname()[1])
        assert pid is not None
        joined.setdefault(pid, member)
        if len(joined) == len(workers):
            for _, ws in joined.values():
                quiet(ws)  # the other rejoined members' messages
            return list(joined.values())
    raise AssertionError(f"only {len(joined)} of {len(workers)} workers took members again")


def test_a_frozen_redis_is_lost_too(redis_at: RedisServer, tmp_path: Path) -> None:
    """Redis stops answering but keeps its connections: the heartbeat does not come back, or a
    publish times out, and the members are closed with 1011, not left hanging."""
    log_path = tmp_path / "server.log"
    with room_server(redis_at, log_path) as server, contextlib.ExitStack() as stack:
        members = Members(server, stack).fill(1)
        redis_at.pause()
        try:
            assert [close_code(ws) for _, ws in members.all] == [LOST] * len(members.all)
        finally:
            redis_at.resume()
    assert len(lost_lines(log_path)) == WORKERS


def test_a_worker_that_loses_its_subscription_announces_its_members_departures(
        redis_at: RedisServer, tmp_path: Path) -> None:
    """Redis drops one worker's subscription (as when its output buffer overflows): that
    worker's members are closed with 1011, and the other worker's members get each of their
    departures once, then go on chatting."""
    log_path = tmp_path / "server.log"
    with room_server(redis_at, log_path) as server, contextlib.ExitStack() as stack:
        members = Members(server, stack).fill(2)
        client = redis.Redis.from_url(redis_at.url)
        try:
            subscribers = [c for c in client.client_list() if int(c["sub"]) > 0]
            assert len(subscribers) == WORKERS
            client.client_kill_filter(_id=subscribers[0]["id"])
        finally:
            client.close()
        [line] = lost_lines_eventually(log_path)
        outcomes = {client_id: read_all(ws) for client_id, ws in members.all}
        closed = [i for i, (_, code) in outcomes.items() if code is not None]
        staying = [(i, ws) for i, ws in members.all if outcomes[i][1] is None]
        assert {outcomes[i][1] for i in closed} == {LOST}
        assert closed
        assert staying
        assert closes_in(line) == len(closed)
        departures = sorted(f"Client #{i} left the chat" for i in closed)
        for client_id, _ in staying:
            assert sorted(outcomes[client_id][0]) == departures
        (speaker, ws), *others = staying
        ws.send("after")
        assert receive_texts(ws, 2) == ["You wrote: after", f"Client #{speaker} says: after"]
        for _, other in others:
            assert receive_text(other) == f"Client #{speaker} says: after"


def lost_lines_eventually(log_path: Path) -> list[str]:
    deadline = time.monotonic() + TIMEOUT_S
    while not (lines := lost_lines(log_path)):
        assert time.monotonic() < deadline, "no worker logged the loss"
        time.sleep(0.05)
    return lines


def read_all(ws: ClientConnection) -> tuple[list[str], int | None]:
    """What arrives until QUIET_S passes without a message, and the close code if the server
    closed the connection meanwhile (None: still open)."""
    got: list[str] = []
    for _ in range(1000):
        try:
            got.append(receive_text(ws, QUIET_S))
        except ConnectionClosed as exc:
            return got, exc.rcvd.code if exc.rcvd is not None else 0
        except TimeoutError:
            break
    return got, None


# 4,000 messages of 2,500 chars: 10 MB for the stalled member, over twice what loopback buffers
# for it (its send buffer, uvicorn's, and tcp_wmem's 4 MB at most)
PIPELINED = 4000
CHARS = 2500
STALL_S = 2.0


def test_a_full_buffer_on_one_worker_holds_the_publishers_of_the_other(
        redis_at: RedisServer, tmp_path: Path) -> None:
    """A member of worker A reads nothing while a member of worker B pipelines 4,000 messages:
    A's relay waits on the full buffer and holds B's publisher, so what waits in A's relay
    queue stays small; once the stalled member is evicted, a reading member of A gets every
    message in order, and the stalled member's `left the chat`."""
    with room_server(redis_at, tmp_path / "server.log", {STALL_ENV: str(STALL_S)}) as server:
        outcome = asyncio.run(asyncio.wait_for(stall_across_workers(server), scaled(60)))
    texts = [f"{n:05} " + "x" * CHARS for n in range(PIPELINED)]
    copies = [m for m in outcome.reader if " says: " in m]
    assert copies == [f"Client #{outcome.publisher} says: {t}" for t in texts]
    assert [m for m in outcome.reader if m not in copies] == [
        f"Client #{outcome.stalled} left the chat"]  # anywhere: after its own messages
    assert outcome.stalled_close == CloseCode.TRY_AGAIN_LATER
    assert outcome.scrapes_of_the_stalled_worker > 0
    assert outcome.largest_backlog < PIPELINED // 3, outcome.largest_backlog


class StallOutcome:
    def __init__(self) -> None:
        self.publisher = self.stalled = 0
        self.reader: list[str] = []
        self.stalled_close: int | None = None
        self.scrapes_of_the_stalled_worker = 0
        self.largest_backlog = 0


async def place(server: Server, placed: dict[str, tuple[int, AsyncConnection]]) -> None:
    """Open members until the stalled one (a 32 KiB receive window) and the reader are on one
    worker and the publisher on the other; the others leave again, announced before the end."""
    workers = await asyncio.to_thread(wait_for_workers, server)
    wanted = {"stalled": 0, "reader": 0, "publisher": 1}  # worker index each must be on
    spare: list[AsyncConnection] = []
    for _ in range(JOIN_ATTEMPTS):
        role = next((r for r in wanted if r not in placed), None)
        if role is None:
            break
        client_id = next(ids)
        ws = await open_connection(f"{server.ws_url}/ws/{client_id}",
                                   receive_buffer=32 * 1024 if role == "stalled" else None)
        pid = holder(workers, server.port, ws.transport.get_extra_info("sockname")[1])
        if pid == workers[wanted[role]]:
            placed[role] = (client_id, ws)
        else:
            spare.append(ws)
    for ws in spare:
        await ws.close()
    assert len(placed) == len(wanted), "the connections did not reach both workers"
    for role in ("reader", "publisher"):
        for _ in range(len(spare)):  # their `left the chat`
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(placed[role][1].recv(), QUIET_S)


async def stall_across_workers(server: Server) -> StallOutcome:
    outcome = StallOutcome()
    placed: dict[str, tuple[int, AsyncConnection]] = {}
    try:
        await place(server, placed)
        (outcome.stalled, stalled), (_, reader) = placed["stalled"], placed["reader"]
        outcome.publisher, publisher = placed["publisher"]
        scraping = asyncio.create_task(watch_backlog(server, outcome))
        texts = [f"{n:05} " + "x" * CHARS for n in range(PIPELINED)]
        mine = asyncio.create_task(drain(publisher, 2 * PIPELINED + 1))
        reading = asyncio.create_task(drain(reader, PIPELINED + 1))
        for text in texts:
            await publisher.send(text)
        outcome.reader = await reading
        await mine
        scraping.cancel()
        try:
            while True:
                await asyncio.wait_for(stalled.recv(), TIMEOUT_S)
        except ConnectionClosed as exc:
            outcome.stalled_close = exc.rcvd.code if exc.rcvd is not None else None
    finally:
        for _, ws in placed.values():
            await ws.close()
    return outcome


async def drain(ws: AsyncConnection, count: int) -> list[str]:
    got = []
    for _ in range(count):
        message = await asyncio.wait_for(ws.recv(), scaled(30))
        assert isinstance(message, str)
        got.append(message)
    return got


async def watch_backlog(server: Server, outcome: StallOutcome) -> None:
    """Scrape /metrics (either worker answers); the stalled worker's scrapes are those with a
    full send buffer: record the largest relay backlog they show."""
    while True:
        samples = await asyncio.to_thread(scrape, server)
        if samples.get("wsharness_queued_bytes", 0) > 64 * 1024:
            outcome.scrapes_of_the_stalled_worker += 1
            outcome.largest_backlog = max(outcome.largest_backlog,
                                          int(samples["wsharness_broadcast_backlog"]))
        await asyncio.sleep(0.02)


# -- python -m target_app --broadcast ----------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--broadcast", "http://127.0.0.1:6379/0"], "--broadcast 'http://127.0.0.1:6379/0': "
                                                 "expected redis://host:port/N"),
    (["--broadcast", "redis://127.0.0.1:6379/x"], "(N: a database number, not 'x')"),
    (["--variant", "docs", "--broadcast", "redis://127.0.0.1/0"],
     "--broadcast: the docs variant keeps the documented room in memory"),
])
def test_a_bad_broadcast_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    code, errors = run_and_fail(*args)
    assert code == 1
    assert len(errors) == 1
    assert message in errors[0]


def test_a_broadcast_redis_that_does_not_answer_is_one_line_and_exit_1() -> None:
    with bind_listening("127.0.0.1", 0) as held:  # bound, never listening: refused
        port = held.getsockname()[1]
        code, errors = run_and_fail("--broadcast", f"redis://127.0.0.1:{port}/0")
    assert code == 1
    [error] = errors
    assert error.startswith(f"python -m target_app: error: --broadcast redis://127.0.0.1:{port}/0:"
                            " Redis does not answer (")  # then redis-py's reason


def test_workers_without_a_broadcast_are_warned_that_the_room_does_not_span_them() -> None:
    with target_app_process("--port", "0", "--workers", "2") as process:
        announced_port(process, "hardened")
        assert process.stdout is not None
        assert process.stdout.readline().decode().strip() == (
            "python -m target_app: warning: --workers 2 without --broadcast: each worker has "
            "a chat room of its own in memory, so the room does not span workers")


def test_workers_with_a_broadcast_share_the_room(redis_at: RedisServer) -> None:
    with target_app_process("--port", "0", "--workers", "2", "--broadcast",
                            redis_at.url) as process:
        port = announced_port(process, "hardened")
        wait_until_listening("127.0.0.1", port, TIMEOUT_S, process)
        deadline = time.monotonic() + TIMEOUT_S
        while scrape_url(f"http://127.0.0.1:{port}").get("wsharness_broadcast_up") != 1:
            assert time.monotonic() < deadline, "no worker shows its Redis on /metrics"
            time.sleep(0.05)
        redis_at.wait_for_subscribers(parse_broadcast_url(redis_at.url).channel, 2)
        with open_socket(f"ws://127.0.0.1:{port}/ws/1") as one, \
                open_socket(f"ws://127.0.0.1:{port}/ws/2") as two:
            one.send("hi")
            assert receive_texts(one, 2) == ["You wrote: hi", "Client #1 says: hi"]
            assert receive_text(two) == "Client #1 says: hi"
