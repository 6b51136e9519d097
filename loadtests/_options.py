"""The harness's command-line options (also shown in Locust's web UI) and their typed view."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests._sources import source_addresses
from wsharness.argtypes import (
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    share,
)
from wsharness.servers import DEFAULT_SERVER, EXTRA, SERVERS

SHAPES = ("ramp", "step", "spike", "soak")
PAYLOADS = ("text", "binary", "json")  # what EchoUser sends to /raw with --payload
DEFAULT_REPORT_DIR = "reports/runs"
DEFAULT_MESSAGE_RATE = 20.0  # paced: in closed loop, latency on 2 shared cores is queueing
DEFAULT_MAX_CONNECTING = 100  # per process: uvicorn's backlog (2048) holds 20 processes' worth


def add_arguments(parser: Any) -> None:
    """Register the options on Locust's parser (`events.init_command_line_parser`)."""
    group = parser  # Locust's own parser: argument groups would not show in the web UI
    group.add_argument("--message-size", type=positive_int, default=32, metavar="BYTES",
                       help="Size of each text message a user sends (default 32).")
    group.add_argument("--think-time", type=non_negative_float, default=0.0, metavar="SECONDS",
                       help="Pause after each message a user sends, instead of the default "
                            "--message-rate (default 0: not used).")
    group.add_argument("--message-rate", type=non_negative_float, default=DEFAULT_MESSAGE_RATE,
                       metavar="PER_S",
                       help="Target messages per second per user, each user at a random "
                            "phase (default 20; 0: closed loop, as fast as replies come). "
                            "--think-time, when given, replaces it (with it, a rate other than 0 "
                            "or the default is an error).")
    group.add_argument("--payload", choices=("", *PAYLOADS), default="",
                       help="What EchoUser sends, to the echo endpoint /raw that returns every "
                            "message unchanged: text, binary or json messages of --message-size "
                            "bytes (default: none, text to /ws, each reply `Message text was: "
                            "m`).")
    group.add_argument("--chat-room-size", type=positive_int, default=1, metavar="N",
                       help="Connections each ChatUser holds in the chat room: it speaks on "
                            "one and listens on all, so the room holds users x N (default 1).")
    group.add_argument("--bad-credentials", type=share, default=0.1, metavar="SHARE",
                       help="Share of AuthUser connections made without credentials, which "
                            "must be refused (default 0.1).")
    group.add_argument("--ws-timeout", type=positive_float, default=5.0, metavar="SECONDS",
                       help="How long to wait for a handshake or an expected message (default 5).")
    group.add_argument("--max-messages", type=positive_int, default=1_000_000, metavar="N",
                       help="Messages each user sends at most, then it stops (default 1000000).")
    group.add_argument("--shape", choices=("", *SHAPES), default="",
                       help="Load shape over --run-time (default 60s), peak at --users: "
                            "ramp, step, spike or soak (default: none, plain -u/-r).")
    group.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, metavar="DIR",
                       help="Where each run writes <run-id>/results.json (default reports/runs).")
    group.add_argument("--target-app", default="target_app:app", metavar="MODULE:ATTR",
                       help="The ASGI app served on loopback when no --host is given "
                            "(default target_app:app).")
    group.add_argument("--target-server", choices=SERVERS, default=DEFAULT_SERVER,
                       help="The ASGI server that serves --target-app when no --host is given "
                            f"(default {DEFAULT_SERVER}; the others: pip install "
                            f"'wsharness[{EXTRA}]').")
    group.add_argument("--max-connecting", type=non_negative_int,
                       default=DEFAULT_MAX_CONNECTING, metavar="N",
                       help="Connections each process opens at once at most (TCP connect and "
                            "handshake); other users wait their turn, so spawning faster than "
                            "the server accepts never queues more than processes x N "
                            f"connections in its backlog (default {DEFAULT_MAX_CONNECTING}; 0: "
                            "no limit).")
    group.add_argument("--source-addresses", type=source_addresses, default="",
                       metavar="NETWORK|ADDRESSES",
                       help="Local addresses the users connect from, in turn: a network such as "
                            "127.0.0.0/8 or addresses separated by commas (default: the "
                            "kernel's choice). Each gives the ephemeral port range anew, for "
                            "tens of thousands of connections to one server.")
    group.add_argument("--worker-snapshots", action="store_true", default=False,
                       include_in_web_ui=False,
                       help="Workers also write their own measurements into the run directory "
                            "(to check the merge).")


CHECKED: dict[str, Callable[[str], Any]] = {  # a setting -> its option's type, which checks
    "message_size": positive_int, "think_time": non_negative_float,
    "message_rate": non_negative_float, "chat_room_size": positive_int,
    "bad_credentials": share, "ws_timeout": positive_float, "max_messages": positive_int,
    "max_connecting": non_negative_int, "source_addresses": source_addresses}


def _checked(name: str, value: Any) -> Any:
    """value as the option `name` takes it from the command line; ValueError naming it if bad."""
    try:
        return CHECKED[name](str(value))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"--{name.replace('_', '-')}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    message_size: int = 32
    think_time: float = 0.0
    message_rate: float = DEFAULT_MESSAGE_RATE
    payload: str = ""
    chat_room_size: int = 1
    bad_credentials: float = 0.1
    ws_timeout: float = 5.0
    max_messages: int = 1_000_000
    shape: str = ""
    report_dir: str = DEFAULT_REPORT_DIR
    target_app: str = "target_app:app"
    target_server: str = DEFAULT_SERVER
    max_connecting: int = DEFAULT_MAX_CONNECTING
    source_addresses: str = ""
    worker_snapshots: bool = False

    @classmethod
    def from_options(cls, options: Any) -> Settings:
        """Read the parsed options; values from the web UI may arrive as strings."""
        defaults = cls()
        values: dict[str, Any] = {}
        for name, default in asdict(defaults).items():
            value = getattr(options, name, default) if options is not None else default
            if value is None or value == "":
                value = default
            if isinstance(default, bool):
                values[name] = value in (True, "true", "True", "on", "1")
            elif name in CHECKED:
                values[name] = _checked(name, value)
            else:
                values[name] = type(default)(value)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for name in CHECKED:
            _checked(name, getattr(self, name))
        if self.think_time and self.message_rate not in (0, DEFAULT_MESSAGE_RATE):
            raise ValueError("--think-time and --message-rate both pace the users: give one")
        if self.payload and self.payload not in PAYLOADS:
            raise ValueError(f"--payload: unknown payload {self.payload!r} "
                             f"(one of {', '.join(PAYLOADS)})")
        if self.target_server not in SERVERS:
            raise ValueError(f"--target-server: unknown server {self.target_server!r} "
                             f"(one of {', '.join(SERVERS)})")
        if self.shape and self.shape not in SHAPES:
            raise ValueError(f"--shape: unknown shape {self.shape!r} (one of {', '.join(SHAPES)})")

    @property
    def report_path(self) -> Path:
        return Path(self.report_dir)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
