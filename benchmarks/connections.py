"""Connection scale: tens of thousands of concurrent WebSocket connections from one machine,
each with light traffic and every reply checked.

    .venv/bin/python -m benchmarks.connections [--connections 50000] [--server-workers 4]
        [--generators 4] [--spawn-rate 150] [--max-connecting 100] [--hold-s 60]
        [--max-ramp-s 600] [--message-rate 0.05] [--backlog 4096] [--healthcheck-s 30]
        [--source-addresses 127.0.0.0/8] [--ws-timeout 10] [--report-dir DIR] [--json FILE]

Serves the default app with uvicorn on --server-workers processes (listen backlog --backlog;
a worker that does not answer its supervisor's health check within --healthcheck-s is killed
and replaced: uvicorn's 5 s default is shorter than a full garbage collection of a worker
holding 12,000 connections takes on a saturated machine) and runs Locust as a master with
--generators worker processes started apart from it, as on several machines: EchoUser
only, --connections users, one connection each, spawned at --spawn-rate a second, each
generator connecting at most --max-connecting at once (so the backlog holds every
connection under way), from source addresses spread over --source-addresses (each gives
the ephemeral port range anew). Once the generators hold
--connections (or --max-ramp-s has passed), the connections are held for --hold-s and the
run is ended as Ctrl-C ends it (results written). Each user sends --message-rate messages a
second and checks every echo; a user whose connect fails retries after its backoff.

Every process must stay under its open-file limit: the soft limit is raised to the hard one
here (children inherit it), and a setting that would need more files per process than that is
refused. Every 2 s the benchmark samples each process's resident memory and open files. It
prints the connections reached (the run's timeline, summed over the generators), connects per
second while spawning, connect time and round trip (HDR, µs), errors and close codes, memory
per connection on each side (resident memory at the peak less before spawning, over the
connections), the most files any one process held, and the kernel's listen-queue overflows
and SYN retransmits over the run (system-wide counters: 0 overflows means no connection
waited for a SYN retransmit because the backlog was full).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._harness import (
    REPO,
    BenchmarkError,
    markdown_table,
    number,
    run,
    write_json,
)
from benchmarks._proc import cpu_s, raise_open_file_limit, rss_kb
from loadtests._options import DEFAULT_MAX_CONNECTING
from loadtests._sources import source_addresses
from reports.results import Results, decode_histogram, load_results
from wsharness.argtypes import non_negative_float, non_negative_int, positive_float, positive_int
from wsharness.bind import free_port
from wsharness.serve import Server, serve, worker_pids
from wsharness.tied import tied_command

SAMPLE_S = 2.0
FILES_PER_PROCESS_BESIDES = 500  # a process's own files besides its connections, and slack
LOCUST_START_S = 60.0
STOP_S = 120.0  # after the run time: users closing, results written
NETSTAT = Path("/proc/net/netstat")
KERNEL_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPSynRetrans")


@dataclass
class Sample:
    at_s: float
    rss_kb: dict[int, int]  # the generators' and the master's, by pid
    files: dict[int, int]
    server_rss_kb: dict[int, int] = field(default_factory=dict)  # the server's workers then
    server_files: dict[int, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)  # server, generators, master


@dataclass
class Processes:
    server_pid: int = 0  # uvicorn's supervisor
    server: list[int] = field(default_factory=list)  # its workers now
    server_seen: set[int] = field(default_factory=set)  # every worker it has had
    master: int = 0
    generators: list[int] = field(default_factory=list)

    def find_server_workers(self) -> None:
        """uvicorn's spawned workers; with one worker, uvicorn serves in its own process."""
        workers = worker_pids(self.server_pid)
        self.server = workers or ([self.server_pid] if cmdline(self.server_pid) else [])
        self.server_seen.update(self.server)


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def kernel_counters() -> dict[str, int]:
    """TcpExt's listen-queue overflows and drops and SYN retransmits, system-wide."""
    lines = NETSTAT.read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], (int(v) for v in values.split()[1:]),
                             strict=True))
            return {name: table.get(name, 0) for name in KERNEL_COUNTERS}
    return dict.fromkeys(KERNEL_COUNTERS, 0)


