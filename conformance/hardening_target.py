"""The hardening group's view of its target: the server's limits, and servers a check owns.

A `--url` target is told its limits by options (defaults: uvicorn's). With `--app` the suite
serves the app itself and passes it the size limit; a check that stops a server, reads its
log, needs other settings (short pings) or may leave it broken (a room with a dead member) gets
a server of its own, serving the same app with the same server (and uvicorn's WebSocket
implementation). A check that needs a setting the server has no equivalent of is skipped, with
the reason naming the server.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from conformance.server_gaps import server_label
from conformance.targets import WireTarget, app_option
from wsharness import servers
from wsharness.serve import LaunchError, UvicornOption, interrupt, serve
from wsharness.servers import Unsupported
from wsharness.stall import STALL_ENV
from wsharness.timeouts import scaled

UVICORN_MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # uvicorn's --ws-max-size default
UVICORN_PING_INTERVAL_S = 20.0  # uvicorn's --ws-ping-interval default
UVICORN_PING_TIMEOUT_S = 20.0  # uvicorn's --ws-ping-timeout default
OWN_SERVER_PING_S = 1.0  # the pings of a server the suite owns: the check takes seconds, not 40
DEFAULT_HANDSHAKE_TIMEOUT_S = 10.0
NEEDS_OWN_SERVER = "needs a server under the suite's control (--app): not available with --url"


def add_options(group: pytest.OptionGroup) -> None:
    """The target's limits, for the hardening group."""
    group.addoption("--max-message-bytes", type=int, default=UVICORN_MAX_MESSAGE_BYTES,
                    metavar="BYTES", help="the target's message size limit: one byte more is "
                    "closed with 1009; passed to the --app server as --ws-max-size (default "
                    f"{UVICORN_MAX_MESSAGE_BYTES}, uvicorn's)")
    group.addoption("--ping-interval-s", type=float, default=None, metavar="SECONDS",
                    help="how often the target pings a client (default: uvicorn's "
                    f"{UVICORN_PING_INTERVAL_S:g}; with --app the ping check's own server pings "
                    f"every {OWN_SERVER_PING_S:g})")
    group.addoption("--ping-timeout-s", type=float, default=None, metavar="SECONDS",
                    help="how long the target waits for a pong before closing with 1011 "
                    f"(default: uvicorn's {UVICORN_PING_TIMEOUT_S:g}; with --app "
                    f"{OWN_SERVER_PING_S:g})")
    group.addoption("--handshake-timeout-s", type=float,
                    default=DEFAULT_HANDSHAKE_TIMEOUT_S, metavar="SECONDS",
                    help="how long the target may keep a connection that never finishes its "
                    f"upgrade request (default {DEFAULT_HANDSHAKE_TIMEOUT_S:g})")


def check_options(config: pytest.Config) -> None:
    """Each limit is a finite number > 0 (a usage error, one line, otherwise)."""
    for option, unit in (("--max-message-bytes", "bytes"), ("--ping-interval-s", "seconds"),
                         ("--ping-timeout-s", "seconds"), ("--handshake-timeout-s", "seconds")):
        value = config.getoption(option)
        if value is not None and not 0 < value < math.inf:
            raise pytest.UsageError(f"{option} {value}: expected {unit} > 0")


@dataclass(frozen=True)
class Limits:
    """What the target is told, or told to do: its size limit, pings, handshake deadline."""

    max_message_bytes: int
    ping_interval_s: float
    ping_timeout_s: float
    handshake_timeout_s: float

    @classmethod
    def from_config(cls, config: pytest.Config, *, suite_serves: bool) -> Limits:
        interval = config.getoption("--ping-interval-s")
        timeout = config.getoption("--ping-timeout-s")
        return cls(
            max_message_bytes=config.getoption("--max-message-bytes"),
            ping_interval_s=interval or (OWN_SERVER_PING_S if suite_serves
                                         else UVICORN_PING_INTERVAL_S),
            ping_timeout_s=timeout or (OWN_SERVER_PING_S if suite_serves
                                       else UVICORN_PING_TIMEOUT_S),
            handshake_timeout_s=config.getoption("--handshake-timeout-s"))

    def uvicorn_options(self) -> dict[str, UvicornOption]:
        """What every --app server is told: the size limit."""
        return {"ws_max_size": self.max_message_bytes}

    def server_options(self, server: str) -> dict[str, UvicornOption]:
        """uvicorn_options, less those the server has no equivalent of (the checks that need
        them are skipped: skip_unless_told)."""
        return {key: value for key, value in self.uvicorn_options().items()
                if servers.supports(server, key)}

    def uvicorn_ping_options(self) -> dict[str, UvicornOption]:
        return {"ws_ping_interval": self.ping_interval_s, "ws_ping_timeout": self.ping_timeout_s}


