"""Users against a target that dies mid-run and comes back on the same port: they back off
(a bounded number of errors per user per second of outage), then every user connects again
and talks to the revived target; the results are written and nothing prints a traceback."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests._backoff import RECONNECT_CAP_S, RECONNECT_FIRST_S, Backoff
from reports.results import load_results
from tests.loadtests.running import LiveRun, only_run_dir, stats_row
from tests.target_app.test_metrics import OPEN, RECEIVED, key, scrape_url
from wsharness.serve import Server, serve
from wsharness.timeouts import scaled

USERS = 6
RECOVERED_MESSAGES = 10
RECOVERY_S = 30.0  # bounded wait: a user connects again at most ~2 s after the target is back
QUICK_ATTEMPTS = 5  # backoff pauses under the cap's floor: 0.05, 0.1, 0.2, 0.4, 0.8 s at least


def test_backoff_doubles_up_to_the_cap_with_jitter_and_starts_over_when_reset() -> None:
    backoff = Backoff()
    pauses = [backoff.next_pause_s() for _ in range(8)]
    delays = [min(RECONNECT_CAP_S, RECONNECT_FIRST_S * 2**n) for n in range(8)]
    assert all(d / 2 <= p <= d for p, d in zip(pauses, delays, strict=True))
    assert sum(1 for p in pauses if p < RECONNECT_CAP_S / 2) <= QUICK_ATTEMPTS
    backoff.reset()
    assert backoff.next_pause_s() <= RECONNECT_FIRST_S


class Outage:
    """The reference app on a fixed loopback port that a test can kill and serve again."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.server: Server = self._stack.enter_context(serve())
        self.port = self.server.port
        self.killed_s = self.back_s = 0.0  # wall-clock times: how long the outage lasted

    def kill(self) -> None:
        """The target crashes (SIGKILL): its clients see the TCP connection drop (1006)."""
        self.killed_s = time.time()
        os.killpg(self.server.process.pid, signal.SIGKILL)
        self.server.process.wait()
        self._stack.close()

    def serve_again(self) -> None:
        self.server = self._stack.enter_context(serve(port=self.port))
        self.back_s = time.time()

    @property
    def seconds(self) -> float:
        return self.back_s - self.killed_s

    def close(self) -> None:
        self._stack.close()


@contextlib.contextmanager
def outage() -> Iterator[Outage]:
    target = Outage()
    try:
        yield target
    finally:
        target.close()


def wait_until_every_user_is_back(server: Server, endpoint: str, connections: int) -> None:
    """Until the revived target holds every user's connections and has answered each of
    them RECOVERED_MESSAGES times over; fail with its last counts."""
    wanted = {key(OPEN, endpoint=endpoint): connections,
              key(RECEIVED, endpoint=endpoint): connections * RECOVERED_MESSAGES}
    deadline = time.monotonic() + scaled(RECOVERY_S)
    while True:
        samples = scrape_url(server.url)
        if all(samples.get(name, 0) >= value for name, value in wanted.items()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after the restart, expected at least {wanted}, "
                                 f"/metrics shows { {n: samples.get(n) for n in wanted} }")
        time.sleep(0.05)


@pytest.mark.parametrize(("user", "connections"), [("EchoUser", 1), ("ChatUser", 2)])
def test_users_back_off_while_the_target_is_down_and_recover_when_it_is_back(
        tmp_path: Path, user: str, connections: int) -> None:
    name, endpoint = ("/ws", "echo") if user == "EchoUser" else ("/ws/{client_id}", "chat")
    request_type = "WS RTT"
    with outage() as target, LiveRun(
            "-u", str(USERS), "-r", str(USERS), "-t", "10s", "--host", target.server.url,
            "--chat-room-size", str(connections), user, report_dir=tmp_path) as run:
        run.wait_for(lambda lines: stats_row(lines, request_type, name)[0] >= USERS * 20,
                     "a second of round trips")
        target.kill()
        run.wait_for(lambda lines: stats_row(lines, "WS CONNECT", name)[1] >= USERS * 3,
                     "every user retrying its connect")
        target.serve_again()
        wait_until_every_user_is_back(target.server, endpoint, USERS * connections)
        code = run.finish()
    assert code == 1, run.stderr[-3000:]  # Locust's exit code when requests failed
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    results = load_results(only_run_dir(tmp_path))
    errors = sum(results["errors"].values())
    assert results["errors"]["connect_failed"] >= USERS * 3
    # per user: each connection's close (and the round trip it cut), then one failed connect
    # per backoff pause, which is at least RECONNECT_CAP_S / 2 once the quick ones are spent
    bound = connections + 1 + QUICK_ATTEMPTS + 1 + target.seconds / (RECONNECT_CAP_S / 2)
    assert errors <= USERS * bound, (errors, target.seconds, results["errors"])
    assert results["metrics"][f"connect {name}"]["count"] >= 2 * USERS * connections
    assert (tmp_path / only_run_dir(tmp_path).name / "report.html").is_file()
