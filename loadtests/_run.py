"""The run's lifecycle in each Locust process, wired to Locust's events.

- master or single process: options checked, the target (named --host, or the embedded app)
  checked or started, the shape chosen; at the end of each run (test_stop) the measurements
  are merged and written to <report-dir>/<run-id>/results.json, then rendered and handed to
  loadtests._finished (the µs table on the console, the web UI's view of ended runs).
- single process or worker: pending samples are folded once a second; a worker sends its
  snapshot (encoded histograms, counters, timeline) to the master when asked, or unasked when
  it quits first (Ctrl-C or SIGTERM reach every process of `--processes`).
- master: a worker that stops sending heartbeats, or quits without its snapshot, is recorded
  as lost (results' `lost_workers`), and the end of the run does not wait for it.
- Ctrl-C or SIGTERM: Locust's shutdown fires `quitting`, where the run is stopped, so the
  results measured so far are written before the process exits.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import gevent
from gevent.event import Event
from locust import events
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from loadtests._finished import run_finished
from loadtests._forked import kill_children
from loadtests._gc import FREEZER
from loadtests._options import Settings, add_arguments
from loadtests._recorder import RECORDER, Merged, Snapshot, empty_snapshot
from loadtests._results import build_results, iso_utc
from loadtests._shapes import make_shape
from loadtests._sources import check_reaching
from loadtests._target import HOST_OPTION, REPO_ROOT, EmbeddedTarget
from loadtests._wsclient import warm_up
from reports.results import LostWorker, Results, write_results
from wsharness.servers import describe
from wsharness.target import TargetError, check_answers, ws_base

COLLECT = "wsharness_collect"
SNAPSHOT = "wsharness_snapshot"
FOLD_PERIOD_S = 1.0
COLLECT_TIMEOUT_S = 60.0  # for a worker still heard from: stopping 10,000 users takes seconds
WORKER_SNAPSHOTS_DIR = "workers"
WORKERS_CONNECT_WAIT_S = 5.0
QUIT_WAIT_S = COLLECT_TIMEOUT_S + 15.0  # quitting waits this long for a run being ended

logger = logging.getLogger("wsharness")


@dataclass
class Run:
    id: str
    dir: Path
    started_s: float
    settings: Settings
    target: str
    users_by_second: dict[int, int] = field(default_factory=dict)
    worker_ids: set[str] = field(default_factory=set)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    heard_s: dict[str, float] = field(default_factory=dict)  # worker -> its last heartbeat
    lost: dict[str, str] = field(default_factory=dict)  # worker -> how it was lost


@dataclass
class Process:
    """This Locust process's part of the lifecycle."""

    embedded: EmbeddedTarget | None = None
    run: Run | None = None
    greenlets: list[gevent.Greenlet] = field(default_factory=list)
    collected: bool = True  # a worker's measurements were already sent for its last run
    collecting: Run | None = None  # the run whose workers' snapshots the master awaits
    ended: Event = field(default_factory=Event)  # no run is under way or being written


PROCESS = Process()
PROCESS.ended.set()


def die(message: str, runner: Any = None) -> NoReturn:
    """One line on stderr, exit 1; a master first tells its workers (e.g. --processes) to quit."""
    sys.stderr.write(f"wsharness: {message}\n")
    sys.stderr.flush()
    stop_embedded()
    if isinstance(runner, MasterRunner):
        # --processes workers have measured nothing yet: killed, they neither linger (Locust's
        # exit leaves one that had not connected running) nor race their own start-up
        if not kill_children():  # workers started apart: told to quit once they are here
            expected = getattr(runner.environment.parsed_options, "expect_workers", 0) or 0
            deadline = time.monotonic() + WORKERS_CONNECT_WAIT_S
            while len(runner.clients.all) < expected and time.monotonic() < deadline:
                gevent.sleep(0.1)
        runner.quit()
    sys.exit(1)


def _on_parser(parser: Any, **_: Any) -> None:
    add_arguments(parser)