class Sampler:
    """Resident memory and open files of every process of the run, every SAMPLE_S."""

    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        self.samples: list[Sample] = []
        self.hold_began = 0  # the first sample of the hold
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(SAMPLE_S * 5)

    def generator_connections(self) -> int:
        """Sockets the generators hold beyond their files before spawning (their
        connections, give or take a few)."""
        if len(self.samples) < 2:
            return 0
        first, last = self.samples[0], self.samples[-1]
        return sum(last.files.get(p, 0) - first.files.get(p, 0)
                   for p in self.processes.generators)

    def wait_for(self, connections: int, timeout_s: float,
                 master: subprocess.Popen[bytes]) -> bool:
        """Until the generators hold connections (99.9 % of them), at most timeout_s;
        BenchmarkError if the master ends meanwhile."""
        deadline = time.monotonic() + timeout_s
        while self.generator_connections() < connections * 0.999:
            if master.poll() is not None:
                raise BenchmarkError(f"the Locust master exited with code {master.returncode} "
                                     "before the connections were open (see its log)")
            if time.monotonic() > deadline:
                return False
            time.sleep(SAMPLE_S)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.processes.find_server_workers()
            pids = [*self.processes.generators, self.processes.master]
            server = self.processes.server
            self.samples.append(Sample(
                time.monotonic() - self.started, {pid: rss_kb(pid) for pid in pids},
                {pid: open_files(pid) for pid in pids}, {pid: rss_kb(pid) for pid in server},
                {pid: open_files(pid) for pid in server},
                {"server": cpu_s(server), "generators": cpu_s(self.processes.generators),
                 "master": cpu_s([self.processes.master])}))
            self._stop.wait(SAMPLE_S)


def locust(*args: str) -> list[str]:
    return tied_command([sys.executable, "-m", "locust", "-f", "loadtests", *args])


