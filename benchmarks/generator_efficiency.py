"""Generator efficiency: round trips per generator CPU-second, closed-loop echo on /ws.

    .venv/bin/python -m benchmarks.generator_efficiency [--connections 50] [--seconds 10]
                                                         [--rounds 2] [--message-size 32]
                                                         [--generators NAME ...]

Starts the reference app (uvicorn, one process) pinned to one core, then runs each
generator in its own process pinned to another core, one after the other, alternating
for --rounds rounds. Each holds --connections connections, each sending a message,
waiting for the echo and sending the next; after a warm-up its CPU time (user and
system apart) and the round trips it completes are measured over --seconds.

  echouser   the harness's EchoUser inside Locust, unpaced (--message-rate 0), with
             LocalRunner, Locust's stats, the harness's histograms, folding and results
             file all in place
  client     the harness's gevent client alone (no Locust)
  asyncio    a plain asyncio `websockets` client on the default event loop
  uvloop     the same on uvloop
  artillery  Artillery's ws engine (npm `artillery`, installed on first use into
             ~/.cache/wsharness/artillery); its CPU is read from /proc and its round
             trips from the kernel's byte counts of its connections
  floor      calibration, not a competitor: the harness's handshake, then a bare epoll
             loop sending a prebuilt frame and counting reply bytes without parsing
             them; the syscalls' own cost, the ceiling for any Python client here

Every loop stops by itself (deadline and message count).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wsharness.argtypes import positive_float, positive_int
from wsharness.serve import serve
from wsharness.tied import tied_command

REPO = Path(__file__).resolve().parents[1]
PYTHON_GENERATORS = ("echouser", "client", "asyncio", "uvloop", "floor")
GENERATORS = (*PYTHON_GENERATORS, "artillery")
WARMUP_S = 2.0
MAX_MESSAGES_PER_CONNECTION = 10_000_000
ECHO_PREFIX = "Message text was: "

ARTILLERY_VERSION = "2.0.34"
ARTILLERY_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
    / "wsharness" / "artillery"
ARTILLERY_START_S = 60.0
ARTILLERY_MAX_RATE_PER_CONNECTION = 1000  # rt/s; bounds its loop count, ~3x what it reaches
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Result = dict[str, float]


class GeneratorUnavailable(Exception):
    """A generator that cannot run on this machine; the message says why in one line."""


class Window:
    """A measurement window opened at `done` round trips: own CPU (user, system) and wall."""

    def __init__(self, done: int) -> None:
        self.done = done
        self.user, self.system = own_cpu()
        self.wall = time.perf_counter()

    def close(self, done: int, errors: float) -> Result:
        user, system = own_cpu()
        return {"round_trips": done - self.done, "user_s": user - self.user,
                "sys_s": system - self.system, "wall_s": time.perf_counter() - self.wall,
                "errors": errors}


def own_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def message(number: int, size: int) -> str:
    return f"{number} ".ljust(size, "x")[:size]


def run_echouser(url: str, connections: int, seconds: float, size: int) -> Result:
    import gevent
    import locust
    from locust.argument_parser import parse_options
    from locust.env import Environment

    from loadtests._recorder import RECORDER
    from loadtests.echo_user import EchoUser

    with tempfile.TemporaryDirectory() as report_dir:
        options = parse_options(["--host", url, "--report-dir", report_dir,
                                 "--message-size", str(size), "--message-rate", "0",
                                 "--headless"])
        environment = Environment(user_classes=[EchoUser], events=locust.events, host=url,
                                  parsed_options=options)
        runner = environment.create_local_runner()
        locust.events.init.fire(  # type: ignore[no-untyped-call]
            environment=environment, runner=runner, web_ui=None)
        runner.start(connections, spawn_rate=connections)
        gevent.sleep(WARMUP_S)
        window = Window(RECORDER.total_received + RECORDER.received)
        gevent.sleep(seconds)
        result = window.close(RECORDER.total_received + RECORDER.received,
                              sum(RECORDER.errors.values()))
        runner.quit()
    return result


def run_client(url: str, connections: int, seconds: float, size: int) -> Result:
    """The harness's gevent client alone, without Locust: what Locust and the user cost."""
    import gevent

    from loadtests._wsclient import Connection

    counts = {"done": 0, "errors": 0}
    state = {"stop": False}

    def echo(text: str) -> None:
        connection = Connection.open(url + "/ws", timeout_s=5.0)
        expected = ECHO_PREFIX + text
        for _ in range(MAX_MESSAGES_PER_CONNECTION):
            if state["stop"]:
                break
            connection.send_text(text)
            if connection.recv(5.0) != expected:
                counts["errors"] += 1
            counts["done"] += 1
        connection.close()

    greenlets = [gevent.spawn(echo, message(n, size)) for n in range(connections)]
    gevent.sleep(WARMUP_S)
    window = Window(counts["done"])
    gevent.sleep(seconds)
    result = window.close(counts["done"], counts["errors"])
    state["stop"] = True
    gevent.joinall(greenlets, timeout=30)
    return result


