"""Serve an ASGI app in a subprocess on loopback, for tests and runs, with uvicorn or another
server (wsharness.servers).

The listening socket is bound here first (wsharness.bind) and handed to the server
(wsharness.handover for uvicorn), so the port is known and held before the server starts;
Granian, which cannot adopt a socket, binds the port itself beside a socket held here
(SO_REUSEPORT, never listening) until the block ends, so that nobody else takes the port. The
server is tied to this process (wsharness.tied) and stopped at the end of the `with` block.
With several uvicorn workers the block begins once every worker serves, and Granian's once
every worker listens on the port, so that connections spread over them from the start;
hypercorn's (one socket, shared by its workers) begins once it answers.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from wsharness import servers
from wsharness.bind import BindError, bind_listening, reserve_port
from wsharness.servers import DEFAULT_SERVER, WS_IMPLS, LaunchError, UvicornOption
from wsharness.target import url_host
from wsharness.tied import tied_command
from wsharness.timeouts import scaled

__all__ = ["STARTUP_S", "WS_IMPLS", "LaunchError", "Server", "UvicornOption", "interrupt", "serve",
           "stop", "wait_until_all_listen", "wait_until_answering", "wait_until_listening",
           "wait_until_ready", "worker_pids"]
STARTUP_S = 20.0  # before WSHARNESS_TIMEOUT_SCALE, which is read only when a server starts
ANSWER_PROBE = b"GET / HTTP/1.1\r\nHost: wsharness\r\nConnection: close\r\n\r\n"
SPAWNED = b"multiprocessing.spawn"  # uvicorn's workers are spawned processes
TCP_LISTEN = "0A"  # the state column of /proc/net/tcp


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    name: str = DEFAULT_SERVER  # which server (wsharness.servers.SERVERS)
    ws: str | None = None  # uvicorn's WebSocket implementation; None for other servers

    @property
    def label(self) -> str:
        """`uvicorn-websockets-sansio`, `hypercorn`, ..."""
        return servers.label(self.name, self.ws)

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


def wait_until_answering(host: str, port: int, timeout_s: float,
                         process: subprocess.Popen[bytes]) -> None:
    """Wait for a first byte of an answer to an HTTP request: a socket handed over listening
    takes connections before the server reads them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LaunchError(f"server exited with code {process.returncode} before answering")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5) as probe:
            probe.settimeout(0.5)
            probe.sendall(ANSWER_PROBE)
            if probe.recv(1):
                return
        time.sleep(0.05)
    raise LaunchError(f"nothing answers on {host}:{port} after {timeout_s:.0f}s")


def wait_until_all_listen(port: int, workers: int, timeout_s: float,
                          process: subprocess.Popen[bytes]) -> None:
    """Wait until the server's processes hold `workers` sockets listening on the port: a
    server whose workers each bind the port (SO_REUSEPORT: Granian) takes connections on
    every worker from then on, and has finished starting."""
    deadline = time.monotonic() + timeout_s
    while (found := listening_sockets(port, process_tree(process.pid))) < workers:
        if process.poll() is not None:
            raise LaunchError(f"server exited with code {process.returncode} before its "
                              "workers all listened")
        if time.monotonic() > deadline:
            raise LaunchError(f"{found} of the server's {workers} workers listen on port {port} "
                              f"after {timeout_s:.0f}s")
        time.sleep(0.05)


def listening_sockets(port: int, pids: list[int]) -> int:
    """How many TCP sockets listening on the port (IPv4 or IPv6) these processes hold."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inodes.add(int(link[8:-1]))
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if (fields[3] == TCP_LISTEN and int(fields[1].rpartition(":")[2], 16) == port
                        and int(fields[9]) in inodes):
                    count += 1
    return count


def process_tree(pid: int) -> list[int]:
    """pid and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        tree.append(current := pending.pop())
        pending.extend(children.get(current, []))
    return tree


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


@contextlib.contextmanager
def serve(app: str = "target_app:app", *, server: str = DEFAULT_SERVER, host: str = "127.0.0.1",
          port: int = 0, ws: str | None = None, workers: int = 1,
          options: Mapping[str, UvicornOption] | None = None, log_path: Path | None = None,
          cwd: Path | None = None, env: dict[str, str] | None = None,
          log_level: str = "warning") -> Iterator[Server]:
    """Run APP under `server` (wsharness.servers.SERVERS) until the block ends, on host:port
    (port 0: any free port); ws is uvicorn's WebSocket implementation (None: its default; other
    servers take none); options are uvicorn.Config keywords, which other servers translate or
    refuse (wsharness.servers.Unsupported); its output goes to log_path (or is discarded).

    A server that is not installed, or cannot serve as asked, raises a ServerError (a
    LaunchError) with one line before anything starts."""
    options = dict(options or {})
    kind = servers.check_request(server, ws=ws, workers=workers, options=options,
                                 log_level=log_level)
    ws = (ws or WS_IMPLS[0]) if server == "uvicorn" else None
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(
        p for p in (str(cwd or Path.cwd()), os.environ.get("PYTHONPATH", "")) if p)}
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "wb")) if log_path else subprocess.DEVNULL
        ready, told = os.pipe() if workers > 1 and server == "uvicorn" else (None, None)
        told_closed = stack.enter_context(contextlib.ExitStack())  # once the server has it
        if ready is not None and told is not None:
            stack.callback(os.close, ready)
            told_closed.callback(os.close, told)
        try:
            sock = (bind_listening if kind.adopts_socket else reserve_port)(host, port)
        except BindError as exc:
            raise LaunchError(str(exc)) from None
        if not kind.adopts_socket:  # held, never listening, until the server has stopped
            stack.enter_context(sock)
        with contextlib.ExitStack() as handed:  # the server holds the only copy once it runs
            if kind.adopts_socket:
                handed.enter_context(sock)
            servers.check_family(server, sock.family, host)
            port = sock.getsockname()[1]
            if not kind.listens_itself:
                sock.listen(servers.handover_backlog(options))
            try:
                process = subprocess.Popen(
                    tied_command(servers.command(
                        server, app, fd=sock.fileno(), host=host, port=port, ws=ws,
                        workers=workers, log_level=log_level, options=options, ready_fd=told)),
                    pass_fds=((sock.fileno(),) if kind.adopts_socket else ())
                    + (() if told is None else (told,)), stdout=log,
                    stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
            finally:
                told_closed.close()  # the server holds the only write end: it ends with it
        try:
            if kind.listens_itself:
                wait_until_listening(host, port, scaled(STARTUP_S), process)
            else:
                wait_until_answering(host, port, scaled(STARTUP_S), process)
            if ready is not None:
                wait_until_ready(ready, scaled(STARTUP_S), process)
            if not kind.adopts_socket:
                wait_until_all_listen(port, workers, scaled(STARTUP_S), process)
            yield Server(host, port, process, server, ws)
        finally:
            stop(process, group=kind.interrupt_group)


def interrupt(process: subprocess.Popen[bytes], *, group: bool = True) -> None:
    """SIGINT, as Ctrl-C sends it: to the server's process group, or to its main process only
    (group=False: wsharness.servers.ServerKind.interrupt_group)."""
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)


def stop(process: subprocess.Popen[bytes], grace_s: float = 10.0, *, group: bool = True) -> None:
    """Stop a server like Ctrl-C does, then harder if it lingers."""
    if process.poll() is not None:
        return
    interrupt(process, group=group)
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
