"""The ASGI servers an app can be served with (uvicorn, Hypercorn, Granian, Daphne), and how
each one is started: its command line, whether it adopts a socket bound before it starts, and
its equivalents of uvicorn.Config's keywords.

Options are spoken in uvicorn's words (`ws_max_size`, `ws_ping_interval`, ...), the harness's
one vocabulary; each server translates those it has an equivalent of, and an option it lacks is
refused with a line naming the server (`Unsupported`), never dropped. The servers other than
uvicorn are an optional extra (`pip install 'wsharness[servers]'`).
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

SERVERS = ("uvicorn", "hypercorn", "granian", "daphne")
DEFAULT_SERVER = SERVERS[0]
WS_IMPLS = ("websockets-sansio", "websockets", "wsproto")  # uvicorn's WebSocket implementations
EXTRA = "servers"
UvicornOption = str | int | float | bool  # a uvicorn.Config keyword's value, as JSON carries it


class LaunchError(RuntimeError):
    """The server did not start (one-line message)."""


class ServerError(LaunchError):
    """The server cannot serve as asked: it is not installed, or lacks an option."""


class NotInstalled(ServerError):
    pass


class Unsupported(ServerError):
    pass


@dataclass(frozen=True)
class ServerKind:
    """One server: its package, whether it takes the bound socket, its keywords for uvicorn's."""

    name: str
    module: str  # importable when installed
    distribution: str  # its version comes from here
    adopts_socket: bool  # else it binds a port itself
    listens_itself: bool  # else the socket is handed over listening already
    many_workers: bool
    options: Mapping[str, str]  # uvicorn.Config keyword -> this server's setting
    interrupt_group: bool = True  # Ctrl-C reaches its whole process group, workers too
    log_delay_s: float = 0.0  # how late it may log what an app raised (before scaling)
    ipv4_only: bool = False  # the socket it adopts must be IPv4
    log_levels: tuple[str, ...] = ("critical", "error", "warning", "info", "debug", "trace")


KINDS = {
    "uvicorn": ServerKind("uvicorn", "uvicorn", "uvicorn", adopts_socket=True,
                          listens_itself=True, many_workers=True, options={}),
    "hypercorn": ServerKind(
        "hypercorn", "hypercorn", "hypercorn", adopts_socket=True, listens_itself=True,
        many_workers=True, options={
            "ws_max_size": "websocket_max_message_size",
            "ws_ping_interval": "websocket_ping_interval",
            "timeout_graceful_shutdown": "graceful_timeout",
            "backlog": "backlog",
            "ssl_keyfile": "keyfile",
            "ssl_certfile": "certfile",
        }, log_levels=("critical", "error", "warning", "info", "debug")),
    "granian": ServerKind(
        "granian", "granian", "granian", adopts_socket=False, listens_itself=True,
        many_workers=True, options={
            "timeout_graceful_shutdown": "--workers-kill-timeout",
            "backlog": "--backlog",
            "ssl_keyfile": "--ssl-keyfile",
            "ssl_certfile": "--ssl-certificate",
        }, interrupt_group=False,  # its workers, interrupted too, never finish stopping
        log_levels=("critical", "error", "warning", "info", "debug")),
    "daphne": ServerKind(
        "daphne", "daphne", "daphne", adopts_socket=True, listens_itself=False,
        many_workers=False, options={
            "ws_max_size": "--websocket-max-message-size",
            "ws_ping_interval": "--ping-interval",
            "ws_ping_timeout": "--ping-timeout",
            "backlog": "backlog",  # the handed-over socket's own listen backlog
        }, ipv4_only=True,
        # an app's exception is logged by a checker that runs once a second
        log_delay_s=1.5),
}
DAPHNE_VERBOSITY = {"debug": 2, "trace": 2, "info": 1}  # any other level: 0 (warnings)
DEFAULT_BACKLOG = 2048  # uvicorn's; also for a socket handed over listening (daphne)
GRANIAN_MIN_BACKLOG = 128
GRANIAN_KILL_TIMEOUT_S = (1, 1800)  # --workers-kill-timeout: whole seconds in this range
WHOLE_SECONDS = {  # options a server takes in whole seconds only
    ("daphne", "ws_ping_interval"), ("daphne", "ws_ping_timeout"),
    ("granian", "timeout_graceful_shutdown")}