def _on_init(environment: Any, runner: Any, **_: Any) -> None:
    try:
        settings = Settings.from_options(environment.parsed_options)
    except ValueError as exc:
        die(str(exc), runner)
    if not isinstance(runner, MasterRunner):  # only processes that run users connect
        warm_up()
    if isinstance(runner, WorkerRunner):
        runner.register_message(COLLECT, _on_collect)
        # added after the runner's own listener, so it runs first: the snapshot goes before
        # the worker's "quit" reaches the master
        environment.events.quitting.add_listener(_on_worker_quitting)
        return
    try:
        settings.report_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        die(f"--report-dir {settings.report_dir}: {exc.strerror or exc}", runner)
    try:
        if environment.host:
            check_answers(ws_base(environment.host, HOST_OPTION), HOST_OPTION)
        else:
            PROCESS.embedded = EmbeddedTarget(settings.target_app, settings.target_server)
            environment.host = PROCESS.embedded.start().url
            logger.info("wsharness: serving %s with %s at %s for this run", settings.target_app,
                        describe(settings.target_server), environment.host)
        check_reaching(settings.source_addresses, environment.host)
    except TargetError as exc:
        die(str(exc), runner)
    if settings.shape:
        shape = make_shape(settings.shape, environment.parsed_options)
        shape.runner = runner
        environment.shape_class = shape
    if isinstance(runner, MasterRunner):
        runner.register_message(SNAPSHOT, _on_snapshot)


def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        RECORDER.reset()
        PROCESS.collected = False
        _spawn(_fold_every_second, environment)
    if isinstance(runner, WorkerRunner):
        return
    if not environment.host and PROCESS.embedded and PROCESS.embedded.server:
        environment.host = PROCESS.embedded.server.url  # the web UI's host field was cleared
    settings = Settings.from_options(environment.parsed_options)
    started = time.time()
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + secrets.token_hex(2)
    try:
        target = ws_base(environment.host or "", HOST_OPTION)
    except TargetError as exc:
        logger.error("wsharness: %s", exc)  # noqa: TRY400 - one line, not a traceback
        target = str(environment.host)
    PROCESS.run = Run(id=run_id, dir=settings.report_path / run_id, started_s=started,
                      settings=settings, target=target)
    PROCESS.ended.clear()
    _spawn(_sample_users, runner, PROCESS.run)


def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if PROCESS.run is not None:
        PROCESS.run.worker_ids.add(client_id)
        PROCESS.run.heard_s[client_id] = time.time()


def _on_heartbeat(client_id: str, timestamp: float, **_: Any) -> None:
    if PROCESS.run is not None:
        PROCESS.run.heard_s[client_id] = timestamp


