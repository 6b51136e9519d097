"""Soak: many paced clients for a long time; nothing lost, and the server's memory flat.

    .venv/bin/python -m benchmarks.soak [--clients 500] [--minutes 10] [--chat-share 0.1]
        [--rate 1] [--scrape-seconds 5] [--json FILE]

Serves the default app (uvicorn, one process, pinned to one core); a client process pinned
to the other core opens --clients connections: a --chat-share of them are members of the
chat room (/ws/{id}), the rest echo clients (/ws). Once every member is in the room, each
client sends --rate messages a second (each at a random phase) for --minutes:

  echo  every reply checked (`Message text was: <client>-<sequence>`) before the next send;
        a reply that is wrong or missing (10 s, or the connection ends) is counted.
  chat  every member counts every copy of every broadcast: from each sender exactly once
        and in that sender's order (the sender's own `You wrote:` replies apart); after
        the last send, members read until every copy has come or 10 s pass in silence.

Meanwhile /metrics is scraped every --scrape-seconds: resident memory, open connections,
room members, queued bytes, evictions. Prints Markdown tables: delivery (goal: nothing
lost, wrong, duplicated or out of order), then the server over time, with the resident
memory of the first and the last minute (a fifth of the run when shorter) and its slope.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent

from benchmarks._harness import (
    BenchmarkError,
    Copies,
    Params,
    Samples,
    client_main,
    client_result,
    cores,
    markdown_table,
    number,
    open_connections,
    pinned_server,
    run,
    scrape,
    start_client,
    write_json,
)
from loadtests._wsclient import Connection, WsClosed, WsError, WsTimeout
from wsharness.argtypes import positive_float, positive_int, share
from wsharness.serve import Server

MODULE = "benchmarks.soak"
TIMEOUT_S = 10.0
SETUP_S = 120.0  # bound on opening the connections
POLL_S = 1.0
ECHO_PREFIX = "Message text was: "


class Soak:
    """The paced clients of one run, in the client process, and what they got."""

    def __init__(self, params: Params, members: list[Connection]) -> None:
        self.rate: float = params["rate"]
        self.members = members
        self.started = time.monotonic()
        self.end = self.started + params["seconds"]
        self.echo_counts: Counter[str] = Counter()
        self.closed: Counter[int] = Counter()
        self.sent = [0] * len(members)
        self.sending = len(members)
        self.copies = [Copies() for _ in members]
        self.personal = [0] * len(members)

    def paced(self) -> Iterator[int]:
        """Sequence numbers at the send times: a random phase, then every 1/rate s."""
        at = self.started + random.random() / self.rate
        sequence = 0
        while at < self.end:
            delay = at - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            yield sequence
            sequence += 1
            at += 1 / self.rate

    def echo(self, n: int, connection: Connection) -> None:
        """Send, check the reply, wait for the next send time; a missing reply ends it."""
        try:
            for sequence in self.paced():
                text = f"{n}-{sequence}"
                connection.send_text(text)
                self.echo_counts["sent"] += 1
                reply = connection.recv(TIMEOUT_S)
                self.echo_counts["ok" if reply == ECHO_PREFIX + text else "wrong"] += 1
        except WsClosed as exc:
            self.closed[exc.code] += 1
        except WsError:
            pass

    def send(self, n: int) -> None:
        try:
            for sequence in self.paced():
                self.members[n].send_text(str(sequence))
                self.sent[n] += 1
        except WsError:
            pass
        finally:
            self.sending -= 1

    def read(self, n: int) -> None:
        """Count copies until every one sent has come, or TIMEOUT_S of silence after the end."""
        mine, quiet_since = self.copies[n], time.monotonic()
        while self.sending or (mine.unique < sum(self.sent)
                               and time.monotonic() - quiet_since < TIMEOUT_S):
            try:
                text = self.members[n].recv(POLL_S)
            except WsTimeout:
                continue
            except WsClosed as exc:
                self.closed[exc.code] += 1
                return
            except WsError:
                return
            quiet_since = time.monotonic()
            if isinstance(text, str) and not mine.add_text(text) \
                    and text.startswith("You wrote: "):
                self.personal[n] += 1

    def result(self) -> Params:
        messages = sum(self.sent)
        return {"echo": dict(self.echo_counts), "chat_sent": messages,
                "copies_expected": messages * len(self.members),
                "copies": sum(mine.unique for mine in self.copies),
                "duplicates": sum(mine.duplicates for mine in self.copies),
                "out_of_order": sum(mine.out_of_order for mine in self.copies),
                "personal_lost": messages - sum(self.personal),
                "closed_by_server": {str(code): count for code, count in self.closed.items()},
                "seconds": time.monotonic() - self.started}


def soak(params: Params) -> Params:
    """Client process: open every connection, fill the room, run the paced clients."""
    url = params["url"]
    members = [Connection.open(f"{url}/ws/{n}", timeout_s=TIMEOUT_S)
               for n in range(params["chat_clients"])]
    echoes = [Connection.open(f"{url}/ws", timeout_s=TIMEOUT_S)
              for _ in range(params["echo_clients"])]
    if members:  # everyone is in the room once a message sent now reaches them all
        members[0].send_text("ready")
        for member in members:
            while member.recv(TIMEOUT_S) != "Client #0 says: ready":
                pass
    clients = Soak(params, members)
    greenlets = [gevent.spawn(clients.echo, n, connection) for n, connection in enumerate(echoes)]
    greenlets += [gevent.spawn(clients.send, n) for n in range(len(members))]
    greenlets += [gevent.spawn(clients.read, n) for n in range(len(members))]
    gevent.joinall(greenlets, timeout=params["seconds"] + 6 * TIMEOUT_S)
    for connection in [*members, *echoes]:
        connection.close()
    return clients.result()


def load(server: Server, args: argparse.Namespace) -> tuple[Params, list[Samples]]:
    """Run the client process, scraping /metrics meanwhile; its result and the scrapes."""
    chat_clients = round(args.clients * args.chat_share)
    params = {"url": server.ws_url, "rate": args.rate, "seconds": args.minutes * 60,
              "chat_clients": chat_clients, "echo_clients": args.clients - chat_clients}
    process = start_client(MODULE, "soak", params, cores()[1])
    scrapes: list[Samples] = []
    started = time.monotonic()
    deadline = started + SETUP_S + args.minutes * 60 + 10 * TIMEOUT_S
    try:
        while process.poll() is None and time.monotonic() < deadline:
            samples = scrape(server)
            samples["t"] = time.monotonic() - started
            scrapes.append(samples)
            next_scrape = time.monotonic() + args.scrape_seconds
            while process.poll() is None and time.monotonic() < next_scrape:
                time.sleep(0.1)
        if process.poll() is None:
            raise BenchmarkError("the soak client did not end by its deadline")
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return client_result("soak", process.returncode, out, err), scrapes


def delivery_rows(result: Params) -> list[list[object]]:
    echo: Counter[str] = Counter(result["echo"])
    codes = ", ".join(f"{count}x {code}" for code, count in
                      sorted(result["closed_by_server"].items())) or "none"
    return [
        ["echo messages sent", number(echo["sent"]), ""],
        ["echo replies lost", number(echo["sent"] - echo["ok"] - echo["wrong"]), "goal 0"],
        ["echo replies wrong", number(echo["wrong"]), "goal 0"],
        ["chat messages sent", number(result["chat_sent"]), ""],
        ["chat copies expected", number(result["copies_expected"]), ""],
        ["chat copies lost", number(result["copies_expected"] - result["copies"]), "goal 0"],
        ["chat copies duplicated", number(result["duplicates"]), "goal 0"],
        ["chat copies out of order", number(result["out_of_order"]), "goal 0"],
        ["chat `You wrote` replies lost", number(result["personal_lost"]), "goal 0"],
        ["clients closed by the server", codes, "goal none"],
    ]


def megabytes(samples: Samples) -> float:
    return samples["process_resident_memory_bytes"] / 2**20


def slope_per_minute(scrapes: list[Samples]) -> float:
    """Least-squares slope of resident memory, MB per minute."""
    if len(scrapes) < 2:
        return 0.0
    times = [samples["t"] / 60 for samples in scrapes]
    return statistics.linear_regression(times, [megabytes(s) for s in scrapes]).slope


def memory_rows(scrapes: list[Samples], clients: int) -> tuple[list[list[object]], str]:
    """The server over time (about 10 rows), and a line on its resident memory."""
    loaded = [s for s in scrapes if sum(open_connections(s).values()) >= clients]
    shown = scrapes[::max(len(scrapes) // 10, 1)]
    if scrapes and shown[-1] is not scrapes[-1]:
        shown.append(scrapes[-1])
    rows = [[f"{s['t']:.0f}", f"{megabytes(s):.1f}", sum(open_connections(s).values()),
             f"{s['wsharness_room_members']:.0f}", number(s["wsharness_queued_bytes"]),
             number(sum(v for k, v in s.items() if k.startswith("wsharness_evictions_total")))]
            for s in shown]
    if len(loaded) < 2:
        return rows, "resident memory: too few scrapes with every client connected"
    span = loaded[-1]["t"] - loaded[0]["t"]
    window = min(60.0, span / 5)
    first = statistics.median(megabytes(s) for s in loaded if s["t"] <= loaded[0]["t"] + window)
    last = statistics.median(megabytes(s) for s in loaded if s["t"] >= loaded[-1]["t"] - window)
    return rows, (f"resident memory with every client connected ({len(loaded)} scrapes over "
                  f"{span:.0f} s): first {window:.0f} s {first:.1f} MB, last {window:.0f} s "
                  f"{last:.1f} MB ({last - first:+.1f} MB), slope "
                  f"{slope_per_minute(loaded):+.2f} MB/min (goal: flat)")


def measure(args: argparse.Namespace) -> int:
    with pinned_server("default", cores()[0]) as server:
        result, scrapes = load(server, args)
    chat_clients = round(args.clients * args.chat_share)
    print(f"{args.clients} clients ({chat_clients} chat members, "
          f"{args.clients - chat_clients} echo), {args.rate:g} message/s each, "
          f"{result['seconds']:.0f} s of load, server on core {cores()[0]}, client on core "
          f"{cores()[1]}\n")
    print(markdown_table(["delivery", "count", "goal"], delivery_rows(result)))
    rows, memory = memory_rows(scrapes, args.clients)
    print()
    print(markdown_table(["t (s)", "RSS (MB)", "open connections", "room members",
                          "queued bytes", "evictions"], rows))
    print(f"\n{memory}")
    write_json(args.json, {"settings": {key: str(value) for key, value in vars(args).items()},
                           "result": result, "scrapes": scrapes})
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if client_main(argv, {"soak": soak}):
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=positive_int, default=500)
    parser.add_argument("--minutes", type=positive_float, default=10.0)
    parser.add_argument("--chat-share", type=share, default=0.1,
                        help="share of the clients that are chat members (0.1)")
    parser.add_argument("--rate", type=positive_float, default=1.0,
                        help="messages a second per client (1)")
    parser.add_argument("--scrape-seconds", type=positive_float, default=5.0)
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args: Any = parser.parse_args(argv)
    run(lambda: measure(args))


if __name__ == "__main__":
    main()