def run_asyncio(url: str, connections: int, seconds: float, size: int,
                use_uvloop: bool) -> Result:
    import asyncio

    from websockets.asyncio.client import connect

    counts = {"done": 0, "errors": 0}
    state = {"stop": False}

    async def echo(text: str) -> None:
        async with connect(url + "/ws", compression=None) as websocket:
            expected = ECHO_PREFIX + text
            for _ in range(MAX_MESSAGES_PER_CONNECTION):
                if state["stop"]:
                    return
                await websocket.send(text)
                if await websocket.recv() != expected:
                    counts["errors"] += 1
                counts["done"] += 1

    async def main() -> Result:
        tasks = [asyncio.create_task(echo(message(n, size))) for n in range(connections)]
        await asyncio.sleep(WARMUP_S)
        window = Window(counts["done"])
        await asyncio.sleep(seconds)
        result = window.close(counts["done"], counts["errors"])
        state["stop"] = True
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        return result

    if use_uvloop:
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


def server_frame_size(payload_size: int) -> int:
    """Bytes of an unmasked (server-to-client) frame carrying payload_size bytes."""
    header = 2 if payload_size < 126 else 4 if payload_size < 65536 else 10
    return header + payload_size


def run_floor(url: str, connections: int, seconds: float, size: int) -> Result:
    """The harness's handshake, then only send() and recv() on the sockets from epoll."""
    from loadtests._wsclient import Connection, frame_header

    mask = os.urandom(4)
    payload = b"x" * size
    frame = frame_header(0x1, size) + mask + bytes(
        byte ^ mask[index % 4] for index, byte in enumerate(payload))
    reply_size = server_frame_size(len(ECHO_PREFIX) + size)
    opened = [Connection.open(url + "/ws", timeout_s=5.0) for _ in range(connections)]
    sockets = {connection._raw.fileno(): connection._raw for connection in opened}
    owed = dict.fromkeys(sockets, reply_size)  # reply bytes still to come per connection
    poller = select.epoll()
    for fd in sockets:
        poller.register(fd, select.EPOLLIN)
    for sock in sockets.values():
        sock.send(frame)
    done = errors = wakeups = 0
    start = time.perf_counter()
    window_at, end_at = start + WARMUP_S, start + WARMUP_S + seconds
    window: Window | None = None
    window_wakeups = 0
    limit = MAX_MESSAGES_PER_CONNECTION * connections
    while done < limit:
        now = time.perf_counter()
        if now >= end_at:
            break
        if window is None and now >= window_at:
            window, window_wakeups = Window(done), wakeups
        wakeups += 1
        for fd, _ in poller.poll(1.0):
            sock = sockets[fd]
            received = len(sock.recv(65536))
            if not received:
                poller.unregister(fd)
                errors += 1
                continue
            owed[fd] -= received
            if owed[fd] <= 0:  # below 0 only if a server ping came along
                owed[fd] = reply_size
                sock.send(frame)
                done += 1
    result = (window or Window(done)).close(done, errors)
    result["wakeups"] = wakeups - window_wakeups
    poller.close()
    for connection in opened:
        connection.close()
    return result


