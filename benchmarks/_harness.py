"""What the app benchmarks share: pinned servers, pinned client processes, scrapes, tables.

Each benchmark serves the app with `wsharness.serve.serve`, pins every thread of the
server to one core and runs its clients in a child process pinned to another (`python -m
benchmarks.NAME client TASK PARAMS_JSON`, which prints one JSON line), so the parent is
free to scrape `/metrics` while the load runs. Servers stop at the end of their `with`
block, Ctrl-C included; a client process ends with its parent (`wsharness.tied`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks._proc import pin_tree
from wsharness.serve import STARTUP_S, LaunchError, Server, serve, wait_until_answering
from wsharness.servers import DEFAULT_SERVER
from wsharness.tied import tied_command
from wsharness.timeouts import scaled

REPO = Path(__file__).resolve().parents[1]
APPS = {"default": "target_app:app", "docs": "target_app.docs:app"}
CLIENT = "client"  # argv[1] of a benchmark's client process
ENDPOINTS = ("echo", "items", "chat")

Params = dict[str, Any]
Samples = dict[str, float]  # 'name' or 'name{label="value"}' -> value


class BenchmarkError(Exception):
    """The benchmark cannot go on; the message is one line."""


def cores() -> tuple[int, int]:
    """(server core, client core): the first and last core this process may use."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[-1]


@contextlib.contextmanager
def pinned_server(app: str, core: int, env: dict[str, str] | None = None, *,
                  server: str = DEFAULT_SERVER, ws: str | None = None) -> Iterator[Server]:
    """APP (an APPS name or MODULE:ATTR) served by `server`, every thread of every one of its
    processes pinned to core. It has answered a request first: a server's worker processes
    are all there to pin."""
    with serve(APPS.get(app, app), server=server, ws=ws, cwd=REPO, env=env) as serving:
        wait_until_answering(serving.host, serving.port, scaled(STARTUP_S), serving.process)
        pin_tree(serving.process.pid, core)
        yield serving


def run_client(module: str, task: str, params: Params, core: int, timeout_s: float) -> Params:
    """Run TASK of MODULE in a client process pinned to core; its JSON result."""
    process = start_client(module, task, params, core)
    try:
        out, err = process.communicate(timeout=timeout_s)
    except BaseException as exc:
        process.kill()
        process.wait()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise BenchmarkError(f"the {task} client did not finish within {timeout_s:.0f}s") \
                from None
        raise
    return client_result(task, process.returncode, out, err)


def start_client(module: str, task: str, params: Params, core: int) -> subprocess.Popen[str]:
    """The client process, pinned (taskset, before it starts a thread) and tied to us."""
    command = tied_command(["taskset", "--cpu-list", str(core), sys.executable, "-m", module,
                            CLIENT, task, json.dumps(params)])
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def client_result(task: str, returncode: int, out: str, err: str) -> Params:
    if returncode != 0 or not out.strip():
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise BenchmarkError(f"the {task} client failed (exit {returncode}): {last}")
    result: Params = json.loads(out.strip().splitlines()[-1])
    return result


def client_main(argv: Sequence[str], tasks: dict[str, Callable[[Params], Params]]) -> bool:
    """In a client process (argv: client TASK PARAMS_JSON) run the task, print its result."""
    if len(argv) != 3 or argv[0] != CLIENT:
        return False
    print(json.dumps(tasks[argv[1]](json.loads(argv[2]))), flush=True)
    return True


class Copies:
    """The broadcast copies one chat member got: each sender's in order, each exactly once.

    Cheap per copy: per sender the last sequence number, and the numbers skipped so far
    (normally none); a skipped one arriving later is out of order, any other repeat a
    duplicate.
    """

    def __init__(self) -> None:
        self.last: dict[int, int] = {}
        self.skipped: dict[int, set[int]] = {}
        self.unique = self.duplicates = self.out_of_order = 0

    def add(self, sender: int, sequence: int) -> None:
        last = self.last.get(sender, -1)
        if sequence == last + 1:
            self.last[sender] = sequence
        elif sequence > last:
            self.skipped.setdefault(sender, set()).update(range(last + 1, sequence))
            self.last[sender] = sequence
        elif sequence in self.skipped.get(sender, ()):
            self.skipped[sender].discard(sequence)
            self.out_of_order += 1
        else:
            self.duplicates += 1
            return
        self.unique += 1

    def add_text(self, text: str) -> bool:
        """Count `Client #N says: SEQUENCE`; False for any other message."""
        if not text.startswith("Client #"):
            return False
        sender, says, sequence = text[8:].partition(" says: ")
        if not says or not sequence.isdigit():
            return False
        self.add(int(sender), int(sequence))
        return True


def sample_key(name: str, **labels: str) -> str:
    inner = ",".join(f'{label}="{value}"' for label, value in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


def scrape(server: Server) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {sample_key(sample.name, **sample.labels): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def open_connections(samples: Samples) -> dict[str, int]:
    return {endpoint: int(samples[sample_key("wsharness_open_connections", endpoint=endpoint)])
            for endpoint in ENDPOINTS}


def wait_until_quiet(server: Server, timeout_s: float) -> Samples:
    """Scrape until no connection is open and the room is empty, or until timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(server)
        quiet = not any(open_connections(samples).values()) \
            and samples["wsharness_room_members"] == 0
        if quiet or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def number(value: float, digits: int = 0) -> str:
    """Thousands apart by a space, as in the README's tables."""
    return f"{value:,.{digits}f}".replace(",", " ")


def write_json(path: Path | None, data: Params) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2) + "\n")
        print(f"\nraw figures: {path}")


def run(measure: Callable[[], int]) -> None:
    """Exit with measure()'s code; a known failure or Ctrl-C is one line on stderr."""
    try:
        code = measure()
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        code = 130
    except (BenchmarkError, LaunchError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)
