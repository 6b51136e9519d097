"""Churn: connections that come and go, cleanly or not, must leave nothing behind.

    .venv/bin/python -m benchmarks.churn [--cycles 10000] [--warmup 1000]
        [--concurrency 10] [--json FILE]

Serves the default app (uvicorn, one process, pinned to one core) and runs the cycles
from a client process pinned to the other, --concurrency at a time. Cycle n opens a
connection to, in turn, /ws, /items/churn/ws?token=t and /ws/{n}, sends one message,
reads its reply, then ends it, in turn: with a clean close handshake, by dropping the TCP
connection without a close frame (FIN), or by aborting it (RST). --warmup cycles run
first; then /metrics is read once the server is quiet (resident memory, open fds), the
--cycles cycles run, and /metrics is read again once quiet (or after 15 s).

Prints a Markdown table; exits with 1 when connections or room members are left behind.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    ENDPOINTS,
    Params,
    Samples,
    client_main,
    cores,
    markdown_table,
    number,
    open_connections,
    pinned_server,
    run,
    run_client,
    wait_until_quiet,
    write_json,
)
from wsharness.argtypes import positive_int

MODULE = "benchmarks.churn"
TIMEOUT_S = 10.0
QUIET_TIMEOUT_S = 15.0
PATHS = (("echo", "/ws", "Message text was: "),
         ("items", "/items/churn/ws?token=t", "Message text was: "),
         ("chat", "/ws/{n}", "You wrote: "))  # endpoint, path, the reply that ends the cycle
ENDINGS = ("clean", "fin", "rst")


def churn(params: Params) -> Params:
    """Client process: run the cycles; counts by endpoint and ending, errors by kind."""
    import gevent

    from loadtests._wsclient import Connection, WsError

    cycles, url = params["cycles"], params["url"]
    done: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    numbers = iter(range(params["first"], params["first"] + cycles))

    def cycle(n: int) -> None:
        endpoint, path, reply = PATHS[n % len(PATHS)]
        ending = ENDINGS[n // len(PATHS) % len(ENDINGS)]
        connection = Connection.open(url + path.format(n=n), timeout_s=TIMEOUT_S)
        connection.send_text(f"c{n}")
        while not str(connection.recv(TIMEOUT_S)).startswith(reply):
            pass  # a chat member may get others' messages first
        if ending == "clean":
            connection.close()
        else:
            sock = connection._raw  # closed under the client, as a crash or a cable pull would
            if ending == "rst":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        done[f"{endpoint} {ending}"] += 1

    def worker() -> None:
        for n in numbers:
            try:
                cycle(n)
            except WsError as exc:
                errors[exc.kind] += 1

    started = time.perf_counter()
    gevent.joinall([gevent.spawn(worker) for _ in range(params["concurrency"])])
    return {"wall_s": time.perf_counter() - started, "done": dict(done), "errors": dict(errors)}


def cycles(server_url: str, count: int, first: int, args: argparse.Namespace) -> Params:
    return run_client(MODULE, "churn", {"url": server_url, "cycles": count, "first": first,
                                        "concurrency": args.concurrency},
                      cores()[1], timeout_s=count * TIMEOUT_S / args.concurrency + 120)


def megabytes(samples: Samples, name: str = "process_resident_memory_bytes") -> str:
    return f"{samples[name] / 2**20:.1f} MB"


def measure(args: argparse.Namespace) -> int:
    with pinned_server("default", cores()[0]) as server:
        warmup = cycles(server.ws_url, args.warmup, 0, args)
        before = wait_until_quiet(server, QUIET_TIMEOUT_S)
        result = cycles(server.ws_url, args.cycles, args.warmup, args)
        after = wait_until_quiet(server, QUIET_TIMEOUT_S)
    left = open_connections(after)
    grown = after["process_resident_memory_bytes"] - before["process_resident_memory_bytes"]
    members = int(after["wsharness_room_members"])
    rows: list[list[object]] = [
        ["cycles (after the warm-up)", number(sum(result["done"].values())),
         f"{number(args.cycles)} asked, {number(sum(warmup['done'].values()))} warm-up"],
        ["cycles per second", number(sum(result["done"].values()) / result["wall_s"]),
         f"{args.concurrency} at a time"],
        ["errors", number(sum(result["errors"].values())),
         ", ".join(f"{kind} {count}" for kind, count in sorted(result["errors"].items()))],
        *[[f"open connections left, {endpoint}", left[endpoint], "goal 0"]
          for endpoint in ENDPOINTS],
        ["room members left", members, "goal 0"],
        ["server resident memory", f"{megabytes(before)} -> {megabytes(after)}",
         f"{grown / 2**20:+.1f} MB"],
        ["server open fds", f"{before['process_open_fds']:.0f} -> "
         f"{after['process_open_fds']:.0f}", ""],
        ["by endpoint and ending", "", ", ".join(
            f"{kind} {count}" for kind, count in sorted(result["done"].items()))],
    ]
    print(markdown_table(["churn", "figure", "note"], rows))
    write_json(args.json, {"settings": {key: str(value) for key, value in vars(args).items()},
                           "warmup": warmup, "result": result, "before": before,
                           "after": after})
    if any(left.values()) or members:
        print(f"\nleft behind: {sum(left.values())} open connection(s), {members} room "
              "member(s)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if client_main(argv, {"churn": churn}):
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.churn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=positive_int, default=10_000)
    parser.add_argument("--warmup", type=positive_int, default=1_000)
    parser.add_argument("--concurrency", type=positive_int, default=10)
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args: Any = parser.parse_args(argv)
    run(lambda: measure(args))


if __name__ == "__main__":
    main()
