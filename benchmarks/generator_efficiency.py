"""Generator efficiency: round trips per generator CPU-second, closed-loop echo on /ws.

    .venv/bin/python -m benchmarks.generator_efficiency [--connections 50] [--seconds 10]
                                                         [--rounds 2] [--message-size 32]

Starts the reference app (uvicorn, one process) pinned to one core, then runs each
generator in its own process pinned to another core, one after the other, alternating
for --rounds rounds: the harness's EchoUser inside Locust (LocalRunner, Locust's stats,
the harness's histograms, folding and results file all in place), the harness's gevent
client alone (no Locust), and a plain asyncio `websockets` client (default event loop,
and uvloop). Each generator holds --connections
connections, each sending a message, checking the echo and sending the next; after a
warm-up it measures its own CPU time (getrusage) and the round trips completed over
--seconds. Every loop stops by itself (deadline and message count).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GENERATORS = ("echouser", "client", "asyncio", "uvloop")
WARMUP_S = 2.0
MAX_MESSAGES_PER_CONNECTION = 10_000_000


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_echouser(url: str, connections: int, seconds: float, size: int) -> dict[str, float]:
    import gevent
    import locust
    from locust.argument_parser import parse_options
    from locust.env import Environment

    from loadtests._recorder import RECORDER
    from loadtests.echo_user import EchoUser

    with tempfile.TemporaryDirectory() as report_dir:
        options = parse_options(["--host", url, "--report-dir", report_dir,
                                 "--message-size", str(size), "--headless"])
        environment = Environment(user_classes=[EchoUser], events=locust.events, host=url,
                                  parsed_options=options)
        runner = environment.create_local_runner()
        locust.events.init.fire(  # type: ignore[no-untyped-call]
            environment=environment, runner=runner, web_ui=None)
        runner.start(connections, spawn_rate=connections)
        gevent.sleep(WARMUP_S)
        done0, cpu0, wall0 = RECORDER.total_received + RECORDER.received, cpu_seconds(), \
            time.perf_counter()
        gevent.sleep(seconds)
        done1, cpu1, wall1 = RECORDER.total_received + RECORDER.received, cpu_seconds(), \
            time.perf_counter()
        errors = sum(RECORDER.errors.values())
        runner.quit()
    return {"round_trips": done1 - done0, "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0,
            "errors": errors}


def run_client(url: str, connections: int, seconds: float, size: int) -> dict[str, float]:
    """The harness's gevent client alone, without Locust: what Locust and the user cost."""
    import gevent

    from loadtests._wsclient import Connection

    counts = {"done": 0, "errors": 0}
    state = {"stop": False}

    def echo(text: str) -> None:
        connection = Connection.open(url + "/ws", timeout_s=5.0)
        expected = "Message text was: " + text
        for _ in range(MAX_MESSAGES_PER_CONNECTION):
            if state["stop"]:
                break
            connection.send_text(text)
            if connection.recv(5.0) != expected:
                counts["errors"] += 1
            counts["done"] += 1
        connection.close()

    greenlets = [gevent.spawn(echo, f"{n} ".ljust(size, "x")[:size]) for n in range(connections)]
    gevent.sleep(WARMUP_S)
    done0, cpu0, wall0 = counts["done"], cpu_seconds(), time.perf_counter()
    gevent.sleep(seconds)
    done1, cpu1, wall1 = counts["done"], cpu_seconds(), time.perf_counter()
    state["stop"] = True
    gevent.joinall(greenlets, timeout=30)
    return {"round_trips": done1 - done0, "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0,
            "errors": counts["errors"]}


