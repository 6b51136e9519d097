"""What a client sees on the wire from each ASGI server: the same app misbehaving, the same
client misbehaving, and what comes back.

    .venv/bin/python -m benchmarks.wire_probe [SERVER ...] [--json FILE]

SERVER is uvicorn (its default WebSocket implementation), hypercorn, granian or daphne (default:
all four; the three besides uvicorn: pip install 'wsharness[servers]'). Each server serves, on
loopback, the docs variant of the reference app (target_app.docs), a bare ASGI app
(benchmarks.probe_app) and the default app, and the probe records, per case:

- refused before accept: the docs app closes /items/foo/ws (no credentials) with 1008 before
  accepting; the validation error: /ws/abc, a client id that is not a number;
- an exception after accept: the bare app raising, and the docs chat given a binary frame;
- the bare app returning without closing;
- a message of 16 MiB + 1 to the docs app's echo (/raw), under the server's default limits;
- the pings a silent client gets by default, and, with a 1 s ping interval and timeout where the
  server has those settings, what becomes of a client that never answers them;
- an unfinished handshake (half a request, then nothing);
- a slow consumer: how much the bare app's send() takes while the client reads nothing for 3 s
  (a send that waits is backpressure; one that never waits is the server buffering);
- a graceful shutdown (SIGINT) with a WebSocket open.

It measures on purpose and is not a test: every wait is bounded, and the outcome is printed, a
Markdown table (rows: cases; columns: servers), whatever it is. The clients are the
conformance suite's raw ones (conformance.rawclient), which send only what they are told, so a
ping is never answered and a close never echoed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.frames import Close, CloseCode, Frame, Opcode

from benchmarks import probe_app
from benchmarks._harness import REPO, markdown_table, run, write_json
from conformance.rawclient import (
    MAX_HEAD_BYTES,
    Endpoint,
    HttpAnswer,
    RawStream,
    SansIOClient,
    kept_open,
    parse_head,
    send_while_reading,
    upgrade_request,
    websocket_key,
)
from wsharness import servers
from wsharness.serve import Server, UvicornOption, interrupt, serve

DOCS_APP = "target_app.docs:app"
DEFAULT_APP = "target_app:app"
PROBE_APP = "benchmarks.probe_app:app"
HTTP_TIMEOUT_S = 5.0
CLOSE_WINDOW_S = 5.0  # for a close after an app's exception or return
TOO_BIG_BYTES = 16 * 2**20 + 1
TOO_BIG_WINDOW_S = 15.0
DEFAULT_PINGS_WINDOW_S = 25.0  # past the 20 s default ping interval of uvicorn and daphne
UNANSWERED_PING_OPTIONS: dict[str, UvicornOption] = {"ws_ping_interval": 1.0,
                                                     "ws_ping_timeout": 1.0}
UNANSWERED_PINGS_WINDOW_S = 8.0
HALF_REQUEST = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: never complete
HANDSHAKE_WINDOW_S = 40.0  # past granian's 30 s --http1-header-read-timeout
SLOW_CONSUMER_S = 3.0
SHUTDOWN_WINDOW_S = 15.0  # past the servers' own graceful timeouts (10 s at most)
MIB = 2**20

CASES = {  # key: the row's title
    "refused": "refused before accept (1008)",
    "validation": "validation error (`/ws/abc`)",
    "raise": "exception after accept (the app raises)",
    "binary-to-chat": "exception after accept (a binary frame to the docs chat)",
    "return": "app returns without closing",
    "shutdown": "server shutdown (SIGINT)",
    "too-big": "message of 16 MiB + 1 (default limits)",
    "default-pings": f"pings by default (client silent {DEFAULT_PINGS_WINDOW_S:g} s)",
    "unanswered-pings": "client never answers pings (1 s interval / 1 s timeout)",
    "unfinished-handshake": "unfinished handshake (half a request)",
    "slow-consumer": f"slow consumer (client reads nothing {SLOW_CONSUMER_S:g} s)",
}
Figure = int | float | str | None


@dataclass(frozen=True)
class Seen:
    """One case against one server: a short description, and its figures for --json."""

    text: str
    figures: dict[str, Figure] = field(default_factory=dict)


@dataclass
class Watched:
    """What a client that answers nothing saw until the server closed it or the window
    ended: when each ping came, the close frame if one came, how reading ended."""

    window_s: float
    ping_times: list[float] = field(default_factory=list)
    close: Close | None = None
    ending: str = ""
    elapsed_s: float = 0.0
    refusal: str = ""


async def watch(client: SansIOClient, window_s: float) -> Watched:
    """Read (never answering) until a close frame, the end of the connection, or window_s."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + window_s
    watched = Watched(window_s)
    while True:  # each read waits at most until the deadline, after which one ends at once
        events = await client.events(deadline)
        watched.elapsed_s = loop.time() - start
        if isinstance(events, str):
            watched.ending = events
            return watched
        for event in events:
            if isinstance(event, Frame) and event.opcode is Opcode.PING:
                watched.ping_times.append(loop.time() - start)
        if client.protocol.close_rcvd is not None:
            watched.close = client.protocol.close_rcvd
            return watched
        if loop.time() >= deadline:
            watched.ending = "nothing more before the deadline"
            return watched