def _on_test_stop(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        FREEZER.release()
    if isinstance(runner, WorkerRunner):
        RECORDER.freeze(environment.stats)
        return
    run, PROCESS.run = PROCESS.run, None
    if run is None:
        return
    try:
        ended = time.time()
        _kill_greenlets()
        merged = Merged()
        lost: list[LostWorker] = []
        if isinstance(runner, MasterRunner):
            _collect_from_workers(runner, run, merged)
            lost = lost_workers(runner, run)
        else:
            RECORDER.freeze(environment.stats)
            PROCESS.collected = True
            merged.add(RECORDER.snapshot())
        _finish(environment, run, merged, ended, lost)
    finally:
        PROCESS.ended.set()


def _on_quitting(environment: Any, **_: Any) -> None:
    """Locust quits (end of run, Ctrl-C, SIGTERM): stop the users and end the run (results
    written) before the embedded target goes, or its shutdown would count as the users'
    failures."""
    runner = environment.runner
    if runner is not None and not isinstance(runner, WorkerRunner):
        runner.stop()
        # Locust may quit twice at once (SIGTERM's greenlet and the main one once the last
        # worker quits): the second waits for the first to write the results
        PROCESS.ended.wait(QUIT_WAIT_S)
    stop_embedded()


def stop_embedded() -> None:
    embedded, PROCESS.embedded = PROCESS.embedded, None
    if embedded is not None:
        embedded.stop()


# -- workers ----------------------------------------------------------------------------------

def _on_collect(environment: Any, msg: Any, **_: Any) -> None:
    """The master asks for this worker's measurements."""
    runner = environment.runner
    snapshot = _end_worker_run(environment)
    data = msg.data or {}
    if data.get("write_snapshot"):
        _write_worker_snapshot(Path(data["run_dir"]), runner.client_id, snapshot)
    runner.send_message(SNAPSHOT, {"snapshot": snapshot})


def _on_worker_quitting(environment: Any, **_: Any) -> None:
    """A worker quitting before the master asked (Ctrl-C, SIGTERM) sends what it measured,
    unasked."""
    if PROCESS.collected:
        return
    snapshot = _end_worker_run(environment)
    try:
        environment.runner.send_message(SNAPSHOT, {"snapshot": snapshot})
    except Exception as exc:  # the master is gone: nothing left to send to
        logger.warning("wsharness: this worker's measurements could not be sent: %s", exc)


def _end_worker_run(environment: Any) -> Snapshot:
    """Stop this worker's users (a master that quits does not stop them, and their closes
    count), freeze its measurements and return them; empty if they were sent already."""
    environment.runner.stop()
    RECORDER.freeze(environment.stats)
    snapshot = empty_snapshot() if PROCESS.collected else RECORDER.snapshot()
    PROCESS.collected = True
    _kill_greenlets()
    return snapshot


def _write_worker_snapshot(run_dir: Path, client_id: str, snapshot: Snapshot) -> None:
    directory = run_dir / WORKER_SNAPSHOTS_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{client_id}.json").write_text(json.dumps(snapshot), encoding="utf-8")
    except OSError as exc:
        logger.warning("wsharness: could not write this worker's snapshot: %s", exc)


# -- master -----------------------------------------------------------------------------------

def _on_snapshot(environment: Any, msg: Any, **_: Any) -> None:
    run = PROCESS.collecting or PROCESS.run  # unasked: the worker quit before the run ended
    if run is not None:  # the first counts: asked after it sent unasked, a worker sends empty
        run.snapshots.setdefault(msg.node_id, msg.data["snapshot"])


def _connected(runner: MasterRunner, client_id: str) -> bool:
    client = runner.clients.get(client_id)
    return client is not None and client.state != STATE_MISSING


def _notice_lost_workers(runner: MasterRunner, run: Run) -> None:
    for client in runner.clients.all:
        if client.state == STATE_MISSING and client.id not in run.lost:
            run.lost[client.id] = "missed heartbeats"
            logger.warning("wsharness: worker %s stopped sending heartbeats: lost", client.id)


def _collect_from_workers(runner: MasterRunner, run: Run, merged: Merged) -> None:
    """Ask every connected worker of the run for its snapshot (those that quit sent theirs);
    wait, bounded, while any asked worker is still connected; add them up."""
    _notice_lost_workers(runner, run)
    ids = run.worker_ids | {client.id for client in runner.clients.all}
    asked = {client_id for client_id in ids - run.snapshots.keys()
             if _connected(runner, client_id)}
    PROCESS.collecting = run
    try:
        for client_id in asked:
            runner.send_message(COLLECT, {"run_dir": str(run.dir),
                                          "write_snapshot": run.settings.worker_snapshots},
                                client_id=client_id)
        deadline = time.monotonic() + COLLECT_TIMEOUT_S
        while time.monotonic() < deadline and any(
                client_id not in run.snapshots and _connected(runner, client_id)
                for client_id in asked):
            gevent.sleep(0.05)
    finally:
        PROCESS.collecting = None
    _notice_lost_workers(runner, run)
    for client_id in ids - run.snapshots.keys():
        run.lost.setdefault(client_id, "no measurements" if _connected(runner, client_id)
                            else "quit without its measurements")
    missing = run.lost.keys() - run.snapshots.keys()
    if missing:
        logger.warning("wsharness: no measurements from %d lost worker(s): %s",
                       len(missing), ", ".join(sorted(missing)))
    for snapshot in run.snapshots.values():
        merged.add(snapshot)


def lost_workers(runner: MasterRunner, run: Run) -> list[LostWorker]:
    """The workers of the run whose measurements are missing, in the order they were lost."""
    workers = []
    for client_id, reason in run.lost.items():
        if client_id in run.snapshots:
            continue
        heard = run.heard_s.get(client_id)
        workers.append(LostWorker(
            id=client_id, index=runner.worker_indexes.get(client_id),
            last_heard_at=iso_utc(heard) if heard else None,
            t=round(heard - int(run.started_s), 3) if heard else None, reason=reason))
    return workers


# -- both ends --------------------------------------------------------------------------------

def _finish(environment: Any, run: Run, merged: Merged, ended_s: float,
            lost: list[LostWorker]) -> None:
    options = environment.parsed_options
    settings = {
        **run.settings.as_dict(),
        "num_users": getattr(options, "num_users", None),
        "spawn_rate": getattr(options, "spawn_rate", None),
        "run_time": getattr(options, "run_time", None),
        "user_classes": sorted(cls.__name__ for cls in environment.user_classes),
        "processes": merged.processes,
        "embedded_app": run.settings.target_app if PROCESS.embedded else None,
        "target_server": run.settings.target_server if PROCESS.embedded else None,  # --host
        "messages_sent": merged.sent,
        "messages_received": merged.received,
    }
    results = build_results(run_id=run.id, started_s=run.started_s, ended_s=ended_s,
                            target=run.target, users=max(run.users_by_second.values(), default=0),
                            repo=REPO_ROOT, settings=settings, merged=merged,
                            server=describe(run.settings.target_server) if PROCESS.embedded
                            else None,
                            users_by_second=run.users_by_second, lost_workers=lost)
    path = _write(environment, run.dir, results)
    if path is not None:
        print(f"wsharness: results.json: {path}", flush=True)
        _render(path.parent)
    run_finished(environment, results, path)


def _write(environment: Any, run_dir: Path, results: Results) -> Path | None:
    """Write the results; where run_dir cannot take them, a temporary directory does, and
    the run exits with 1."""
    try:
        return write_results(run_dir, results)
    except OSError as exc:
        environment.process_exit_code = 1
        fallback = Path(tempfile.gettempdir()) / "wsharness-runs" / run_dir.name
        logger.error("wsharness: results not written to %s (%s): writing them to %s "  # noqa: TRY400
                     "instead", run_dir, exc.strerror or exc, fallback)
    try:
        return write_results(fallback, results)
    except OSError as exc:
        logger.error("wsharness: results not written to %s either (%s)",  # noqa: TRY400
                     fallback, exc.strerror or exc)
        return None


def _render(run_dir: Path) -> None:
    try:
        from reports.render import render_run
    except ImportError as exc:
        logger.warning("wsharness: no report rendered (reports.render unavailable: %s)", exc)
        return
    try:
        html, markdown = render_run(run_dir)
    except Exception as exc:  # the results file is written already; rendering is extra
        logger.warning("wsharness: rendering the report failed: %s", exc)
        return
    print(f"wsharness: report.html: {html}", flush=True)
    print(f"wsharness: summary.md: {markdown}", flush=True)


def _fold_every_second(environment: Any) -> None:
    while not RECORDER.frozen:
        gevent.sleep(FOLD_PERIOD_S)
        RECORDER.fold(environment.stats)
        FREEZER.grown(RECORDER.open_connections)


def _sample_users(runner: Any, run: Run) -> None:
    while PROCESS.run is run:
        run.users_by_second[int(time.time())] = runner.user_count
        if isinstance(runner, MasterRunner):
            _notice_lost_workers(runner, run)
        gevent.sleep(FOLD_PERIOD_S)


def _spawn(function: Any, *args: Any) -> None:
    greenlet = gevent.spawn(function, *args)
    PROCESS.greenlets.append(greenlet)


def _kill_greenlets() -> None:
    greenlets, PROCESS.greenlets = PROCESS.greenlets, []
    gevent.killall([g for g in greenlets if g is not gevent.getcurrent()], block=False)


def _listen() -> None:
    hooks: list[tuple[Any, Any]] = [
        (events.init_command_line_parser, _on_parser), (events.init, _on_init),
        (events.test_start, _on_test_start), (events.worker_report, _on_worker_report),
        (events.test_stop, _on_test_stop), (events.quitting, _on_quitting),
        (events.heartbeat_sent, _on_heartbeat)]
    for event, listener in hooks:
        event.add_listener(listener)


_listen()