@dataclass(frozen=True)
class OwnServer:
    """A server serving --app for one check: its address, its log, its process, which server."""

    target: WireTarget
    log_path: Path
    process: subprocess.Popen[bytes]
    kind: servers.ServerKind

    def wait_for_late_logs(self) -> None:
        """Give the server the time it may take to log what an app raised (a bounded wait,
        ServerKind.log_delay_s: daphne logs from a checker that runs once a second)."""
        if self.kind.log_delay_s:
            time.sleep(scaled(self.kind.log_delay_s))

    def begin_shutdown(self) -> None:
        """Ask for a graceful shutdown, as Ctrl-C does (SIGINT), without waiting for it."""
        interrupt(self.process, group=self.kind.interrupt_group)

    def wait_stopped(self, timeout_s: float) -> bool:
        """Whether the server exited within timeout_s."""
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


ServeOwn = Callable[..., AbstractContextManager[OwnServer]]
ServeOwnOrUrl = Callable[..., AbstractContextManager[WireTarget]]


@pytest.fixture(scope="session")
def limits(request: pytest.FixtureRequest) -> Limits:
    """The target's limits (--max-message-bytes, --ping-*-s, --handshake-timeout-s)."""
    return Limits.from_config(request.config, suite_serves=request.config.getoption("--url")
                              is None)


def skip_unless_told(wire: WireTarget, *options: str) -> None:
    """Skip a check that needs these uvicorn.Config settings where the suite serves --app with a
    server that has no equivalent of them (it cannot be told the limit the check tests)."""
    if wire.server is not None and (missing := servers.lacking(wire.server, options)):
        skip_unsupported(wire, servers.no_equivalent(wire.server, missing))


def skip_unsupported(wire: WireTarget, line: str) -> NoReturn:
    """Skip a check whose server cannot be told what it tests (line: servers.Unsupported's)."""
    pytest.skip(f"{server_label(wire)}: {line}: the suite cannot set what this check tests")


@contextlib.contextmanager
def serve_own(config: pytest.Config, wire: WireTarget, limits: Limits, log_path: Path,
              options: Mapping[str, UvicornOption]) -> Iterator[OwnServer]:
    """--app served with the server (and ws impl) of `wire`, the size limit, the stall limit
    and the workers of the shared server."""
    app = app_option(config)
    assert wire.server is not None, "a server of the suite's own serves --app"
    with contextlib.ExitStack() as stack:
        try:  # only the start: what the check's own body raises is the check's
            server = stack.enter_context(serve(
                app, server=wire.server, ws=wire.ws, cwd=Path.cwd(), log_path=log_path,
                workers=config.getoption("--workers"),
                env={STALL_ENV: str(config.getoption("--stall-s"))},
                options={**limits.server_options(wire.server), **options}))
        except Unsupported as exc:
            skip_unsupported(wire, str(exc))
        except LaunchError as exc:
            pytest.fail(f"cannot serve {app} with {server_label(wire)}: {exc} (log: {log_path})",
                        pytrace=False)
        yield OwnServer(wire.at(server.ws_url), log_path, server.process,
                        servers.kind(wire.server))


@pytest.fixture
def own_server(request: pytest.FixtureRequest, wire: WireTarget, limits: Limits,
               tmp_path: Path) -> ServeOwn:
    """A server of this check's own, `with own_server(**uvicorn_options) as server:`, serving
    --app with the server of `wire`. Skipped under --url, and where the server has no
    equivalent of an option."""
    if wire.label == "url":
        pytest.skip(NEEDS_OWN_SERVER)

    def start(**options: UvicornOption) -> AbstractContextManager[OwnServer]:
        return serve_own(request.config, wire, limits, tmp_path / f"{wire.label}.log", options)

    return start


@pytest.fixture
def own_server_or_url(request: pytest.FixtureRequest, wire: WireTarget, limits: Limits,
                      tmp_path: Path) -> ServeOwnOrUrl:
    """Under --app a server of this check's own (as own_server); under --url the target itself,
    for checks that may leave a server broken or need other settings, but not its log."""

    @contextlib.contextmanager
    def start(**options: UvicornOption) -> Iterator[WireTarget]:
        if wire.label == "url":
            yield wire
            return
        with serve_own(request.config, wire, limits, tmp_path / f"{wire.label}.log",
                       options) as server:
            yield server.target

    return start