async def watch_url(url: str, window_s: float, *, send: bytes | None = None) -> Watched:
    """Open a WebSocket (sending one binary message if given), then watch it."""
    async with SansIOClient(url) as client:
        if client.refusal:
            return Watched(window_s, refusal=client.refusal)
        if send is not None:
            assert client.stream is not None
            client.protocol.send_binary(send)
            await client.stream.write(b"".join(client.protocol.data_to_send()))
        return await watch(client, window_s)


def ending_text(ending: str, window_s: float) -> str:
    if ending.startswith("the connection failed"):
        kind = "reset" if "Reset" in ending else "failed"
        return f"TCP {kind}, no close frame (1006)"
    if ending in ("the server closed the connection", "the connection closed"):
        return "TCP closed, no close frame (1006)"
    if ending.startswith("nothing more"):
        return f"nothing in {window_s:g} s: still open"
    return ending


def close_text(close: Close) -> str:
    if close.code == CloseCode.NO_STATUS_RCVD:
        return "close frame without a code (1005)"
    return f"close {close.code}"


def closing_seen(watched: Watched, *, timed: bool = False) -> Seen:
    """How the connection ended (a close code, 1006, or still open), for the table."""
    figures: dict[str, Figure] = {"pings": len(watched.ping_times),
                                  "seconds": round(watched.elapsed_s, 2)}
    if watched.refusal:
        return Seen(f"no WebSocket: {watched.refusal}", figures)
    if watched.close is not None:
        figures["close_code"] = watched.close.code
        text = close_text(watched.close)
    else:
        figures["close_code"] = None
        text = ending_text(watched.ending, watched.window_s)
    still_open = watched.close is None and watched.ending.startswith("nothing more")
    if timed and not still_open:
        text += f" after {watched.elapsed_s:.1f} s"
    return Seen(text, figures)


def pings_seen(watched: Watched, settings: str = "") -> Seen:
    """The pings a silent client got, then how its connection ended."""
    seen = closing_seen(watched, timed=True)
    times = watched.ping_times
    if not times:
        pings = "no ping"
    elif len(times) <= 2:
        at = " and ".join(f"{t:.1f}" for t in times)
        pings = f"{len(times)} ping{'s' if len(times) > 1 else ''}, at {at} s"
    else:
        pings = f"{len(times)} pings, every {(times[-1] - times[0]) / (len(times) - 1):.1f} s"
    settings = f" ({settings})" if settings else ""
    return Seen(f"{pings}; {seen.text}{settings}",
                {**seen.figures, "ping_times": ", ".join(f"{t:.2f}" for t in times)})


