"""uvicorn serving on a socket bound before it started (wsharness.bind): by `python -m
target_app` in its own process, and by serve() in a child that inherits the socket:

    python -m wsharness.handover --fd FD [--ws IMPL] [--workers N] [--log-level LEVEL]
                                 [--options JSON] MODULE:ATTR

--options holds further uvicorn.Config keywords (e.g. ssl_keyfile, ssl_certfile).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
from collections.abc import Mapping
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from wsharness.argtypes import positive_int
from wsharness.serve import WS_IMPLS


def run(app: str, sock: socket.socket, *, ws: str = WS_IMPLS[0], workers: int = 1,
        log_level: str | None = None, options: Mapping[str, Any] | None = None) -> None:
    """Serve app on sock until SIGINT or SIGTERM; with workers > 1, from that many processes."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, ws=ws, workers=workers,
                            log_level=log_level, **(options or {}))
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises the signal again once stopped
        if workers > 1:
            sock.set_inheritable(True)
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])


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
    args = parser.parse_args(argv)
    run(args.app, adopt(args.fd), ws=args.ws, workers=args.workers, log_level=args.log_level,
        options=args.options)


if __name__ == "__main__":
    main(sys.argv[1:])