def run_asyncio(url: str, connections: int, seconds: float, size: int,
                use_uvloop: bool) -> dict[str, float]:
    import asyncio

    from websockets.asyncio.client import connect

    counts = {"done": 0, "errors": 0}
    state = {"stop": False}

    async def echo(text: str) -> None:
        async with connect(url + "/ws", compression=None) as websocket:
            expected = "Message text was: " + text
            for _ in range(MAX_MESSAGES_PER_CONNECTION):
                if state["stop"]:
                    return
                await websocket.send(text)
                if await websocket.recv() != expected:
                    counts["errors"] += 1
                counts["done"] += 1

    async def main() -> dict[str, float]:
        tasks = [asyncio.create_task(echo(f"{n} ".ljust(size, "x")[:size]))
                 for n in range(connections)]
        await asyncio.sleep(WARMUP_S)
        done0, cpu0, wall0 = counts["done"], cpu_seconds(), time.perf_counter()
        await asyncio.sleep(seconds)
        done1, cpu1, wall1 = counts["done"], cpu_seconds(), time.perf_counter()
        state["stop"] = True
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        return {"round_trips": done1 - done0, "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0,
                "errors": counts["errors"]}

    if use_uvloop:
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


def generate(args: argparse.Namespace) -> None:
    """Child process: run one generator, print its measurement as one JSON line."""
    if args.generator == "echouser":
        result = run_echouser(args.url, args.connections, args.seconds, args.message_size)
    elif args.generator == "client":
        result = run_client(args.url, args.connections, args.seconds, args.message_size)
    else:
        result = run_asyncio(args.url, args.connections, args.seconds, args.message_size,
                             use_uvloop=args.generator == "uvloop")
    print(json.dumps(result))


def measure(args: argparse.Namespace) -> None:
    from target_app.launch import serve

    cores = sorted(os.sched_getaffinity(0))
    server_core, generator_core = cores[0], cores[-1]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in args.generators}
    with serve(cwd=REPO) as server:
        os.sched_setaffinity(server.process.pid, {server_core})
        for _ in range(args.rounds):
            for name in args.generators:
                command = [sys.executable, "-m", "benchmarks.generator_efficiency", "generate",
                           name, "--url", server.ws_url, "--connections", str(args.connections),
                           "--seconds", str(args.seconds), "--message-size",
                           str(args.message_size)]
                done = subprocess.run(
                    command, cwd=REPO, capture_output=True, text=True, check=False,
                    timeout=args.seconds + 120,
                    preexec_fn=lambda: os.sched_setaffinity(0, {generator_core}))
                if done.returncode != 0:
                    sys.exit(f"generator {name} failed: {done.stderr.strip().splitlines()[-1:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results[name].append(result)
                print(f"{name:9} {result['round_trips'] / result['cpu_s']:9.0f} rt/CPU-s  "
                      f"{result['round_trips'] / result['wall_s']:9.0f} rt/s  "
                      f"cpu {result['cpu_s'] / result['wall_s']:4.0%}  "
                      f"errors {result['errors']:.0f}", flush=True)
    print(f"\nserver core {server_core}, generator core {generator_core}, "
          f"{args.connections} connections, {args.message_size}-byte messages, "
          f"{args.seconds:.0f}s per measurement, {args.rounds} round(s)")
    print("generator  rt per generator CPU-second (median)   rt/s (median)")
    medians = {name: statistics.median(r["round_trips"] / r["cpu_s"] for r in runs)
               for name, runs in results.items()}
    for name, runs in results.items():
        print(f"{name:9}  {medians[name]:12.0f}"
              f"{statistics.median(r['round_trips'] / r['wall_s'] for r in runs):30.0f}")
    if "echouser" in medians:
        for name in medians.keys() - {"echouser"}:
            print(f"echouser / {name}: {medians['echouser'] / medians[name]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--message-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--generators", nargs="+", choices=GENERATORS, default=list(GENERATORS))
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("generate", help="(internal) run one generator")
    child.add_argument("generator", choices=GENERATORS)
    child.add_argument("--url", required=True)
    child.add_argument("--connections", type=int, default=50)
    child.add_argument("--seconds", type=float, default=10.0)
    child.add_argument("--message-size", type=int, default=32)
    args: Any = parser.parse_args(argv)
    if args.command == "generate":
        generate(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
