"""The load of the app benchmarks, run in a client process of its own:

    python -m benchmarks._workloads client TASK PARAMS_JSON

prints the task's result as one JSON line (benchmarks._harness.run_client starts it pinned).
Every task drives the harness's gevent client (`loadtests._wsclient`), checks every reply or
copy, and reads the server's CPU time (and memory) from /proc over its window: `pids` are the
server's processes.

  echo        closed loop on /ws: send, wait for the checked reply, send again.
  fanout      clients in one room (/ws/{id}) each send their messages, pipelined or paced,
              while all read; every copy counted: lost, duplicate, out of order, close codes.
  paced_echo  echo on /ws at a fixed rate per connection; round trips into an HDR
              histogram (µs), timed from when each message was due, so a late reply delays
              the next message's time too rather than hiding it.
  idle        memory: the server's resident memory with no connection open, then with
              `connections` open and idle (each answered one echo first).
  connects    handshakes on /ws, `in_flight` at a time, each connection closed cleanly
              after it; every connection from a loopback address of its own greenlet, so
              the ephemeral ports of one address do not run out.

Every loop is bounded by a count and a deadline.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable

import gevent
import gevent.event
import gevent.pool

from benchmarks._harness import Copies, Params, client_main
from benchmarks._proc import cpu_s, own_cpu_s, rss_kb
from loadtests._wsclient import Connection, WsClosed, WsError
from reports.results import histogram_percentiles_us, new_histogram

WARMUP_S = 2.0
TIMEOUT_S = 10.0  # one reply or copy, and a client's silence before it counts the rest lost
MAX_ROUND_TRIPS_PER_CONNECTION = 10_000_000
MAX_CONNECTS_PER_GREENLET = 10_000_000
ECHO_PREFIX = "Message text was: "
SETTLE_S = 1.0  # after the connections opened or closed, before memory is read
WARM_CONNECTIONS = 50  # opened and closed before memory is read with none open
CLOSE_S = 2.0


def echo(params: Params) -> Params:
    """Closed-loop echo; round trips and CPU over the window."""
    url, seconds, pids = params["url"], params["seconds"], params["pids"]
    counts = {"done": 0, "wrong": 0, "failed": 0}
    stop = {"now": False}

    def loop(number: int) -> None:
        text = f"{number} ".ljust(params["size"], "x")
        expected = ECHO_PREFIX + text
        try:
            connection = Connection.open(url + "/ws", timeout_s=TIMEOUT_S)
            for _ in range(MAX_ROUND_TRIPS_PER_CONNECTION):
                if stop["now"]:
                    break
                connection.send_text(text)
                if connection.recv(TIMEOUT_S) != expected:
                    counts["wrong"] += 1
                counts["done"] += 1
            connection.close()
        except WsError:
            counts["failed"] += 1

    greenlets = [gevent.spawn(loop, n) for n in range(params["connections"])]
    gevent.sleep(WARMUP_S)
    done, client_cpu, server_cpu = counts["done"], own_cpu_s(), cpu_s(pids)
    started = time.perf_counter()
    gevent.sleep(seconds)
    result = {"round_trips": counts["done"] - done, "wall_s": time.perf_counter() - started,
              "client_cpu_s": own_cpu_s() - client_cpu, "server_cpu_s": cpu_s(pids) - server_cpu}
    stop["now"] = True
    gevent.joinall(greenlets, timeout=2 * TIMEOUT_S)
    return {**result, "wrong": counts["wrong"], "failed": counts["failed"]}


def fanout(params: Params) -> Params:
    """Every client sends its messages into the room (interval_s apart, 0: pipelined); all
    copies counted."""
    clients, messages, pids = params["clients"], params["messages"], params["pids"]
    deadline_s = params["deadline_s"]
    expected = clients * messages  # copies per client
    connections = [Connection.open(f"{params['url']}/ws/{n}", timeout_s=TIMEOUT_S)
                   for n in range(clients)]
    # Everyone is in the room once a message sent now reaches them all.
    connections[0].send_text("ready")
    for connection in connections:
        while connection.recv(TIMEOUT_S) != "Client #0 says: ready":
            pass
    copies = [Copies() for _ in range(clients)]
    personal = [0] * clients
    last_copy = [0.0] * clients
    closed: Counter[int] = Counter()
    go = gevent.event.Event()

    interval_s = params["interval_s"]

    def send(n: int) -> None:
        go.wait()
        if interval_s:
            gevent.sleep(interval_s * n / clients)  # spread the senders over one interval
        try:
            for sequence in range(messages):
                connections[n].send_text(str(sequence))
                if interval_s:
                    gevent.sleep(interval_s)
        except WsError:
            pass

    def read(n: int) -> None:
        connection, mine = connections[n], copies[n]
        deadline = time.monotonic() + deadline_s
        try:
            while (mine.unique < expected or personal[n] < messages) \
                    and time.monotonic() < deadline:
                text = connection.recv(TIMEOUT_S)
                if isinstance(text, str) and mine.add_text(text):
                    last_copy[n] = time.perf_counter()
                elif isinstance(text, str) and text.startswith("You wrote: "):
                    personal[n] += 1
        except WsClosed as exc:
            closed[exc.code] += 1
        except WsError:
            pass

    readers = [gevent.spawn(read, n) for n in range(clients)]
    senders = [gevent.spawn(send, n) for n in range(clients)]
    client_cpu, server_cpu = own_cpu_s(), cpu_s(pids)
    started = time.perf_counter()
    go.set()
    gevent.joinall(senders + readers, timeout=deadline_s + 2 * TIMEOUT_S)
    wall = max(max(last_copy) - started, 1e-9)
    result = {"copies": sum(mine.unique for mine in copies), "expected": clients * expected,
              "duplicates": sum(mine.duplicates for mine in copies),
              "out_of_order": sum(mine.out_of_order for mine in copies),
              "wall_s": wall, "client_cpu_s": own_cpu_s() - client_cpu,
              "server_cpu_s": cpu_s(pids) - server_cpu,
              "closed_by_server": {str(code): count for code, count in closed.items()}}
    for connection in connections:
        connection.close()
    return result


def paced_echo(params: Params) -> Params:
    """Each connection sends `rate` messages a second (connections spread over one interval);
    the round trips of the window after the warm-up into an HDR histogram."""
    url, pids, rate = params["url"], params["pids"], params["rate"]
    histogram = new_histogram()
    counts: Counter[str] = Counter()
    interval_ns = int(1e9 / rate)
    connections = [Connection.open(url + "/ws", timeout_s=TIMEOUT_S)
                   for _ in range(params["connections"])]
    start_ns = time.monotonic_ns() + 100_000_000
    window_ns = start_ns + int(WARMUP_S * 1e9)
    end_ns = window_ns + int(params["seconds"] * 1e9)

    def loop(number: int, connection: Connection) -> None:
        text = f"{number} ".ljust(params["size"], "x")
        expected = ECHO_PREFIX + text
        due = start_ns + interval_ns * number // len(connections)
        try:
            while due < end_ns:
                if (wait_ns := due - time.monotonic_ns()) > 0:
                    connection.idle(wait_ns / 1e9)
                connection.send_text(text)
                reply = connection.recv(TIMEOUT_S)
                if due >= window_ns:
                    histogram.record_value(max((time.monotonic_ns() - due) // 1000, 1))
                    counts["late" if time.monotonic_ns() > due + interval_ns else "on_time"] += 1
                    counts["wrong"] += reply != expected
                due += interval_ns
        except WsClosed as exc:
            counts[f"closed {exc.code}"] += 1
        except WsError as exc:
            counts[exc.kind] += 1

    greenlets = [gevent.spawn(loop, n, c) for n, c in enumerate(connections)]
    gevent.sleep(max(window_ns - time.monotonic_ns(), 0) / 1e9)
    client_cpu, server_cpu = own_cpu_s(), cpu_s(pids)
    started = time.perf_counter()
    gevent.sleep(max(end_ns - time.monotonic_ns(), 0) / 1e9)
    result = {"wall_s": time.perf_counter() - started, "client_cpu_s": own_cpu_s() - client_cpu,
              "server_cpu_s": cpu_s(pids) - server_cpu}
    gevent.joinall(greenlets, timeout=2 * TIMEOUT_S)
    for connection in connections:
        connection.close(timeout_s=CLOSE_S)
    return {**result, "round_trips": histogram.get_total_count(), "counts": dict(counts),
            "percentiles_us": histogram_percentiles_us(histogram),
            "max_us": histogram.get_max_value()}


def server_rss_kb(pids: list[int]) -> int:
    return sum(rss_kb(pid) for pid in pids)


def open_all(url: str, how_many: int, in_flight: int, counts: Counter[str]) -> list[Connection]:
    """Open how_many connections to /ws, in_flight at a time, each answering one echo."""
    opened: list[Connection] = []
    numbers = iter(range(how_many))

    def worker() -> None:
        for number in numbers:
            try:
                connection = Connection.open(url + "/ws", timeout_s=TIMEOUT_S)
                opened.append(connection)
                connection.send_text(str(number))
                counts["ok" if connection.recv(TIMEOUT_S) == f"{ECHO_PREFIX}{number}"
                       else "wrong"] += 1
            except WsError as exc:
                counts[exc.kind] += 1

    gevent.joinall([gevent.spawn(worker) for _ in range(in_flight)],
                   timeout=how_many * TIMEOUT_S / in_flight + TIMEOUT_S)
    return opened


def close_all(connections: list[Connection], in_flight: int) -> None:
    pool = gevent.pool.Pool(in_flight)
    for connection in connections:
        pool.spawn(connection.close, timeout_s=CLOSE_S)
    pool.join(timeout=len(connections) * CLOSE_S / in_flight + TIMEOUT_S)


def idle(params: Params) -> Params:
    """The server's resident memory (summed over its processes) with none, then with
    `connections` idle connections open."""
    url, pids, in_flight = params["url"], params["pids"], params["in_flight"]
    warm: Counter[str] = Counter()
    close_all(open_all(url, WARM_CONNECTIONS, in_flight, warm), in_flight)
    gevent.sleep(SETTLE_S)
    before = server_rss_kb(pids)
    counts: Counter[str] = Counter()
    opened = open_all(url, params["connections"], in_flight, counts)
    gevent.sleep(SETTLE_S)
    with_them = server_rss_kb(pids)
    close_all(opened, in_flight)
    return {"rss_before_kb": before, "rss_with_kb": with_them, "opened": len(opened),
            "counts": dict(counts)}


def connects(params: Params) -> Params:
    """Handshakes completed over the window, in_flight at a time, each closed after it."""
    url, pids, seconds = params["url"], params["pids"], params["seconds"]
    counts = {"done": 0}
    errors: Counter[str] = Counter()
    stop = {"now": False}

    def loop(number: int) -> None:
        source = f"127.0.{1 + number // 250}.{1 + number % 250}"
        for _ in range(MAX_CONNECTS_PER_GREENLET):
            if stop["now"]:
                break
            try:
                connection = Connection.open(url + "/ws", timeout_s=TIMEOUT_S,
                                             source_address=source)
            except WsError as exc:
                errors[exc.kind] += 1
                gevent.sleep(0)
                continue
            counts["done"] += 1
            connection.close(timeout_s=CLOSE_S)

    greenlets = [gevent.spawn(loop, n) for n in range(params["in_flight"])]
    gevent.sleep(WARMUP_S)
    done, errors_before = counts["done"], sum(errors.values())
    client_cpu, server_cpu = own_cpu_s(), cpu_s(pids)
    started = time.perf_counter()
    gevent.sleep(seconds)
    result = {"connects": counts["done"] - done, "wall_s": time.perf_counter() - started,
              "client_cpu_s": own_cpu_s() - client_cpu, "server_cpu_s": cpu_s(pids) - server_cpu,
              "errors_in_window": sum(errors.values()) - errors_before}
    stop["now"] = True
    gevent.joinall(greenlets, timeout=2 * TIMEOUT_S)
    return {**result, "errors": dict(errors)}


TASKS: dict[str, Callable[[Params], Params]] = {
    "echo": echo, "fanout": fanout, "paced_echo": paced_echo, "idle": idle,
    "connects": connects}

if __name__ == "__main__" and not client_main(sys.argv[1:], TASKS):
    sys.exit(f"usage: python -m benchmarks._workloads client {{{','.join(TASKS)}}} PARAMS_JSON")
