"""Servers: the default app served by each ASGI server, measured side by side.

    .venv/bin/python -m benchmarks.servers [--servers all] [--rounds 3] [--seconds 8]
        [--measurements echo,fanout,latency,memory,connects] [--connections 50]
        [--chat-clients 50] [--chat-messages 100] [--paced-connections 50] [--paced-rate 20]
        [--idle-connections 2000] [--in-flight 10] [--fanout-deadline 120] [--json FILE]

Servers (--servers, comma-separated): uvicorn with each of its WebSocket implementations
(uvicorn-websockets-sansio, uvicorn-websockets, uvicorn-wsproto), hypercorn, granian, daphne;
all of them by default. Each measurement gets a fresh server, one process (Granian: its
supervisor and one worker), every thread of every process pinned to one core, and a client
process (the harness's gevent client, benchmarks._workloads) pinned to the other; rounds
alternate the servers' order (forwards, then backwards).

  echo      --connections connections on /ws in closed loop, every reply checked; round
            trips per second over --seconds after a 2 s warm-up.
  fanout    --chat-clients clients in one room (/ws/{id}), each pipelining --chat-messages
            messages while all read; copies per second (first send to last copy), every copy
            checked: lost, duplicated, out of order, and the close codes of clients closed.
  latency   --paced-connections connections on /ws each sending --paced-rate messages a
            second for --seconds after a warm-up; round trip p50 and p99 (HDR, µs, timed from
            when each message was due).
  memory    the server's resident memory (all its processes, /proc) with --idle-connections
            idle connections open less with none open, over --idle-connections.
  connects  handshakes completed per second on /ws, --in-flight at a time, each connection
            closed cleanly after it, over --seconds after a warm-up.

Prints each measurement as it ends, then Markdown tables: medians per server, per second and
per server CPU-second (the server's CPU time over the same window, which other work sharing
its core does not move), and each server's figures over uvicorn-websockets-sansio's in the
same round (median of the rounds' ratios), with every loss, error and close code counted.
Also the machine's other load over the run: busy CPU from /proc/stat less the benchmark's own
processes. A server that is not installed is one line and exit 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from argparse import ArgumentTypeError
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    BenchmarkError,
    Params,
    cores,
    markdown_table,
    number,
    run,
    write_json,
)
from benchmarks._measure import Serving, measure, measure_echo, measure_fanout, shares
from benchmarks._proc import cpu_snapshot, other_load, raise_open_file_limit
from wsharness import servers
from wsharness.argtypes import positive_float, positive_int
from wsharness.serve import LaunchError

SERVINGS = {serving.label: serving for serving in (
    *(Serving(servers.label("uvicorn", ws), server="uvicorn", ws=ws) for ws in servers.WS_IMPLS),
    *(Serving(name, server=name) for name in servers.SERVERS if name != "uvicorn"))}
REFERENCE = servers.label("uvicorn", servers.WS_IMPLS[0])
MEASUREMENTS = ("echo", "fanout", "latency", "memory", "connects")
FAILED = "error"  # a result's key when the measurement could not be made


def measure_latency(serving: Serving, args: argparse.Namespace) -> Params:
    result = measure(serving, "paced_echo", {
        "connections": args.paced_connections, "rate": args.paced_rate,
        "seconds": args.seconds, "size": args.message_size}, timeout_s=args.seconds + 30)
    percentiles = result["percentiles_us"]
    result["p50_us"], result["p99_us"] = percentiles["50"], percentiles["99"]
    result["expected"] = int(args.paced_connections * args.paced_rate * args.seconds)
    result["problems"] = {kind: count for kind, count in result["counts"].items()
                          if kind != "on_time" and count}
    print(f"{serving.label:8} latency  p50 {number(result['p50_us']):>6} µs, p99 "
          f"{number(result['p99_us']):>7} µs, max {number(result['max_us'])} µs, "
          f"{number(result['round_trips'])} round trips of about {number(result['expected'])}, "
          f"{shares(result)}, {counted(result['problems'])}", flush=True)
    return result


def measure_memory(serving: Serving, args: argparse.Namespace) -> Params:
    result = measure(serving, "idle", {
        "connections": args.idle_connections, "in_flight": args.in_flight},
        timeout_s=args.idle_connections * 2 * 10 / args.in_flight + 30)
    result["kb_per_connection"] = (result["rss_with_kb"] - result["rss_before_kb"]) \
        / max(result["opened"], 1)
    result["problems"] = {kind: count for kind, count in result["counts"].items()
                          if kind != "ok" and count}
    if result["opened"] < args.idle_connections:
        result["problems"]["not opened"] = args.idle_connections - result["opened"]
    print(f"{serving.label:8} memory   {result['kb_per_connection']:6.1f} KiB/connection, "
          f"resident {result['rss_before_kb'] / 1024:.1f} MB with none open, "
          f"{result['rss_with_kb'] / 1024:.1f} MB with {number(result['opened'])}, other work "
          f"{result['other_cores']:.2f} cores, {counted(result['problems'])}", flush=True)
    return result


def measure_connects(serving: Serving, args: argparse.Namespace) -> Params:
    result = measure(serving, "connects", {"in_flight": args.in_flight, "seconds": args.seconds},
                     timeout_s=args.seconds + 30)
    result["rate"] = result["connects"] / result["wall_s"]
    result["per_server_cpu_s"] = result["connects"] / max(result["server_cpu_s"], 1e-9)
    result["problems"] = result["errors"]
    print(f"{serving.label:8} connects {number(result['rate']):>9} /s          "
          f"{shares(result)}, {counted(result['problems'])}", flush=True)
    return result


def measure_burst(serving: Serving, args: argparse.Namespace) -> Params:
    return measure_fanout(serving, args, deadline_s=args.fanout_deadline)


MEASURE: dict[str, Callable[[Serving, argparse.Namespace], Params]] = {
    "echo": measure_echo, "fanout": measure_burst, "latency": measure_latency,
    "memory": measure_memory, "connects": measure_connects}


def counted(problems: dict[str, int]) -> str:
    return ", ".join(f"{kind} {number(count)}" for kind, count in sorted(problems.items())) \
        or "no errors"


def attempt(kind: str, serving: Serving, args: argparse.Namespace) -> Params:
    """The measurement, or what stopped it: a server that fails is a figure too."""
    try:
        return MEASURE[kind](serving, args)
    except (BenchmarkError, LaunchError) as exc:
        print(f"{serving.label:8} {kind:8} failed: {exc}", flush=True)
        return {FAILED: str(exc)}


def median(results: list[Params], key: str) -> float | None:
    values = [result[key] for result in results if FAILED not in result]
    return statistics.median(values) if values else None


def shown(value: float | None, digits: int = 0) -> str:
    return "failed" if value is None else number(value, digits)


def problems(kind: str, results: list[Params]) -> list[str]:
    """Everything that went wrong in this kind of measurement, summed over the rounds."""
    failed = [result[FAILED] for result in results if FAILED in result]
    found = [f"{kind} failed {len(failed)}x ({failed[0]})"] if failed else []
    done = [result for result in results if FAILED not in result]
    totals: Counter[str] = Counter()
    for result in done:
        if kind == "echo":
            totals.update({"wrong": result["wrong"], "connections failed": result["failed"]})
        elif kind == "fanout":
            totals.update({"lost": result["lost"], "duplicates": result["duplicates"],
                           "out of order": result["out_of_order"]})
            totals.update({f"clients closed {code}": count
                           for code, count in result["closed_by_server"].items()})
        else:
            totals.update(result["problems"])
    found += [f"{kind}: {what} {number(count)}" for what, count in sorted(totals.items())
              if count]
    return found


def figures_table(runs: dict[str, dict[str, list[Params]]], labels: list[str]) -> str:
    headers = ["server", "echo rt/s", "echo rt/server CPU-s", "fan-out copies/s",
               "fan-out copies/server CPU-s", "paced p50 µs", "paced p99 µs", "KiB/connection",
               "connects/s", "connects/server CPU-s", "losses, errors, closes (all rounds)"]
    rows = []
    for label in labels:
        def figure(kind: str, key: str, digits: int = 0, label: str = label) -> str:
            return shown(median(runs[kind][label], key), digits) if kind in runs else "-"
        issues = [issue for kind in runs for issue in problems(kind, runs[kind][label])]
        rows.append([label, figure("echo", "rate"), figure("echo", "per_server_cpu_s"),
                     figure("fanout", "rate"), figure("fanout", "per_server_cpu_s"),
                     figure("latency", "p50_us"), figure("latency", "p99_us"),
                     figure("memory", "kb_per_connection", 1), figure("connects", "rate"),
                     figure("connects", "per_server_cpu_s"), "; ".join(issues) or "none"])
    return markdown_table(headers, rows)


RATIOS = (("echo", "rate", "echo rt/s"), ("echo", "per_server_cpu_s", "echo per CPU-s"),
          ("fanout", "rate", "fan-out/s"), ("fanout", "per_server_cpu_s", "fan-out per CPU-s"),
          ("latency", "p50_us", "p50"), ("latency", "p99_us", "p99"),
          ("memory", "kb_per_connection", "KiB/connection"), ("connects", "rate", "connects/s"),
          ("connects", "per_server_cpu_s", "connects per CPU-s"))


def round_ratio(results: list[Params], reference: list[Params], key: str) -> float | None:
    """Median over the rounds of the figure over the reference's in the same round."""
    ratios = [mine[key] / theirs[key] for mine, theirs in zip(results, reference, strict=True)
              if FAILED not in mine and FAILED not in theirs and theirs[key]]
    return statistics.median(ratios) if ratios else None


