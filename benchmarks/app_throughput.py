"""App throughput: the default app against the documented code, echo and chat fan-out.

    .venv/bin/python -m benchmarks.app_throughput [--rounds 3] [--seconds 8]
        [--connections 50] [--chat-clients 50] [--chat-messages 100] [--paced-rate 20]
        [--json FILE]

Each measurement gets a fresh server (uvicorn, one process, every thread pinned to one
core) and a client process pinned to the other core; rounds alternate which variant
goes first. The client is the harness's gevent client (`loadtests._wsclient`): on this
machine it costs half the CPU per round trip of asyncio `websockets` on uvloop (see the
generator-efficiency benchmark), and each measurement reports the server's and the
client's CPU share, so a saturated client would show.

  echo     --connections connections on /ws in closed loop (send, wait for the checked
           reply, send again); round trips per second over --seconds, after a 2 s warm-up.
  fan-out  --chat-clients clients in one room (/ws/{id}); once every one of them is in
           the room, each sends --chat-messages messages without waiting while all read;
           copies delivered per second (first send to last copy), and every copy checked:
           lost, duplicate, out of order, and the close codes of clients the server closed.
  paced    the same room and messages, each client sending --paced-rate messages a second
           (senders spread over one interval): neither side saturated, so the server's CPU
           per copy is what a copy costs it, not what a saturated client lets through.

Prints the per-measurement figures, then a Markdown table of medians and the
default/docs ratios, per second and per server CPU-second (the server's CPU time over the
same window, from /proc): the goal is judged on the latter, which other work sharing the
server's core does not move. Every loop is bounded by a count and a deadline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks._harness import APPS, Params, cores, markdown_table, number, run, write_json
from benchmarks._measure import Serving, close_codes, measure_echo, measure_fanout
from wsharness.argtypes import positive_float, positive_int

SERVINGS = {variant: Serving(variant, app=variant) for variant in APPS}


def ratio(results: dict[str, list[Params]], key: str) -> tuple[float, float, float]:
    default = statistics.median(result[key] for result in results["default"])
    docs = statistics.median(result[key] for result in results["docs"])
    return default, docs, default / docs if docs else float("nan")


def report(runs: dict[str, dict[str, list[Params]]], args: argparse.Namespace) -> bool:
    """Print the table of medians; True when the default app is within 10% of the docs
    variant on every measurement, per server CPU-second (what its core does, whatever else
    shares that core), and delivered every copy in every round."""
    rows: list[list[object]] = []
    met = True
    titles = {
        "echo": f"echo round trips ({args.connections} connections, closed loop)",
        "fanout": f"fan-out copies ({args.chat_clients} clients x {args.chat_messages} "
                  "pipelined)",
        "paced": f"paced fan-out copies ({args.chat_clients} clients x {args.chat_messages} "
                 f"at {args.paced_rate:g}/s each)"}
    for kind, what in titles.items():
        default, docs, share = ratio(runs[kind], "rate")
        rows.append([f"{what} per second", number(default), number(docs), f"{share:.2f}"])
        default, docs, share = ratio(runs[kind], "per_server_cpu_s")
        met &= share >= 0.9
        rows.append([f"{what} per server CPU-second", number(default), number(docs),
                     f"{share:.2f}"])
    chat_runs = {variant: runs["fanout"][variant] + runs["paced"][variant] for variant in APPS}
    for what, key in (("fan-out copies lost (worst round)", "lost"),
                      ("fan-out duplicates + out of order (worst round)", "disorder")):
        worst = {variant: max(result[key] for result in results)
                 for variant, results in chat_runs.items()}
        rows.append([what, number(worst["default"]), number(worst["docs"]), ""])
    codes = {variant: Counter[str]() for variant in chat_runs}
    for variant, results in chat_runs.items():
        for result in results:
            codes[variant].update(result["closed_by_server"])
    rows.append(["fan-out clients closed by the server (all rounds)",
                 close_codes(dict(codes["default"])), close_codes(dict(codes["docs"])), ""])
    print(f"\nMedians of {args.rounds} round(s), {args.seconds:g} s echo windows, server on "
          f"core {cores()[0]}, client on core {cores()[1]}:\n")
    print(markdown_table(["measurement", "default", "docs", "default/docs"], rows))
    lost = sum(result["lost"] + result["disorder"] for result in chat_runs["default"])
    print(f"\nGoal (default within 10% of docs on each, per server CPU-second, every copy "
          f"delivered once and in order): {'met' if met and not lost else 'not met'}")
    return met and not lost


def measure(args: argparse.Namespace) -> int:
    runs: dict[str, dict[str, list[Params]]] = {
        kind: {variant: [] for variant in APPS} for kind in ("echo", "fanout", "paced")}
    for round_number in range(args.rounds):
        order = list(APPS) if round_number % 2 == 0 else list(APPS)[::-1]
        for variant in order:
            runs["echo"][variant].append(measure_echo(SERVINGS[variant], args))
        for variant in order:
            runs["fanout"][variant].append(measure_fanout(SERVINGS[variant], args))
        for variant in order:
            runs["paced"][variant].append(measure_fanout(SERVINGS[variant], args, paced=True))
    met = report(runs, args)
    write_json(args.json, {"settings": {key: str(value) for key, value in vars(args).items()},
                           **runs, "goal_met": met})
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_throughput",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--seconds", type=positive_float, default=8.0)
    parser.add_argument("--connections", type=positive_int, default=50)
    parser.add_argument("--message-size", type=positive_int, default=32)
    parser.add_argument("--chat-clients", type=positive_int, default=50)
    parser.add_argument("--chat-messages", type=positive_int, default=100)
    parser.add_argument("--paced-rate", type=positive_float, default=20.0,
                        help="messages a second per client in the paced fan-out (20)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args: Any = parser.parse_args(sys.argv[1:] if argv is None else argv)
    run(lambda: measure(args))


if __name__ == "__main__":
    main()