@contextlib.contextmanager
def generators(args: argparse.Namespace, server: Server,
               report_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], Processes]]:
    """The Locust master and its --generators workers, started apart; killed at the end."""
    port = str(free_port())
    log = open(report_dir / "locust.log", "wb")  # noqa: SIM115 - closed below
    started: list[subprocess.Popen[bytes]] = []
    try:
        master = subprocess.Popen(
            locust("--headless", "--only-summary", "--master", "--master-bind-host", "127.0.0.1",
                   "--master-bind-port", port, "--expect-workers", str(args.generators),
                   "--expect-workers-max-wait", str(int(LOCUST_START_S)),
                   "-u", str(args.connections), "-r", str(args.spawn_rate), "--host", server.url,
                   "--message-rate", str(args.message_rate), "--ws-timeout", str(args.ws_timeout),
                   "--max-connecting", str(args.max_connecting),
                   "--source-addresses", args.source_addresses,
                   "--report-dir", str(report_dir), "EchoUser"),
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        started.append(master)
        for _ in range(args.generators):
            started.append(subprocess.Popen(
                locust("--worker", "--master-host", "127.0.0.1", "--master-port", port),
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
        yield master, Processes(server_pid=server.process.pid, master=master.pid,
                                generators=[p.pid for p in started[1:]])
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()
        log.close()


def check_files(args: argparse.Namespace, limit: int) -> None:
    for what, processes in (("--generators", args.generators),
                            ("--server-workers", args.server_workers)):
        per_process = -(-args.connections // processes) + FILES_PER_PROCESS_BESIDES
        if per_process > limit:
            raise BenchmarkError(
                f"{args.connections} connections over {what} {processes} need about "
                f"{per_process} open files per process; the limit is {limit}: use more")


def measure(args: argparse.Namespace) -> int:
    limit = raise_open_file_limit()
    check_files(args, limit)
    ramp_s = args.connections / args.spawn_rate
    report_dir = args.report_dir or Path(tempfile.mkdtemp(prefix="wsharness-connections-"))
    report_dir.mkdir(parents=True, exist_ok=True)
    before = kernel_counters()
    with serve(cwd=REPO, workers=args.server_workers, log_path=report_dir / "server.log",
               log_level="info", options={"backlog": args.backlog,
                                          "timeout_worker_healthcheck": args.healthcheck_s},
               ) as server, \
            generators(args, server, report_dir) as (master, processes), \
            Sampler(processes) as sampler:
        reached = sampler.wait_for(args.connections, LOCUST_START_S + args.max_ramp_s, master)
        sampler.hold_began = len(sampler.samples)
        time.sleep(args.hold_s)
        master.send_signal(signal.SIGTERM)  # as Ctrl-C: the users stop, the results are written
        try:
            code = master.wait(STOP_S)
        except subprocess.TimeoutExpired:
            raise BenchmarkError("the Locust master did not finish in time (log: "
                                 f"{report_dir / 'locust.log'})") from None
    after = kernel_counters()
    results = load_results(only_run(report_dir))
    figures = summarise(args, results, sampler.samples[:], processes=processes,
                        kernel={name: after[name] - before[name] for name in KERNEL_COUNTERS},
                        limit=limit, ramp_s=ramp_s)
    figures["cores_used_while_holding"] = cores_used(sampler.samples[sampler.hold_began:])
    figures["locust_exit_code"] = code
    figures["reached_the_goal"] = reached
    figures["report_dir"] = str(report_dir)
    print_figures(args, figures)
    write_json(args.json, figures)
    return 0


def only_run(report_dir: Path) -> Path:
    runs = [path for path in report_dir.iterdir() if (path / "results.json").is_file()]
    if len(runs) != 1:
        raise BenchmarkError(f"expected one run in {report_dir}, found {len(runs)}")
    return runs[0]


def summarise(args: argparse.Namespace, results: Results, samples: list[Sample], *,
              processes: Processes, kernel: dict[str, int], limit: int,
              ramp_s: float) -> dict[str, Any]:
    timeline = [(p["t"], p.get("connections", 0)) for p in results["timeline"]]
    peak = max((count for _, count in timeline), default=0)
    first = next((t for t, count in timeline if count > 0), 0.0)
    reached = next((t for t, count in timeline if count >= 0.99 * peak), first)
    metrics = results["metrics"]
    connect, rtt = metrics.get("connect /ws"), metrics.get("rtt /ws")
    connects = connect["count"] if connect else 0
    spawning_s = max(reached - first + 1.0, 1.0)
    generator_pids = processes.generators

    def rss_mb(sample: Sample, pids: list[int]) -> float:
        return sum(sample.rss_kb.get(pid, 0) for pid in pids) / 1024

    def server_mb(sample: Sample) -> float:
        return sum(sample.server_rss_kb.values()) / 1024

    def files(sample: Sample, pids: list[int]) -> int:
        return sum(sample.files.get(pid, 0) for pid in pids)

    empty = Sample(0, {}, {})
    busiest = max(samples, key=lambda s: files(s, generator_pids), default=empty)
    # memory per connection: the growth from the sample where the generators first held half
    # the peak's connections to the peak, over the connections added meanwhile (what a
    # connection costs, apart from each process's fixed cost)
    half = next((s for s in samples if files(s, generator_pids) - files(samples[0], generator_pids)
                 >= (files(busiest, generator_pids) - files(samples[0], generator_pids)) / 2),
                empty)
    added = max(files(busiest, generator_pids) - files(half, generator_pids), 1)
    held = files(busiest, generator_pids) - files(samples[0], generator_pids) if samples else 0
    return {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "open_file_limit": limit,
        "peak_connections": peak,
        "connections_over_time": timeline,
        "seconds_to_peak": reached - first,
        "connects_per_s": peak / spawning_s,
        "connects": connects,
        "connect_attempts_failed": connect["errors"] if connect else 0,
        "connect_us": percentiles_us(connect),
        "round_trips": rtt["count"] if rtt else 0,
        "rtt_us": percentiles_us(rtt),
        "errors": results["errors"],
        "close_codes": results["close_codes"],
        "client_rss_mb": {"half": rss_mb(half, generator_pids),
                          "peak": rss_mb(busiest, generator_pids),
                          "master_peak": rss_mb(busiest, [processes.master])},
        "server_rss_mb": {"half": server_mb(half), "peak": server_mb(busiest)},
        "client_kb_per_connection": (rss_mb(busiest, generator_pids)
                                     - rss_mb(half, generator_pids)) * 1024 / added,
        "server_kb_per_connection": (server_mb(busiest) - server_mb(half)) * 1024 / added,
        "client_kb_per_connection_all_in": rss_mb(busiest, generator_pids) * 1024 / max(held, 1),
        "server_kb_per_connection_all_in": server_mb(busiest) * 1024 / max(held, 1),
        "connections_held_at_the_sample": held,
        "most_files_per_process": {
            "generators": max((max(s.files.get(p, 0) for p in generator_pids) for s in samples),
                              default=0),
            "server_workers": max((max(s.server_files.values(), default=0) for s in samples),
                                  default=0)},
        "server_files_per_worker_at_peak": sorted(busiest.server_files.values()),
        "server_workers_restarted": len(processes.server_seen) - args.server_workers,
        "lost_workers": len(results.get("lost_workers", [])),
        "kernel": kernel,
        "planned_spawn_s": ramp_s,
    }


def cores_used(samples: list[Sample]) -> dict[str, float]:
    """CPU seconds per second over the samples, by part (cores' worth: 2 is all of 2 cores)."""
    if len(samples) < 2:
        return {}
    first, last = samples[0], samples[-1]
    seconds = last.at_s - first.at_s
    return {part: (last.cpu_s[part] - first.cpu_s[part]) / seconds for part in first.cpu_s}


def percentiles_us(metric: Any) -> dict[str, int]:
    if not metric or not metric["hdr"]:
        return {}
    histogram = decode_histogram(metric["hdr"])
    return {p: int(histogram.get_value_at_percentile(float(p))) for p in ("50", "90", "99", "100")}


def print_figures(args: argparse.Namespace, f: dict[str, Any]) -> None:
    connect, rtt = f["connect_us"], f["rtt_us"]
    print(markdown_table(["measurement", "value"], [
        ["connections open at the peak (timeline)", number(f["peak_connections"])],
        ["connections opened per second while spawning", number(f["connects_per_s"])],
        ["seconds from the first connection to 99 % of the peak", number(f["seconds_to_peak"])],
        ["connect p50 / p90 / p99 / max, µs",
         " / ".join(number(connect.get(p, 0)) for p in ("50", "90", "99", "100"))],
        ["failed connects (retried)", number(f["connect_attempts_failed"])],
        ["round trips checked", number(f["round_trips"])],
        ["round trip p50 / p90 / p99 / max, µs",
         " / ".join(number(rtt.get(p, 0)) for p in ("50", "90", "99", "100"))],
        ["errors", ", ".join(f"{k} × {v}" for k, v in f["errors"].items()) or "none"],
        ["close codes", ", ".join(f"{k} × {v}" for k, v in f["close_codes"].items())],
        [f"client memory ({args.generators} generators) at half the peak, at the peak, MB",
         f"{f['client_rss_mb']['half']:.0f}, {f['client_rss_mb']['peak']:.0f}"],
        ["client memory per connection, KB: added, all in",
         f"{f['client_kb_per_connection']:.1f}, {f['client_kb_per_connection_all_in']:.1f}"],
        [f"server memory ({args.server_workers} workers) at half the peak, at the peak, MB",
         f"{f['server_rss_mb']['half']:.0f}, {f['server_rss_mb']['peak']:.0f}"],
        ["server memory per connection, KB: added, all in",
         f"{f['server_kb_per_connection']:.1f}, {f['server_kb_per_connection_all_in']:.1f}"],
        ["Locust master at the peak, MB", f"{f['client_rss_mb']['master_peak']:.0f}"],
        ["most open files in one process: generator, server worker (limit)",
         f"{f['most_files_per_process']['generators']}, "
         f"{f['most_files_per_process']['server_workers']} ({f['open_file_limit']})"],
        ["server worker files at the peak", ", ".join(
            str(n) for n in f["server_files_per_worker_at_peak"])],
        ["server workers restarted by uvicorn; Locust workers lost",
         f"{f['server_workers_restarted']}; {f['lost_workers']}"],
        ["cores used while holding: server workers, generators, master", ", ".join(
            f"{f['cores_used_while_holding'].get(part, 0):.2f}"
            for part in ("server", "generators", "master"))],
        ["listen overflows, drops, SYN retransmits (kernel, whole run)",
         ", ".join(str(f["kernel"][name]) for name in KERNEL_COUNTERS)],
    ]))
    print(f"\nrun directory (results.json, report.html, logs): {f['report_dir']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.connections", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=positive_int, default=50_000)
    parser.add_argument("--server-workers", type=positive_int, default=4)
    parser.add_argument("--generators", type=positive_int, default=4)
    parser.add_argument("--spawn-rate", type=positive_float, default=150.0)
    parser.add_argument("--max-connecting", type=non_negative_int,
                        default=DEFAULT_MAX_CONNECTING)
    parser.add_argument("--hold-s", type=non_negative_float, default=60.0)
    parser.add_argument("--max-ramp-s", type=positive_float, default=600.0)
    parser.add_argument("--message-rate", type=positive_float, default=0.05)
    parser.add_argument("--backlog", type=positive_int, default=4096)
    parser.add_argument("--healthcheck-s", type=positive_int, default=30)
    parser.add_argument("--source-addresses", type=source_addresses, default="127.0.0.0/8")
    parser.add_argument("--ws-timeout", type=positive_float, default=10.0)
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="where the run's results, report and logs go (default: a new "
                             "temporary directory)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args: Any = parser.parse_args(argv)
    run(lambda: measure(args))


if __name__ == "__main__":
    main()

