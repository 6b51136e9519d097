"""One measurement of an app benchmark: a fresh server with every thread pinned to one core,
one client process (benchmarks._workloads) pinned to the other, its figures and one printed
line. Each result carries the machine's other load over the measurement (benchmarks._proc).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from benchmarks._harness import Params, cores, number, pinned_server, run_client
from benchmarks._proc import cpu_snapshot, other_load
from wsharness.serve import process_tree
from wsharness.servers import DEFAULT_SERVER

WORKLOADS = "benchmarks._workloads"
CLIENT_SLACK_S = 120.0  # a client process's start, set-up and closing, beyond its own bound
FANOUT_DEADLINE_S = 300.0


@dataclass(frozen=True)
class Serving:
    """What serves in a measurement: the app (an APPS name or MODULE:ATTR) and the server."""

    label: str
    app: str = "default"
    server: str = DEFAULT_SERVER
    ws: str | None = None  # uvicorn's WebSocket implementation


def measure(serving: Serving, task: str, params: Params, timeout_s: float) -> Params:
    """The workload task's result against a fresh pinned server, with the other load."""
    server_core, client_core = cores()
    start = cpu_snapshot()
    with pinned_server(serving.app, server_core, server=serving.server,
                       ws=serving.ws) as server:
        result = run_client(WORKLOADS, task, {
            "url": server.ws_url, "pids": process_tree(server.process.pid), **params},
            client_core, timeout_s=timeout_s + CLIENT_SLACK_S)
    return {**result, **other_load(start, cpu_snapshot())}


def shares(result: Params) -> str:
    return (f"server CPU {result['server_cpu_s'] / result['wall_s']:4.0%}, client CPU "
            f"{result['client_cpu_s'] / result['wall_s']:4.0%}, other work "
            f"{result['other_cores']:.2f} cores")


def measure_echo(serving: Serving, args: argparse.Namespace) -> Params:
    """Closed-loop echo: args.connections, args.seconds, args.message_size."""
    result = measure(serving, "echo", {
        "connections": args.connections, "seconds": args.seconds, "size": args.message_size},
        timeout_s=args.seconds)
    result["rate"] = result["round_trips"] / result["wall_s"]
    result["per_server_cpu_s"] = result["round_trips"] / max(result["server_cpu_s"], 1e-9)
    print(f"{serving.label:8} echo     {number(result['rate']):>9} rt/s        "
          f"{shares(result)}, wrong {result['wrong']}, failed connections {result['failed']}",
          flush=True)
    return result


def measure_fanout(serving: Serving, args: argparse.Namespace, *, paced: bool = False,
                   deadline_s: float = FANOUT_DEADLINE_S) -> Params:
    """args.chat_clients in one room each sending args.chat_messages, pipelined or, paced,
    at args.paced_rate a second."""
    result = measure(serving, "fanout", {
        "clients": args.chat_clients, "messages": args.chat_messages,
        "interval_s": 1 / args.paced_rate if paced else 0.0, "deadline_s": deadline_s},
        timeout_s=deadline_s)
    result["rate"] = result["copies"] / result["wall_s"]
    result["per_server_cpu_s"] = result["copies"] / max(result["server_cpu_s"], 1e-9)
    result["lost"] = result["expected"] - result["copies"]
    result["disorder"] = result["duplicates"] + result["out_of_order"]
    label = "paced" if paced else "fan-out"
    print(f"{serving.label:8} {label:8} {number(result['rate']):>9} copies/s    "
          f"{shares(result)}, {number(result['copies'])} of {number(result['expected'])} "
          f"copies, lost {number(result['lost'])}, duplicates {result['duplicates']}, out of "
          f"order {result['out_of_order']}, closed by server "
          f"{close_codes(result['closed_by_server'])}", flush=True)
    return result


def close_codes(codes: dict[str, int]) -> str:
    return ", ".join(f"{count}x {code}" for code, count in sorted(codes.items())) or "none"
