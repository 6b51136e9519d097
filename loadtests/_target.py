"""The server under load: a host the user named, or the reference app served on loopback."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from loadtests._wsclient import Connection, WsError
from wsharness.serve import LaunchError, Server, serve

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
DEFAULT_PORTS = {"ws": 80, "wss": 443}
WARM_UP_PATH = "/ws"  # the reference app's echo: every embedded target has it


class TargetError(Exception):
    """The target is unusable (one-line message)."""


def ws_base(host: str) -> str:
    """`ws://host:port` (or wss) for an http, https, ws or wss URL; no path, no trailing slash."""
    parts = urlsplit(host.strip())
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise TargetError(
            f"--host {host!r}: expected http://, https://, ws:// or wss:// and a host name")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise TargetError(f"--host {host!r}: bad port") from None
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{hostname}:{port}{parts.path.rstrip('/')}"


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 0


def is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def check_allowed(url: str, named_base: str) -> None:
    """Load goes only to loopback or to the host the user named."""
    hostname, _ = host_and_port(url)
    if not is_loopback(hostname) and hostname != host_and_port(named_base)[0]:
        raise TargetError(f"refusing to load {hostname}: neither loopback nor the named --host")


def check_answers(base: str, timeout_s: float = 3.0) -> None:
    """Raise TargetError unless something accepts TCP connections at the target."""
    hostname, port = host_and_port(base)
    try:
        with socket.create_connection((hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise TargetError(f"target {base} does not answer: {reason}") from None


class EmbeddedTarget:
    """The reference app in a uvicorn subprocess on a free loopback port, for one Locust process."""

    def __init__(self, app: str) -> None:
        self.app = app
        self._stack = contextlib.ExitStack()
        self.server: Server | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"wsharness-target-{id(self)}.log"

    def start(self) -> Server:
        try:
            self.server = self._stack.enter_context(
                serve(self.app, cwd=REPO_ROOT, log_path=self.log_path))
        except LaunchError as exc:
            raise TargetError(f"embedded target {self.app} did not start: {exc} "
                              f"(log: {self.log_path})") from None
        with contextlib.suppress(WsError):  # a cold server's first handshake is slow: not timed
            Connection.open(self.server.ws_url + WARM_UP_PATH, timeout_s=5.0).close()
        return self.server

    def stop(self) -> None:
        self.server = None
        self._stack.close()
