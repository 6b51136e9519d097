"""A real Redis (Debian's redis-server) on a free loopback port, for the tests that relay the
chat room across workers: started, waited on until it answers, stopped at the end of the block.

It binds its port itself (Redis takes no inherited socket), so the port is one nothing
listened on a moment before; a start that loses the port to someone else is tried again on
another. `restart()` brings a stopped server back on the same port, as an outage ends.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from wsharness.bind import free_port
from wsharness.tied import tied_command
from wsharness.timeouts import scaled

REDIS_SERVER = "redis-server"
START_TIMEOUT_S = scaled(10.0)
STOP_TIMEOUT_S = scaled(10.0)
START_ATTEMPTS = 3


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            if self._started():
                return
        raise RuntimeError(f"redis-server did not start (log: {self.log_path})")

    def restart(self) -> None:
        """Start again on the same port, after stop()."""
        if not self._started():
            raise RuntimeError(f"redis-server did not start again (log: {self.log_path})")

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def _started(self) -> bool:
        binary = shutil.which(REDIS_SERVER)
        if binary is None:
            raise RuntimeError(f"{REDIS_SERVER} missing: run scripts/bootstrap --system")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                tied_command([binary, "--port", str(self.port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", str(self.directory),
                              "--daemonize", "no"]),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    if client.ping():
                        return True
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        return False

    def stop(self) -> None:
        """Stop Redis (SIGKILL: an outage, not a shutdown that saves anything)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL)
        process.wait(STOP_TIMEOUT_S)

    def pause(self) -> None:
        """Freeze Redis (SIGSTOP): it holds its connections and answers nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def wait_for_subscribers(self, channel: str, count: int) -> None:
        """Until count clients (a room's workers) have subscribed to channel."""
        client = redis.Redis.from_url(self.url)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while client.pubsub_numsub(channel)[0][1] < count:
                assert time.monotonic() < deadline, f"{count} subscribers never came"
                time.sleep(0.05)
        finally:
            client.close()


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()  # SIGKILL ends a paused server too
