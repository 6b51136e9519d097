"""`python -m target_app`: serve the reference app with uvicorn and print its URL."""

from __future__ import annotations

import argparse
import sys

from wsharness.bind import BindError, bind_listening
from wsharness.handover import run
from wsharness.serve import WS_IMPLS
from wsharness.target import url_host

VARIANTS = {"hardened": "target_app:app", "docs": "target_app.docs:app"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m target_app",
        description="Serve the reference FastAPI WebSocket app with uvicorn.")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="hardened",
                        help="hardened (default) fixes the documented code's defects; "
                             "docs keeps them")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default %(default)s)")
    parser.add_argument("--ws", choices=WS_IMPLS, default=WS_IMPLS[0],
                        help="uvicorn's WebSocket implementation (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a port number (0-65535)")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:  # bound now, so a busy port is one line, not a uvicorn traceback
        sock = bind_listening(args.host, args.port)
    except BindError as exc:
        raise SystemExit(f"python -m target_app: error: {exc}") from None
    port = sock.getsockname()[1]
    print(f"wsharness reference app ({args.variant}) at http://{url_host(args.host)}:{port}/",
          flush=True)
    run(VARIANTS[args.variant], sock, ws=args.ws, workers=args.workers)


if __name__ == "__main__":
    main(sys.argv[1:])
