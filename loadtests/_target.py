"""The server under load: a host the user named, or the reference app served on loopback."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from loadtests._wsclient import Connection, WsError
from wsharness.serve import LaunchError, Server, serve
from wsharness.servers import DEFAULT_SERVER, ServerError
from wsharness.target import TargetError, is_loopback

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST_OPTION = "--host"  # where a load run's target comes from, for its errors
WARM_UP_PATH = "/ws"  # the reference app's echo: every embedded target has it


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 0


def check_allowed(url: str, named_base: str) -> None:
    """Load goes only to loopback or to the host the user named."""
    hostname, _ = host_and_port(url)
    if not is_loopback(hostname) and hostname != host_and_port(named_base)[0]:
        raise TargetError(
            f"refusing to load {hostname}: neither loopback nor the named {HOST_OPTION}")


class EmbeddedTarget:
    """The reference app in a server's subprocess (uvicorn by default) on a free loopback port,
    for one Locust process."""

    def __init__(self, app: str, server: str = DEFAULT_SERVER) -> None:
        self.app = app
        self.server_name = server
        self._stack = contextlib.ExitStack()
        self.server: Server | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"wsharness-target-{id(self)}.log"

    def start(self) -> Server:
        try:
            self.server = self._stack.enter_context(
                serve(self.app, server=self.server_name, cwd=REPO_ROOT, log_path=self.log_path))
        except ServerError as exc:
            raise TargetError(f"--target-server {exc}") from None
        except LaunchError as exc:
            raise TargetError(f"embedded target {self.app} did not start: {exc} "
                              f"(log: {self.log_path})") from None
        with contextlib.suppress(WsError):  # a cold server's first handshake is slow: not timed
            Connection.open(self.server.ws_url + WARM_UP_PATH, timeout_s=5.0).close()
        return self.server

    def stop(self) -> None:
        self.server = None
        self._stack.close()
