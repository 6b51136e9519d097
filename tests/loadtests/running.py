"""Run Locust on the harness's locustfiles as a subprocess, the way users do."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reports.results import Results, load_results
from wsharness.bind import free_port
from wsharness.timeouts import scaled, timeout_scale

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SCALE = timeout_scale()  # for the waits of the modules that use this one
RUN_TIMEOUT_S = scaled(90)


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", "loadtests", *args]


def two_workers() -> tuple[str, ...]:
    """--processes 2 on a free master port: parallel runs must not share Locust's default one."""
    port = str(free_port())
    return ("--processes", "2", "--master-bind-port", port, "--master-port", port)


def run_locust(*args: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    """A bounded headless run from the repository root; its report dir is report_dir."""
    return subprocess.run(
        locust_command("--headless", "--report-dir", str(report_dir), *args),
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)


def run_master_and_workers(*args: str, report_dir: Path,
                           workers: int = 2) -> subprocess.CompletedProcess[str]:
    """A bounded headless run of a master (`--master`, on loopback) and `workers` processes
    started apart from it (`--worker`), as on several machines; the master's outcome."""
    port = str(free_port())
    master = subprocess.Popen(
        locust_command("--headless", "--report-dir", str(report_dir), "--master",
                       "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                       "--expect-workers", str(workers), *args),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    started = [subprocess.Popen(
        locust_command("--worker", "--master-host", "127.0.0.1", "--master-port", port),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True) for _ in range(workers)]
    try:
        stdout, stderr = master.communicate(timeout=RUN_TIMEOUT_S)
        for worker in started:  # the master's quit ends them
            _, worker_stderr = worker.communicate(timeout=RUN_TIMEOUT_S)
            assert worker.returncode == 0, worker_stderr[-3000:]
            assert "Traceback" not in worker_stderr, worker_stderr[-3000:]
    finally:
        for process in (master, *started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(master.args, master.returncode, stdout, stderr)


DISTRIBUTED = {"processes": lambda *args, report_dir: run_locust(
                   *args, *two_workers(), report_dir=report_dir),
               "master-and-workers": run_master_and_workers}


def only_run_dir(report_dir: Path) -> Path:
    runs = [path for path in report_dir.iterdir() if path.is_dir()]
    assert len(runs) == 1, f"expected one run directory, found {runs}"
    return runs[0]


def results_of(done: subprocess.CompletedProcess[str], report_dir: Path) -> Results:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return load_results(only_run_dir(report_dir))


class LiveRun:
    """A headless run as a subprocess whose stderr (Locust's log and stats table) is read as
    it comes, so a test can wait on what the run reports. It runs in a process group of its
    own (Ctrl-C in a terminal signals the group), all killed on leaving the block."""

    def __init__(self, *args: str, report_dir: Path, cwd: Path = REPO) -> None:
        self.process = subprocess.Popen(
            locust_command("--headless", "--report-dir", str(report_dir), *args),
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        self.lines: list[str] = []
        self._out: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._out_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._out_reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self._out.extend(self.process.stdout)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stderr(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for(self, found: Callable[[list[str]], bool], what: str,
                 timeout_s: float = scaled(30)) -> None:
        """Wait until found(lines so far) holds; fail (with the output) if the run ends first."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not found(self.lines):
                remaining = deadline - time.monotonic()
                output = "".join(self.lines)[-3000:]
                assert remaining > 0, f"never saw {what}:\n{output}"
                assert self._reader.is_alive(), f"the run ended before {what}:\n{output}"
                self._changed.wait(min(remaining, 0.5))

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    def finish(self, timeout_s: float = RUN_TIMEOUT_S) -> int:
        """Wait for the run to end by itself; its exit code."""
        code = self.process.wait(timeout_s)
        self._reader.join(timeout_s)
        self._out_reader.join(timeout_s)
        return code

    def __enter__(self) -> LiveRun:
        return self

    def workers(self) -> list[int]:
        """The process ids of the run's --processes workers (its children running Locust)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children
                if b"locust" in Path(f"/proc/{child}/cmdline").read_bytes()]

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join()
        self._out_reader.join()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def stats_row(lines: list[str], request_type: str, name: str) -> tuple[int, int]:
    """(requests, failures) in the last row Locust printed for request_type and name."""
    row = re.compile(rf"{re.escape(request_type)}\s+{re.escape(name)}\s+(\d+)\s+(\d+)")
    for line in reversed(lines):
        found = row.match(line)
        if found:
            return int(found[1]), int(found[2])
    return 0, 0
