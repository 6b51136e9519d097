"""Serve an ASGI app with uvicorn in a subprocess on a free loopback port, for tests and runs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wsharness.tied import tied_command
from wsharness.timeouts import scaled

WS_IMPLS = ("websockets-sansio", "websockets", "wsproto")
STARTUP_TIMEOUT_S = scaled(20.0)


class LaunchError(RuntimeError):
    """The server did not start (one-line message, with the tail of its output)."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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


def uvicorn_command(app: str, *, host: str, port: int, ws: str, workers: int,
                    log_level: str = "warning", extra: tuple[str, ...] = ()) -> list[str]:
    """uvicorn, stopped by the kernel if this process dies without stopping it (`tied`)."""
    return tied_command([sys.executable, "-m", "uvicorn", app, "--host", host, "--port",
                         str(port), "--ws", ws, "--workers", str(workers), "--log-level",
                         log_level, *extra])


@contextlib.contextmanager
def serve(app: str = "target_app:app", *, host: str = "127.0.0.1", port: int | None = None,
          ws: str = "websockets-sansio", workers: int = 1, extra_args: tuple[str, ...] = (),
          log_path: Path | None = None, cwd: Path | None = None,
          env: dict[str, str] | None = None, log_level: str = "warning") -> Iterator[Server]:
    """Run `uvicorn APP` until the block ends; its output goes to log_path (or is discarded)."""
    port = port or free_port(host)
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(
        p for p in (str(cwd or Path.cwd()), os.environ.get("PYTHONPATH", "")) if p)}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        uvicorn_command(app, host=host, port=port, ws=ws, workers=workers,
                        log_level=log_level, extra=extra_args),
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    try:
        wait_until_listening(host, port, STARTUP_TIMEOUT_S, process)
        yield Server(host, port, process)
    finally:
        stop(process)
        if log is not subprocess.DEVNULL:
            log.close()  # type: ignore[union-attr]


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