def kind(name: str) -> ServerKind:
    """The server called name; ServerError naming the choices otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ServerError(f"unknown server {name!r} (one of {', '.join(SERVERS)})") from None


def require(name: str) -> ServerKind:
    """The server, installed; NotInstalled with the line to install it otherwise."""
    server = kind(name)
    if importlib.util.find_spec(server.module) is None:
        raise NotInstalled(f"{name} is not installed: pip install 'wsharness[{EXTRA}]'")
    return server


def server_version(name: str) -> str:
    try:
        return version(kind(name).distribution)
    except PackageNotFoundError:
        return "not installed"


def label(name: str, ws: str | None = None) -> str:
    """How a run names what served it: `uvicorn-wsproto`, `hypercorn`."""
    return f"{name}-{ws or WS_IMPLS[0]}" if name == "uvicorn" else name


def describe(name: str, ws: str | None = None) -> str:
    """The server with its version: `uvicorn 0.54.0 --ws wsproto`, `granian 2.8.9`."""
    shown = f"{name} {server_version(name)}"
    return f"{shown} --ws {ws or WS_IMPLS[0]}" if name == "uvicorn" else shown


def supports(name: str, option: str) -> bool:
    """Whether the server has an equivalent of this uvicorn.Config keyword."""
    return name == "uvicorn" or option in kind(name).options


def lacking(name: str, options: Iterable[str]) -> list[str]:
    """The uvicorn.Config keywords among these the server has no equivalent of."""
    return [option for option in options if not supports(name, option)]


def check_request(name: str, *, ws: str | None, workers: int,
                  options: Mapping[str, UvicornOption], log_level: str = "warning") -> ServerKind:
    """The server, if it is installed and can serve as asked (its options' values too);
    ServerError otherwise. Where the socket's address family matters: check_family."""
    server = require(name)
    if ws is not None and name != "uvicorn":
        raise Unsupported(f"{name} has one WebSocket implementation of its own: --ws {ws} "
                          "picks uvicorn's")
    if ws is not None and ws not in WS_IMPLS:
        raise ServerError(f"unknown uvicorn WebSocket implementation {ws!r} "
                          f"(one of {', '.join(WS_IMPLS)})")
    if workers > 1 and not server.many_workers:
        raise Unsupported(f"{name} serves from one process: {workers} workers are not available")
    if missing := lacking(name, options):
        raise Unsupported(no_equivalent(name, missing))
    check_log_level(server, log_level)
    for option, value in options.items():
        check_value(name, option, value)
    return server


def no_equivalent(name: str, options: list[str]) -> str:
    """The line for options a server has no equivalent of."""
    return f"{name} has no equivalent of uvicorn's {', '.join(options)}"


def check_log_level(server: ServerKind, log_level: str) -> None:
    levels = KINDS["uvicorn"].log_levels
    if log_level not in levels:
        raise ServerError(f"unknown log level {log_level!r} (one of {', '.join(levels)})")
    if log_level not in server.log_levels:
        raise Unsupported(f"{server.name} has no log level {log_level!r} (one of "
                          f"{', '.join(server.log_levels)})")


def check_value(name: str, option: str, value: UvicornOption) -> None:
    """A value the server's own setting refuses (it would exit on it): Unsupported."""
    if name == "uvicorn" or isinstance(value, bool):
        return
    setting = kind(name).options[option]
    if (name, option) in WHOLE_SECONDS and isinstance(value, float) and not value.is_integer():
        raise Unsupported(f"{name} takes whole seconds for {setting} (uvicorn's {option}): "
                          f"not {value:g}")
    if name == "granian" and option == "backlog" and isinstance(value, int | float) \
            and value < GRANIAN_MIN_BACKLOG:
        raise Unsupported(f"granian's {setting} is at least {GRANIAN_MIN_BACKLOG}: not {value:g}")
    low, high = GRANIAN_KILL_TIMEOUT_S
    if name == "granian" and option == "timeout_graceful_shutdown" \
            and isinstance(value, int | float) and not low <= value <= high:
        raise Unsupported(f"granian's {setting} is {low} to {high} seconds: not {value:g}")


def check_family(name: str, family: int, host: str) -> None:
    """A server that adopts IPv4 sockets only, given the socket bound for host: Unsupported
    unless that socket is IPv4 (a name may resolve to IPv6 first)."""
    if kind(name).ipv4_only and family != socket.AF_INET:
        raise Unsupported(f"{name} adopts IPv4 sockets only (its --fd): serve it on an IPv4 "
                          f"address, not {host} (bound as IPv6)")


def command(name: str, app: str, *, fd: int, host: str, port: int, ws: str | None,
            workers: int, log_level: str, options: Mapping[str, UvicornOption],
            ready_fd: int | None = None) -> list[str]:
    """The server's command line, on the bound socket fd (or host:port for a server that binds
    itself). Only uvicorn writes a line to ready_fd once every worker serves."""
    if name == "uvicorn":
        ready = ["--ready-fd", str(ready_fd)] if ready_fd is not None else []
        return [sys.executable, "-m", "wsharness.handover", app, "--fd", str(fd),
                "--ws", ws or WS_IMPLS[0], "--workers", str(workers), "--log-level", log_level,
                "--options", json.dumps(dict(options)), *ready]
    server = kind(name)
    translated = {server.options[key]: value for key, value in options.items()}
    if name == "hypercorn":
        return [sys.executable, "-m", "wsharness.hypercorn_handover", app, "--fd", str(fd),
                "--workers", str(workers), "--log-level", log_level,
                "--options", json.dumps(translated)]
    if name == "granian":
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--host", host,
                "--port", str(port), "--workers", str(workers), "--log-level", log_level,
                *flags(translated), app]
    translated.pop("backlog", None)  # daphne: given to listen() before the handover
    verbosity = DAPHNE_VERBOSITY.get(log_level, 0)
    return [sys.executable, "-m", "daphne", "--fd", str(fd), "-v", str(verbosity),
            *flags(translated), app]


def flags(options: Mapping[str, UvicornOption]) -> list[str]:
    """Command-line flags; whole seconds as integers, which daphne's and granian's take."""
    return [part for flag, value in options.items() for part in (flag, shown(value))]


def shown(value: UvicornOption) -> str:
    whole = isinstance(value, float) and value.is_integer()
    return str(int(value)) if whole else str(value)


def handover_backlog(options: Mapping[str, UvicornOption]) -> int:
    """The listen() backlog of a socket handed over listening already (daphne's)."""
    return int(options.get("backlog", DEFAULT_BACKLOG))