async def refusal(server: Server, path: str) -> Seen:
    """The HTTP answer to a handshake the app refuses before accepting, body included: read
    until its Content-Length, or else until the server closes the connection."""
    endpoint = Endpoint.of(server.ws_url + path)
    stream = await RawStream.open(endpoint)
    received, ending = bytearray(), ""
    try:
        await stream.write(upgrade_request(endpoint, key=websocket_key()))
        deadline = asyncio.get_running_loop().time() + HTTP_TIMEOUT_S
        while len(received) <= MAX_HEAD_BYTES and not answer_complete(bytes(received)):
            data = await stream.read(deadline)
            if isinstance(data, str):
                ending = data
                break
            received += data
    finally:
        stream.close()
    head, complete, body = bytes(received).partition(b"\r\n\r\n")
    answer = parse_head(head) if complete else HttpAnswer(None, ending=ending or "no answer")
    if answer.status is None:
        return Seen(answer.describe(), {"status": None})
    shown = "empty body" if not body else f"a body of {len(body)} bytes"
    if "content-length" not in answer.headers:
        shown += (", no Content-Length: the connection closed" if stream.ending
                  else ", no Content-Length, the connection kept open")
    return Seen(f"HTTP {answer.status}, {shown}", {"status": answer.status,
                                                  "body_bytes": len(body)})


def answer_complete(received: bytes) -> bool:
    """Whether an HTTP answer with a Content-Length has all of its body."""
    head, complete, body = received.partition(b"\r\n\r\n")
    length = parse_head(head).headers.get("content-length") if complete else None
    return length is not None and length.isdigit() and len(body) >= int(length)


async def too_big(server: Server) -> Seen:
    seen = await send_while_reading(server.ws_url + "/raw", "x" * TOO_BIG_BYTES,
                                    TOO_BIG_WINDOW_S)
    if seen.close is not None:
        return Seen(close_text(seen.close), {"close_code": seen.close.code})
    return Seen(ending_text(seen.ending, TOO_BIG_WINDOW_S), {"close_code": None})


async def unfinished_handshake(server: Server) -> Seen:
    loop = asyncio.get_running_loop()
    start = loop.time()
    still = await kept_open(Endpoint.of(server.ws_url + "/ws"), HALF_REQUEST,
                            HANDSHAKE_WINDOW_S)
    elapsed = loop.time() - start
    if still is None:
        return Seen(f"closed after {elapsed:.1f} s", {"closed_after_s": round(elapsed, 2)})
    shown = (f"still open after {HANDSHAKE_WINDOW_S:g} s" if still.startswith("still open")
             else still)
    return Seen(shown, {"closed_after_s": None})


async def slow_consumer(server: Server) -> Seen:
    """The bare app sends 64 KiB messages as fast as send() returns to a client that reads
    nothing: how many send() took in SLOW_CONSUMER_S."""
    async with SansIOClient(server.ws_url + "/flood") as client:
        if client.refusal:
            return Seen(f"no WebSocket: {client.refusal}")
        await asyncio.sleep(SLOW_CONSUMER_S)  # reading nothing, on purpose
        sent = await asyncio.to_thread(count_sent, server)
    mib = sent * len(probe_app.CHUNK) / MIB
    if sent >= probe_app.FLOOD_MESSAGES:
        text = f"send() never waits: all {mib:.0f} MiB it was given taken"
    else:
        text = f"send() waits: {mib:.1f} MiB taken"
    return Seen(text, {"messages_sent": sent, "mib_sent": round(mib, 2)})


def count_sent(server: Server) -> int:
    with urllib.request.urlopen(f"{server.url}/sent", timeout=HTTP_TIMEOUT_S) as answer:
        return int(answer.read())


async def shutdown(server: Server, name: str) -> Seen:
    """A WebSocket open while the server is interrupted as Ctrl-C does it."""
    async with SansIOClient(server.ws_url + "/ws") as client:
        if client.refusal:
            return Seen(f"no WebSocket: {client.refusal}")
        interrupt(server.process, group=servers.kind(name).interrupt_group)
        return closing_seen(await watch(client, SHUTDOWN_WINDOW_S), timed=True)