def ratios_table(runs: dict[str, dict[str, list[Params]]], labels: list[str]) -> str:
    columns = [(kind, key, title) for kind, key, title in RATIOS if kind in runs]
    rows = [[label, *("-" if (value := round_ratio(runs[kind][label], runs[kind][REFERENCE],
                                                   key)) is None else f"{value:.2f}"
                      for kind, key, _ in columns)] for label in labels]
    return markdown_table(["server", *(title for _, _, title in columns)], rows)


def load_line(load: dict[str, float], runs: dict[str, dict[str, list[Params]]]) -> str:
    each = [result["other_cores"] for results in (r for kind in runs.values()
                                                  for r in kind.values())
            for result in results if "other_cores" in result]
    spread = f" (per measurement {min(each):.2f} to {max(each):.2f})" if each else ""
    return (f"Other work on the machine: {load['other_cores']:.2f} cores busy on average over "
            f"{load['wall_s'] / 60:.1f} min{spread}; the benchmark's own processes "
            f"{load['own_cores']:.2f} cores; stolen by the hypervisor "
            f"{load['steal_cores']:.2f} cores (of {os.cpu_count()} cores).")


def measure_all(args: argparse.Namespace) -> int:
    for serving in args.servers:
        servers.require(serving.server)
    raise_open_file_limit()
    labels = [serving.label for serving in args.servers]
    runs: dict[str, dict[str, list[Params]]] = {
        kind: {label: [] for label in labels} for kind in args.measurements}
    start = cpu_snapshot()
    for round_number in range(args.rounds):
        order = args.servers if round_number % 2 == 0 else args.servers[::-1]
        for kind in args.measurements:
            for serving in order:
                runs[kind][serving.label].append(attempt(kind, serving, args))
    load = other_load(start, cpu_snapshot())
    server_core, client_core = cores()
    print(f"\nMedians of {args.rounds} round(s), {args.seconds:g} s windows, server on core "
          f"{server_core}, client on core {client_core}; "
          + ", ".join(f"{servers.describe(s.server, s.ws)}" for s in args.servers) + ":\n")
    print(figures_table(runs, labels))
    if REFERENCE in labels and len(labels) > 1:
        print(f"\nOver {REFERENCE} in the same round (median of the rounds' ratios; "
              "p50, p99 and KiB: lower is better):\n")
        print(ratios_table(runs, labels))
    print("\n" + load_line(load, runs))
    write_json(args.json, {
        "settings": {key: str(value) for key, value in vars(args).items()},
        "servers": {s.label: servers.describe(s.server, s.ws) for s in args.servers},
        "machine": load, **runs})
    return 0


