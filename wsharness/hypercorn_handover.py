"""Hypercorn serving on a socket bound before it started (wsharness.bind), as serve() runs it:

    python -m wsharness.hypercorn_handover --fd FD [--workers N] [--log-level LEVEL]
                                           [--options JSON] MODULE:ATTR

--options holds hypercorn.Config settings (e.g. websocket_max_message_size), which its command
line does not all take. One worker serves from this process; more are hypercorn's processes.
"""

from __future__ import annotations

import argparse
import json
import sys

from hypercorn.config import Config
from hypercorn.run import run

from wsharness.argtypes import positive_int


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m wsharness.hypercorn_handover")
    parser.add_argument("app", metavar="MODULE:ATTR")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--workers", type=positive_int, default=1)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--options", type=json.loads, default={})
    args = parser.parse_args(argv)
    config = Config.from_mapping(args.options, bind=[f"fd://{args.fd}"], loglevel=args.log_level,
                                 workers=0 if args.workers == 1 else args.workers)
    config.application_path = application_path(args.app)
    return run(config)


def application_path(app: str) -> str:
    """MODULE:ATTR as hypercorn's workers load it: hypercorn evaluates ATTR in the module's
    namespace, which misses an attribute a module makes on first use (its __getattr__), so the
    attribute is read from the imported module instead."""
    module, _, attr = app.partition(":")
    return f"importlib:import_module({module!r}).{attr}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