@contextlib.asynccontextmanager
async def served(app: str, name: str,
                 options: dict[str, UvicornOption] | None = None) -> AsyncIterator[Server]:
    """`serve`, started and stopped in a thread, so that the watches running meanwhile keep
    their timing."""
    manager = serve(app, server=name, cwd=REPO, options=options)
    server = await asyncio.to_thread(manager.__enter__)
    try:
        yield server
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def probe(name: str) -> dict[str, Seen]:
    """Every case against one server, the long passive ones (default pings, the unfinished
    handshake) alongside the others."""
    seen: dict[str, Seen] = {}
    async with served(DOCS_APP, name) as docs:
        passive = asyncio.gather(
            watch_url(docs.ws_url + "/ws", DEFAULT_PINGS_WINDOW_S), unfinished_handshake(docs))
        try:
            seen["refused"] = await refusal(docs, "/items/foo/ws")
            seen["validation"] = await refusal(docs, "/ws/abc")
            seen["binary-to-chat"] = closing_seen(
                await watch_url(docs.ws_url + "/ws/1", CLOSE_WINDOW_S, send=b"\x00"))
            seen["too-big"] = await too_big(docs)
            async with served(PROBE_APP, name) as bare:
                seen["raise"] = closing_seen(await watch_url(bare.ws_url + "/raise",
                                                             CLOSE_WINDOW_S))
                seen["return"] = closing_seen(await watch_url(bare.ws_url + "/return",
                                                              CLOSE_WINDOW_S))
                seen["slow-consumer"] = await slow_consumer(bare)
            seen["unanswered-pings"] = await unanswered_pings(name)
            default_pings, seen["unfinished-handshake"] = await passive
        except BaseException:
            passive.cancel()
            with contextlib.suppress(BaseException):
                await passive
            raise
        seen["default-pings"] = pings_seen(default_pings)
    async with served(DEFAULT_APP, name) as target:
        seen["shutdown"] = await shutdown(target, name)
    return {case: seen[case] for case in CASES}


async def unanswered_pings(name: str) -> Seen:
    options = {key: value for key, value in UNANSWERED_PING_OPTIONS.items()
               if servers.supports(name, key)}
    if not options:
        return Seen(f"not measured: {name} has no ping settings", {"pings": None})
    lacking = [key for key in UNANSWERED_PING_OPTIONS if key not in options]
    settings = f"no equivalent of {', '.join(lacking)}" if lacking else ""
    async with served(DEFAULT_APP, name, options) as target:
        watched = await watch_url(target.ws_url + "/ws", UNANSWERED_PINGS_WINDOW_S)
    return pings_seen(watched, settings)


def measure(args: argparse.Namespace) -> int:
    names: list[str] = list(dict.fromkeys(args.servers)) or list(servers.SERVERS)
    for name in names:
        servers.require(name)  # a server not installed: one line, before anything runs
    shown = {name: servers.describe(name) for name in names}
    results: dict[str, dict[str, Seen]] = {}
    for name in names:
        progress(f"probing {shown[name]} ...")
        results[name] = asyncio.run(probe(name))
    print(markdown_table(["case", *shown.values()],
                         [[title, *(results[name][case].text for name in names)]
                          for case, title in CASES.items()]))
    write_json(args.json, {"cases": CASES, "servers": {
        name: {"server": shown[name], "seen": {case: {"text": seen.text, **seen.figures}
                                               for case, seen in results[name].items()}}
        for name in names}})
    return 0


def server_name(text: str) -> str:
    if text not in servers.SERVERS:
        raise argparse.ArgumentTypeError(f"unknown server {text!r} (one of "
                                         f"{', '.join(servers.SERVERS)})")
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wire_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("servers", nargs="*", type=server_name, metavar="SERVER",
                        help=f"servers to probe (default: all of {', '.join(servers.SERVERS)})")
    parser.add_argument("--json", type=Path, help="also write what was seen to this file")
    args: Any = parser.parse_args(argv)
    run(lambda: measure(args))


if __name__ == "__main__":
    main()