def artillery_command() -> list[str]:
    """node and Artillery's launcher, installing Artillery into the cache on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise GeneratorUnavailable("node and npm are not on PATH")
    package = ARTILLERY_DIR / "node_modules" / "artillery"
    installed = package / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != ARTILLERY_VERSION:
        print(f"installing artillery@{ARTILLERY_VERSION} into {ARTILLERY_DIR} (once)", flush=True)
        ARTILLERY_DIR.mkdir(parents=True, exist_ok=True)
        manifest = ARTILLERY_DIR / "package.json"
        if not manifest.exists():
            manifest.write_text('{"private": true}\n')
        environment = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                 f"artillery@{ARTILLERY_VERSION}"], cwd=ARTILLERY_DIR, env=environment,
                capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired:
            raise GeneratorUnavailable("npm install artillery took over 15 minutes") from None
        if done.returncode != 0 or not installed.exists():
            lines = (done.stderr + done.stdout).strip().splitlines() or ["no output"]
            reason = next((line for line in lines if "Error:" in line), lines[-1])
            raise GeneratorUnavailable(f"npm install artillery@{ARTILLERY_VERSION} failed: "
                                       f"{reason.strip()}")
    return [node, str(package / "bin" / "run")]


def artillery_script(ws_url: str, connections: int, seconds: float, size: int) -> str:
    """Each virtual user opens one connection and loops: send, wait for the echo, match it.

    Artillery's ws engine ends a `send` step that has `match` only when its onmessage
    handler has run the match on the next message, so every send waits for its reply.
    """
    text = "x" * size
    loop_count = int(ARTILLERY_MAX_RATE_PER_CONNECTION * (ARTILLERY_START_S + WARMUP_S + seconds))
    script = {
        "config": {"target": ws_url + "/ws",
                   "phases": [{"duration": 1, "arrivalCount": connections}],
                   "ws": {"perMessageDeflate": False}},  # the other clients do not compress
        "scenarios": [{"engine": "ws", "flow": [{
            "loop": [{"send": {"payload": text,
                               "match": {"regexp": ".+", "value": ECHO_PREFIX + text}}}],
            "count": loop_count}]}],
    }
    return json.dumps(script)  # JSON is YAML


def bytes_received_from(port: int) -> tuple[int, int]:
    """(established client connections to port, bytes they received), from the kernel."""
    listing = subprocess.run(["ss", "-tinH", "state", "established", f"( dport = :{port} )"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    counts = [int(count) for count in re.findall(r"bytes_received:(\d+)", listing)]
    return len(counts), sum(counts)


def process_tree_cpu(root: int) -> tuple[float, float]:
    """User and system CPU seconds of root and all its live descendants (all threads)."""
    parents: dict[int, int] = {}
    times: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[13]), int(fields[12]) + int(fields[14]))
    tree, added = {root}, True
    while added:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        added = bool(children)
    user = sum(times[pid][0] for pid in tree if pid in times)
    system = sum(times[pid][1] for pid in tree if pid in times)
    return user / CLOCK_TICKS, system / CLOCK_TICKS


def pinned_and_tied_to_parent(core: int, command: list[str]) -> list[str]:
    """command pinned to core (taskset, before it starts any thread), ending with us (tied)."""
    return tied_command(["taskset", "--cpu-list", str(core), *command])


def log_tail(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def run_artillery(command: list[str], ws_url: str, port: int, *, connections: int,
                  seconds: float, size: int, core: int) -> Result:
    """Artillery pinned to core; CPU from /proc over the window, round trips from ss.

    The window starts once all connections are open plus the warm-up, so node's start-up
    is left out. Round trips = bytes the kernel received on connections to the server
    port in the window / bytes of one echo frame (the other generators are not running).
    A connection that closes (a failed match or a timeout ends its virtual user) counts
    as an error.
    """
    if shutil.which("ss") is None:
        raise GeneratorUnavailable("ss (iproute2) is needed to count its round trips")
    reply_size = server_frame_size(len(ECHO_PREFIX) + size)
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "echo.yml"
        script.write_text(artillery_script(ws_url, connections, seconds, size))
        log_path = Path(scratch) / "artillery.log"
        environment = {**os.environ, "ARTILLERY_DISABLE_TELEMETRY": "true", "NO_COLOR": "1"}
        with log_path.open("w") as log:
            process = subprocess.Popen(
                pinned_and_tied_to_parent(core, [*command, "run", str(script)]), cwd=scratch,
                env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + ARTILLERY_START_S
            while bytes_received_from(port)[0] < connections:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise GeneratorUnavailable(f"it did not open {connections} connections: "
                                               f"{log_tail(log_path)}")
                time.sleep(0.2)
            time.sleep(WARMUP_S)
            user0, system0 = process_tree_cpu(process.pid)
            _, received0 = bytes_received_from(port)
            wall0 = time.perf_counter()
            time.sleep(seconds)
            user1, system1 = process_tree_cpu(process.pid)
            still_open, received1 = bytes_received_from(port)
            wall1 = time.perf_counter()
            if process.poll() is not None:
                raise GeneratorUnavailable(f"it ended during the measurement: "
                                           f"{log_tail(log_path)}")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    return {"round_trips": (received1 - received0) // reply_size, "user_s": user1 - user0,
            "sys_s": system1 - system0, "wall_s": wall1 - wall0,
            "errors": connections - still_open}


def generate(args: argparse.Namespace) -> None:
    """Child process: run one Python generator, print its measurement as one JSON line."""
    if args.generator == "echouser":
        result = run_echouser(args.url, args.connections, args.seconds, args.message_size)
    elif args.generator == "client":
        result = run_client(args.url, args.connections, args.seconds, args.message_size)
    elif args.generator == "floor":
        result = run_floor(args.url, args.connections, args.seconds, args.message_size)
    else:
        result = run_asyncio(args.url, args.connections, args.seconds, args.message_size,
                             use_uvloop=args.generator == "uvloop")
    print(json.dumps(result))


def run_python_generator(name: str, args: argparse.Namespace, ws_url: str, core: int) -> Result:
    command = [sys.executable, "-m", "benchmarks.generator_efficiency", "generate", name,
               "--url", ws_url, "--connections", str(args.connections),
               "--seconds", str(args.seconds), "--message-size", str(args.message_size)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=args.seconds + 120,
                          preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.exit(f"generator {name} failed: {last}")
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rates(result: Result) -> dict[str, float]:
    trips = max(result["round_trips"], 1)
    cpu_s = max(result["user_s"] + result["sys_s"], 1e-9)
    return {"per_cpu_s": result["round_trips"] / cpu_s,
            "per_s": result["round_trips"] / result["wall_s"],
            "user_us": result["user_s"] / trips * 1e6,
            "sys_us": result["sys_s"] / trips * 1e6,
            "cpu_share": (result["user_s"] + result["sys_s"]) / result["wall_s"]}


def label(name: str) -> str:
    return "floor (ceiling)" if name == "floor" else name


def measure(args: argparse.Namespace) -> None:
    generators: list[str] = list(dict.fromkeys(args.generators))
    artillery: list[str] = []
    if "artillery" in generators:
        try:
            artillery = artillery_command()
        except GeneratorUnavailable as exc:
            print(f"artillery skipped: {exc}", flush=True)
            generators.remove("artillery")
    cores = sorted(os.sched_getaffinity(0))
    server_core, generator_core = cores[0], cores[-1]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in generators}
    print("generator        rt/CPU-s      rt/s  user us/rt  sys us/rt   cpu  errors")
    with serve(cwd=REPO) as server:
        os.sched_setaffinity(server.process.pid, {server_core})
        for _ in range(args.rounds):
            for name in list(generators):
                if name == "artillery":
                    try:
                        result = run_artillery(
                            artillery, server.ws_url, server.port,
                            connections=args.connections, seconds=args.seconds,
                            size=args.message_size, core=generator_core)
                    except GeneratorUnavailable as exc:
                        print(f"artillery skipped: {exc}", flush=True)
                        generators.remove(name)
                        del results[name]
                        continue
                else:
                    result = run_python_generator(name, args, server.ws_url, generator_core)
                results[name].append(result)
                figures = rates(result)
                print(f"{label(name):15} {figures['per_cpu_s']:9.0f} {figures['per_s']:9.0f} "
                      f"{figures['user_us']:11.1f} {figures['sys_us']:10.1f} "
                      f"{figures['cpu_share']:5.0%} {result['errors']:7.0f}", flush=True)
    print(f"\nserver core {server_core}, generator core {generator_core}, "
          f"{args.connections} connections, {args.message_size}-byte messages, "
          f"{args.seconds:.0f}s per measurement, {args.rounds} round(s); medians:")
    print("generator        rt/CPU-s      rt/s  user us/rt  sys us/rt")
    medians: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        per_run = [rates(result) for result in runs]
        medians[name] = {key: statistics.median(figures[key] for figures in per_run)
                         for key in ("per_cpu_s", "per_s", "user_us", "sys_us")}
        median = medians[name]
        print(f"{label(name):15} {median['per_cpu_s']:9.0f} {median['per_s']:9.0f} "
              f"{median['user_us']:11.1f} {median['sys_us']:10.1f}")
    if "echouser" in medians:
        echouser = medians["echouser"]["per_cpu_s"]
        for name in [name for name in medians if name not in {"echouser", "floor"}]:
            print(f"echouser / {name}: {echouser / medians[name]['per_cpu_s']:.2f}")
        if "floor" in medians:
            share = echouser / medians["floor"]["per_cpu_s"]
            print(f"echouser as a share of the floor: {share:.0%}")
    if results.get("floor"):
        per_wakeup = statistics.median(run["round_trips"] / max(run["wakeups"], 1)
                                       for run in results["floor"])
        print(f"floor: {per_wakeup:.1f} replies per epoll_wait (median); fewer per wake-up "
              "means more system CPU per round trip")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=positive_int, default=50)
    parser.add_argument("--seconds", type=positive_float, default=10.0)
    parser.add_argument("--message-size", type=positive_int, default=32)
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument("--generators", nargs="+", choices=GENERATORS, default=list(GENERATORS))
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("generate", help="(internal) run one Python generator")
    child.add_argument("generator", choices=PYTHON_GENERATORS)
    child.add_argument("--url", required=True)
    child.add_argument("--connections", type=positive_int, default=50)
    child.add_argument("--seconds", type=positive_float, default=10.0)
    child.add_argument("--message-size", type=positive_int, default=32)
    args: Any = parser.parse_args(argv)
    if args.command == "generate":
        generate(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
