"""ChatUser: what its fan-out times, copy by copy, against the reference app; and a ChatUser
that cannot join the whole room: what it joined is closed again, its readers stop, it retries
after the backoff, and nothing prints a traceback."""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path

import gevent
from locust.env import Environment

from loadtests._recorder import RECORDER
from loadtests._wsclient import Connection
from loadtests.chat_user import MACHINE, NAME, ChatUser
from loadtests.ws_user import now_ns
from reports.results import decode_histogram, load_results
from target_app.broadcast import BROADCAST_ENV
from tests.loadtests.running import (
    REPO,
    LiveRun,
    only_run_dir,
    results_of,
    run_master_and_workers,
    stats_row,
)
from tests.redis_server import RedisServer
from tests.target_app.test_metrics import MEMBERS
from tests.target_app.test_metrics import wait_for as wait_for_metrics
from wsharness.serve import serve
from wsharness.timeouts import scaled

USERS = 3
ROOM = 3  # the in-process user's connections: it speaks on one and listens on all
SPOKEN = 12  # messages the user sends
FROM_ANOTHER_PROCESS = 7  # messages tagged as sent by another process of this machine
FROM_ANOTHER_MACHINE = 5  # messages tagged as sent from another machine (another clock)
WAIT_S = scaled(30)


def drain(connection: Connection) -> None:
    """Read everything the room sends this client, so it is never a stalled member."""
    while True:
        connection.recv(WAIT_S)


def test_a_chat_user_times_each_copy_sent_on_this_machine_but_not_its_own_echo() -> None:
    """Copies of its own messages on its other connections, and every copy from another
    process of this machine, are timed once each; its `You wrote` replies are its round trips;
    the copy its speaker gets of its own message, and copies from another machine, are not."""
    RECORDER.reset()
    environment = Environment(user_classes=[ChatUser], parsed_options=argparse.Namespace(
        chat_room_size=ROOM, message_rate=0))
    with serve() as server:
        environment.host = server.url
        user = ChatUser(environment)
        user.on_start()
        other = Connection.open(f"{server.ws_url}/ws/1", timeout_s=WAIT_S)
        reader = gevent.spawn(drain, other)
        try:
            user.join()
            wait_for_metrics(server, {MEMBERS: ROOM + 1})  # every connection is in the room
            for sequence in range(FROM_ANOTHER_PROCESS):
                other.send_text(f"{MACHINE}.1.1|{sequence}|{now_ns()} from another process")
            for sequence in range(FROM_ANOTHER_MACHINE):
                other.send_text(f"elsewhere.1.1|{sequence}|{now_ns()} from another machine")
            for _ in range(SPOKEN):
                user.speak()
            # the speaker: a reply and a copy per message it sent; every connection: a copy
            # of each message from the others
            expected = SPOKEN + ROOM * (SPOKEN + FROM_ANOTHER_PROCESS + FROM_ANOTHER_MACHINE)
            deadline = time.monotonic() + WAIT_S
            while RECORDER.received < expected:
                assert time.monotonic() < deadline, f"{RECORDER.received} of {expected} read"
                gevent.sleep(0.01)
            fanout = RECORDER.samples("fanout", NAME)
            assert len(fanout) == (ROOM - 1) * SPOKEN + ROOM * FROM_ANOTHER_PROCESS
            assert all(delay > 0 for delay in fanout)
            assert len(RECORDER.samples("rtt", NAME)) == SPOKEN
            assert RECORDER.received == expected
            assert not RECORDER.errors
        finally:
            user.on_stop()
            reader.kill()
            other.close()
            RECORDER.reset()


def test_a_chat_user_whose_join_is_refused_holds_nothing_open_and_retries(
        tmp_path: Path) -> None:
    """Room size 2: each join opens an even id (accepted), then an odd one (refused)."""
    with serve("tests.loadtests.refusing_app:app", cwd=REPO) as server, LiveRun(
            "-u", str(USERS), "-r", str(USERS), "-t", "3s", "--host", server.url,
            "--chat-room-size", "2", "ChatUser", report_dir=tmp_path) as run:
        run.wait_for(lambda lines: stats_row(lines, "WS CONNECT", "/ws/{client_id}")[1]
                     >= USERS * 3, "every user refused three times")
        code = run.finish()
        with urllib.request.urlopen(f"{server.url}/held", timeout=5) as response:
            held = json.load(response)
    assert code == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert held["now"] == 0
    assert held["most"] <= USERS  # a leak would hold one more per retry
    results = load_results(only_run_dir(tmp_path))
    assert set(results["errors"]) == {"refused"}  # no reader reported a closed connection
    refused = results["errors"]["refused"]
    assert refused == held["refused"]
    assert USERS * 3 <= refused <= USERS * 8  # the backoff: at most 5 quick retries in 1.6 s
    assert results["close_codes"] == {"1000": results["metrics"]["connect /ws/{client_id}"]
                                      ["count"]}
    assert "fanout /ws/{client_id}" not in results["metrics"]


def test_fan_out_is_timed_across_locust_workers_against_server_workers_on_redis(
        tmp_path: Path, redis_at: RedisServer) -> None:
    """A master and two workers started apart, one ChatUser each, against the reference app's
    room on two uvicorn workers and Redis: each Locust worker times the copies of the other
    one's messages (a user's own copy is never timed), and the master adds them up exactly."""
    with serve(workers=2, env={BROADCAST_ENV: redis_at.url}) as server:
        results = results_of(run_master_and_workers(
            "-u", "2", "-r", "2", "-t", "3s", "--host", server.url, "--chat-room-size", "1",
            "--worker-snapshots", "ChatUser", report_dir=tmp_path), tmp_path)
    assert results["errors"] == {}
    snapshots = [json.loads(path.read_text()) for path in
                 sorted((only_run_dir(tmp_path) / "workers").glob("*.json"))]
    parts = [decode_histogram(snapshot["metrics"][f"fanout {NAME}"]["hdr"])
             for snapshot in snapshots]
    assert [part.get_total_count() > 0 for part in parts] == [True, True]
    sent = [snapshot["sent"] for snapshot in snapshots]
    for part, other_sent in zip(parts, reversed(sent), strict=True):
        assert part.get_total_count() <= other_sent  # one copy of each of the other's messages
    merged = decode_histogram(results["metrics"][f"fanout {NAME}"]["hdr"])
    total = parts[0]
    total.add(parts[1])
    assert merged.equals(total)
