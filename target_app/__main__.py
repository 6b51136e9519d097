"""`python -m target_app`: serve the reference app with uvicorn (or another server: --server)
and print its URL."""

from __future__ import annotations

import argparse
import os
import sys

from target_app.broadcast import BROADCAST_ENV, BroadcastError, check_reachable, parse_broadcast_url
from wsharness import servers
from wsharness.argtypes import positive_int
from wsharness.bind import BindError, bind_listening, reserve_port
from wsharness.handover import run
from wsharness.servers import DEFAULT_BACKLOG, DEFAULT_SERVER, SERVERS, WS_IMPLS, ServerError
from wsharness.target import url_host

LOG_LEVEL = "info"
VARIANTS = {"hardened": "target_app:app", "docs": "target_app.docs:app"}
PROG = "python -m target_app"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve the reference FastAPI WebSocket app with uvicorn or another server.")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="hardened",
                        help="hardened (default) fixes the documented code's defects; "
                             "docs keeps them")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default %(default)s)")
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER,
                        help="the ASGI server (default %(default)s; the others: pip install "
                             f"'wsharness[{servers.EXTRA}]')")
    parser.add_argument("--ws", choices=WS_IMPLS, default=None,
                        help=f"uvicorn's WebSocket implementation (default {WS_IMPLS[0]})")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--broadcast", metavar="redis://HOST:PORT/N",
                        help="relay the chat room through this Redis (pub/sub), so that it spans "
                             "workers and hosts (hardened variant; default: "
                             f"${BROADCAST_ENV}, else a room in memory in each process)")
    parser.add_argument("--backlog", type=positive_int, default=DEFAULT_BACKLOG,
                        help="connections the kernel queues until they are accepted (default "
                             f"{DEFAULT_BACKLOG}, uvicorn's; capped by net.core.somaxconn)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a port number (0-65535)")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    return args


def check_broadcast(args: argparse.Namespace) -> str:
    """A broadcast is a redis:// URL where Redis answers, set for the workers; without one,
    several workers get a warning (returned) that each has a room of its own. Errors: one
    line, exit 1."""
    if args.variant != "hardened" and args.broadcast:
        raise SystemExit(f"{PROG}: error: --broadcast: the {args.variant} variant keeps the "
                         "documented room in memory")
    source = "--broadcast" if args.broadcast else BROADCAST_ENV
    url = args.broadcast or (os.environ.get(BROADCAST_ENV) if args.variant == "hardened" else "")
    if not url:
        return "" if args.workers == 1 else (
            f"{PROG}: warning: --workers {args.workers} without --broadcast: each worker has a "
            "chat room of its own in memory, so the room does not span workers")
    try:
        check_reachable(parse_broadcast_url(url, source), source)
    except BroadcastError as exc:
        raise SystemExit(f"{PROG}: error: {exc}") from None
    os.environ[BROADCAST_ENV] = url  # read by the app in every worker
    return ""


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    options: dict[str, servers.UvicornOption] = {"backlog": args.backlog}
    try:
        kind = servers.check_request(args.server, ws=args.ws, workers=args.workers,
                                     options=options, log_level=LOG_LEVEL)
    except ServerError as exc:
        raise SystemExit(f"{PROG}: error: {exc}") from None
    warning = check_broadcast(args)
    try:  # bound now, so a busy port is one line, not a uvicorn traceback
        sock = (bind_listening if kind.adopts_socket else reserve_port)(args.host, args.port)
    except BindError as exc:
        raise SystemExit(f"{PROG}: error: {exc}") from None
    try:
        servers.check_family(args.server, sock.family, args.host)
    except ServerError as exc:
        sock.close()
        raise SystemExit(f"{PROG}: error: {exc}") from None
    port = sock.getsockname()[1]
    print(f"wsharness reference app ({args.variant}) at http://{url_host(args.host)}:{port}/",
          flush=True)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if args.server == "uvicorn":
        run(VARIANTS[args.variant], sock, ws=args.ws or WS_IMPLS[0], workers=args.workers,
            options=options)
        return
    if not kind.listens_itself:
        sock.listen(args.backlog)
    # kept across exec: the server adopts it, or (Granian) it holds the port while the server's
    # workers bind it beside it (wsharness.bind.reserve_port)
    sock.set_inheritable(True)
    command = servers.command(args.server, VARIANTS[args.variant], fd=sock.fileno(),
                              host=args.host, port=port, ws=None, workers=args.workers,
                              log_level=LOG_LEVEL, options=options)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
