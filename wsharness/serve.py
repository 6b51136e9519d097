"""Serve an ASGI app with uvicorn in a subprocess on loopback, for tests and runs.

The listening socket is bound here first (wsharness.bind) and handed to the server
(wsharness.handover), so the port is known and held before the server starts; the server
is tied to this process (wsharness.tied) and stopped at the end of the `with` block. With
several workers the block begins once every worker serves, so that connections spread over
them from the start.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from wsharness.bind import BindError, bind_listening
from wsharness.target import url_host
from wsharness.tied import tied_command
from wsharness.timeouts import scaled

WS_IMPLS = ("websockets-sansio", "websockets", "wsproto")
STARTUP_S = 20.0  # before WSHARNESS_TIMEOUT_SCALE, which is read only when a server starts
UvicornOption = str | int | float | bool  # a uvicorn.Config keyword's value, as JSON carries it
SPAWNED = b"multiprocessing.spawn"  # uvicorn's workers are spawned processes


class LaunchError(RuntimeError):
    """The server did not start (one-line message)."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{url_host(self.host)}:{self.port}"


def wait_until_listening(host: str, port: int, timeout_s: float,
                         process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise LaunchError(f"server exited with code {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise LaunchError(f"nothing listens on {host}:{port} after {timeout_s:.0f}s")


def wait_until_ready(ready: int, timeout_s: float,
                     process: subprocess.Popen[bytes]) -> None:
    """Wait for the line the server writes to the pipe `ready` once all its workers serve."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        if select.select([ready], [], [], min(remaining, 0.5))[0]:
            if os.read(ready, 16):
                return
            raise LaunchError("a server worker failed to start (see the server's log)")
        if process.poll() is not None:
            raise LaunchError(f"server exited with code {process.returncode} before its "
                              "workers all served")
    raise LaunchError(f"the server's workers did not all start within {timeout_s:.0f}s")


def uvicorn_command(app: str, *, fd: int, ws: str, workers: int, log_level: str,
                    options: Mapping[str, UvicornOption], ready_fd: int | None = None) -> list[str]:
    """uvicorn on the bound socket fd, stopped by the kernel if this process dies without
    stopping it (`tied`); with ready_fd, it writes a line there once every worker serves."""
    ready = ["--ready-fd", str(ready_fd)] if ready_fd is not None else []
    return tied_command([sys.executable, "-m", "wsharness.handover", app, "--fd", str(fd),
                         "--ws", ws, "--workers", str(workers), "--log-level", log_level,
                         "--options", json.dumps(dict(options)), *ready])


@contextlib.contextmanager
def serve(app: str = "target_app:app", *, host: str = "127.0.0.1", port: int = 0,
          ws: str = WS_IMPLS[0], workers: int = 1,
          options: Mapping[str, UvicornOption] | None = None, log_path: Path | None = None,
          cwd: Path | None = None, env: dict[str, str] | None = None,
          log_level: str = "warning") -> Iterator[Server]:
    """Run uvicorn on APP until the block ends, on host:port (port 0: any free port); options
    are further uvicorn.Config keywords; its output goes to log_path (or is discarded)."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(
        p for p in (str(cwd or Path.cwd()), os.environ.get("PYTHONPATH", "")) if p)}
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "wb")) if log_path else subprocess.DEVNULL
        try:
            sock = bind_listening(host, port)
        except BindError as exc:
            raise LaunchError(str(exc)) from None
        ready, told = os.pipe() if workers > 1 else (None, None)
        if ready is not None:
            stack.callback(os.close, ready)
        with sock:  # the server holds the only copy once it runs: the port ends with it
            port = sock.getsockname()[1]
            try:
                process = subprocess.Popen(
                    uvicorn_command(app, fd=sock.fileno(), ws=ws, workers=workers,
                                    log_level=log_level, options=options or {}, ready_fd=told),
                    pass_fds=(sock.fileno(), *([] if told is None else [told])), stdout=log,
                    stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
            finally:
                if told is not None:  # the server holds the only write end: it ends with it
                    os.close(told)
        try:
            wait_until_listening(host, port, scaled(STARTUP_S), process)
            if ready is not None:
                wait_until_ready(ready, scaled(STARTUP_S), process)
            yield Server(host, port, process)
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Stop a server like Ctrl-C does, then harder if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def worker_pids(server_pid: int) -> list[int]:
    """The worker processes of a uvicorn started with --workers N (its spawned children)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if parent == server_pid and SPAWNED in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
    return sorted(pids)
