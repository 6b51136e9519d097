"""uvicorn serving on a socket bound before it started (wsharness.bind): by `python -m
target_app` in its own process, and by serve() in a child that inherits the socket:

    python -m wsharness.handover --fd FD [--ws IMPL] [--workers N] [--log-level LEVEL]
                                 [--options JSON] [--ready-fd FD] MODULE:ATTR

--options holds further uvicorn.Config keywords (e.g. ssl_keyfile, ssl_certfile). With
--workers N and --ready-fd, a line is written to that descriptor once every worker serves: the
socket listens as soon as the first one does, and connections made before the others are up
would all go to it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from wsharness.argtypes import positive_int
from wsharness.serve import STARTUP_S, WS_IMPLS
from wsharness.timeouts import scaled


class ReadyMultiprocess(Multiprocess):
    """uvicorn's supervisor of worker processes, calling `ready` once every worker serves."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket],
                 ready: Callable[[], None]) -> None:
        super().__init__(config, sockets)
        self.ready = ready

    def init_processes(self) -> None:
        super().init_processes()
        if all(process.wait_until_ready(scaled(STARTUP_S), self.should_exit)
               for process in self.processes):
            self.ready()
        # else: the supervisor's loop sees the worker fail and stops, as uvicorn does


def run(app: str, sock: socket.socket, *, ws: str = WS_IMPLS[0], workers: int = 1,
        log_level: str | None = None, options: Mapping[str, Any] | None = None,
        ready: Callable[[], None] = lambda: None) -> None:
    """Serve app on sock until SIGINT or SIGTERM; with workers > 1, from that many processes
    (`ready` is called once all of them serve)."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, ws=ws, workers=workers,
                            log_level=log_level, **(options or {}))
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises the signal again once stopped
        if workers > 1:
            sock.set_inheritable(True)
            ReadyMultiprocess(config, [sock], ready).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])


def tell_ready(fd: int | None) -> Callable[[], None]:
    """A `ready` that writes a line to fd and closes it (nothing without one)."""
    def ready() -> None:
        if fd is not None:
            with contextlib.suppress(OSError), os.fdopen(fd, "wb") as out:
                out.write(b"ready\n")
    return ready


def adopt(fd: int) -> socket.socket:
    """The socket of an inherited descriptor, with its own family and protocol (TCP)."""
    return socket.socket(fileno=fd)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m wsharness.handover")
    parser.add_argument("app", metavar="MODULE:ATTR")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--ws", choices=WS_IMPLS, default=WS_IMPLS[0])
    parser.add_argument("--workers", type=positive_int, default=1)
    parser.add_argument("--log-level", default=None)
    parser.add_argument("--options", type=json.loads, default={})
    parser.add_argument("--ready-fd", type=int, default=None)
    args = parser.parse_args(argv)
    run(args.app, adopt(args.fd), ws=args.ws, workers=args.workers, log_level=args.log_level,
        options=args.options, ready=tell_ready(args.ready_fd))


if __name__ == "__main__":
    main(sys.argv[1:])