def server_list(text: str) -> list[Serving]:
    names = list(SERVINGS) if text == "all" else [name.strip() for name in text.split(",")]
    if unknown := [name for name in names if name not in SERVINGS]:
        raise ArgumentTypeError(f"unknown server {', '.join(map(repr, unknown))} (all, or "
                                f"some of {','.join(SERVINGS)})")
    return [SERVINGS[name] for name in dict.fromkeys(names)]


def measurement_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if unknown := [name for name in names if name not in MEASUREMENTS]:
        raise ArgumentTypeError(f"unknown measurement {', '.join(map(repr, unknown))} (some "
                                f"of {','.join(MEASUREMENTS)})")
    return [name for name in MEASUREMENTS if name in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=server_list, default=server_list("all"),
                        help=f"comma-separated, of {','.join(SERVINGS)} (default: all)")
    parser.add_argument("--measurements", type=measurement_list,
                        default=list(MEASUREMENTS), help=",".join(MEASUREMENTS))
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--seconds", type=positive_float, default=8.0)
    parser.add_argument("--connections", type=positive_int, default=50)
    parser.add_argument("--message-size", type=positive_int, default=32)
    parser.add_argument("--chat-clients", type=positive_int, default=50)
    parser.add_argument("--chat-messages", type=positive_int, default=100)
    parser.add_argument("--fanout-deadline", type=positive_float, default=120.0,
                        help="seconds a burst may take before the copies not come count lost")
    parser.add_argument("--paced-connections", type=positive_int, default=50)
    parser.add_argument("--paced-rate", type=positive_float, default=20.0,
                        help="messages a second per connection in the latency measurement")
    parser.add_argument("--idle-connections", type=positive_int, default=2000)
    parser.add_argument("--in-flight", type=positive_int, default=10,
                        help="handshakes under way at once (connects, memory)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args: Any = parser.parse_args(sys.argv[1:] if argv is None else argv)
    run(lambda: measure_all(args))


if __name__ == "__main__":
    main()
