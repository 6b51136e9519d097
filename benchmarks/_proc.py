"""What /proc says about the benchmark's processes and the machine around them.

A server may be several processes (Granian's supervisor and its worker), so its figures are
summed over its process tree. The machine's other load is the busy CPU time /proc/stat counts
for all cores less what this process and the children it has waited for used (servers and
client processes are all started from here and reaped here): what other work took while the
benchmark ran.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from wsharness.serve import process_tree

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BUSY_FIELDS = (0, 1, 2, 5, 6)  # /proc/stat's cpu line: user, nice, system, irq, softirq
STEAL_FIELD = 7


def pin(pid: int, core: int) -> None:
    """Pin every thread of process pid to core."""
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), {core})


def pin_tree(pid: int, core: int) -> None:
    for member in process_tree(pid):
        pin(member, core)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process pid, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_s(pids: list[int]) -> float:
    """CPU seconds of the processes, those that have ended counting 0."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += process_cpu_s(pid)
    return total


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def own_and_children_cpu_s() -> float:
    """This process's CPU time and that of every descendant it (or they) waited for."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own_cpu_s() + reaped.ru_utime + reaped.ru_stime


def raise_open_file_limit() -> int:
    """The soft limit up to the hard one, for this process and its children; the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(frozen=True)
class CpuSnapshot:
    at_s: float  # time.monotonic()
    busy_s: float  # all cores, /proc/stat
    steal_s: float  # time the hypervisor gave this VM's cores to others
    own_s: float  # this process and its reaped children


def cpu_snapshot() -> CpuSnapshot:
    fields = [int(value) for value in
              Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return CpuSnapshot(time.monotonic(), sum(fields[i] for i in BUSY_FIELDS) / CLOCK_TICKS,
                       fields[STEAL_FIELD] / CLOCK_TICKS, own_and_children_cpu_s())


def other_load(start: CpuSnapshot, end: CpuSnapshot) -> dict[str, float]:
    """Cores kept busy on average between the snapshots: by other work, by the benchmark
    itself, and stolen by the hypervisor."""
    wall = max(end.at_s - start.at_s, 1e-9)
    own = end.own_s - start.own_s
    return {"other_cores": max(end.busy_s - start.busy_s - own, 0.0) / wall,
            "own_cores": own / wall, "steal_cores": (end.steal_s - start.steal_s) / wall,
            "wall_s": wall}
