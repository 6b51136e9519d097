"""Headless Locust runs of each user against the embedded reference app: the results file
holds what was sent and received, consistently."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from reports.results import PERCENTILES, Metric, Results, decode_histogram, load_results
from tests.loadtests import stalling_app
from tests.loadtests.running import (
    DISTRIBUTED,
    REPO,
    RUN_TIMEOUT_S,
    LiveRun,
    locust_command,
    only_run_dir,
    results_of,
    run_locust,
    stats_row,
    two_workers,
)
from tests.target_app.test_metrics import RECEIVED, key, scrape_url
from wsharness.bind import free_port
from wsharness.serve import serve

RUN = ("-t", "3s")
SERVING = re.compile(r"wsharness: serving \S+ with .+ at (http://\S+) for this run")
RATE_PER_S = 20
HELD_BACK_MS = 500
LOOP_CLOCK_MS = 2  # how early a server's timed sleep may end (see the stall test)


def check_metric(metric: Metric) -> None:
    """Percentiles ordered, mean inside them, and the histogram holds exactly `count` samples."""
    percentiles = [metric["percentiles_ms"][p] for p in PERCENTILES]
    assert percentiles == sorted(percentiles)
    assert metric["count"] > 0
    assert 0 < metric["mean_ms"] <= percentiles[-1]
    assert decode_histogram(metric["hdr"]).get_total_count() == metric["count"]


def received_in_timeline(results: Results) -> float:
    return sum(point["received_per_s"] for point in results["timeline"])


def test_echo_user_counts_every_round_trip(tmp_path: Path) -> None:
    results = results_of(run_locust("-u", "4", "-r", "4", *RUN, "EchoUser",
                                    report_dir=tmp_path), tmp_path)
    rtt, connect = results["metrics"]["rtt /ws"], results["metrics"]["connect /ws"]
    settings = results["run"]["settings"]
    for metric in (rtt, connect):
        check_metric(metric)
        assert metric["errors"] == 0
    assert connect["count"] == 4
    assert results["run"]["users"] == 4
    assert results["errors"] == {}
    assert results["close_codes"] == {"1000": 4}
    assert rtt["count"] == settings["messages_received"] == received_in_timeline(results)
    assert 0 <= settings["messages_sent"] - rtt["count"] <= 4  # at most one in flight per user
    assert rtt["percentiles_ms"]["50"] < 1000
    assert results["run"]["target"].startswith("ws://127.0.0.1:")


def test_users_connect_from_the_source_addresses_given(tmp_path: Path) -> None:
    with serve(log_path=tmp_path / "server.log", log_level="info") as server:
        results = results_of(run_locust("-u", "6", "-r", "6", *RUN, "--host", server.url,
                                        "--source-addresses", "127.0.0.0/8", "EchoUser",
                                        report_dir=tmp_path / "runs"), tmp_path / "runs")
        log = (tmp_path / "server.log").read_text()
    assert results["errors"] == {}
    assert results["run"]["settings"]["source_addresses"] == "127.0.0.0/8"
    clients = re.findall(r"(127\.\d+\.\d+\.\d+):\d+ - \"WebSocket /ws\" \[accepted\]", log)
    assert len(clients) == 6
    assert len(set(clients)) == 6  # each connection from the next address in turn


@pytest.mark.parametrize("distributed", sorted(DISTRIBUTED))
def test_users_spawned_at_once_connect_a_few_at_a_time(tmp_path: Path,
                                                       distributed: str) -> None:
    """40 users spawned in one go, --max-connecting 3 per process over two processes: the
    server (a slow accept) never has more than 6 handshakes under way, and all connect."""
    with serve("tests.loadtests.slow_accept_app:app", cwd=REPO) as server:
        results = results_of(DISTRIBUTED[distributed](
            "-u", "40", "-r", "40", "-t", "6s", "--host", server.url, "--max-connecting", "3",
            "EchoUser", report_dir=tmp_path), tmp_path)
        with urllib.request.urlopen(f"{server.url}/accepting", timeout=5) as response:
            accepting = json.load(response)
    assert results["errors"] == {}
    assert accepting["accepted"] == 40
    assert accepting["most"] <= 2 * 3
    assert results["metrics"]["connect /ws"]["count"] == 40


def test_paced_users_answer_the_servers_pings_between_messages(tmp_path: Path) -> None:
    """A message every 4 s, a server that pings every 0.5 s and closes a client whose pong is
    0.5 s late (uvicorn's 1011): the users keep their connections."""
    with serve(options={"ws_ping_interval": 0.5, "ws_ping_timeout": 0.5}) as server:
        results = results_of(run_locust("-u", "2", "-r", "2", "-t", "5s", "--host", server.url,
                                        "--message-rate", "0.25", "EchoUser",
                                        report_dir=tmp_path), tmp_path)
    assert results["errors"] == {}
    assert results["close_codes"] == {"1000": 2}


def test_auth_user_checks_replies_and_refusals(tmp_path: Path) -> None:
    results = results_of(run_locust("-u", "3", "-r", "3", *RUN, "AuthUser",
                                    "--bad-credentials", "0.5", report_dir=tmp_path), tmp_path)
    metrics = results["metrics"]
    rtt = metrics["rtt /items/{item_id}/ws"]
    refused = metrics["connect /items/{item_id}/ws (no credentials)"]
    for metric in (rtt, refused, metrics["connect /items/{item_id}/ws"]):
        check_metric(metric)
        assert metric["errors"] == 0
    assert results["errors"] == {}
    assert rtt["count"] * 3 == results["run"]["settings"]["messages_received"]


@pytest.mark.parametrize("workers", [False, True], ids=["single", "two-workers"])
def test_chat_user_measures_fan_out_to_the_other_clients(tmp_path: Path, workers: bool) -> None:
    """Fan-out is timed in one process and with two, and merged; which copies are timed, one
    by one, is test_chat_user's."""
    processes = two_workers() if workers else ()
    results = results_of(run_locust("-u", "3", "-r", "3", *RUN, *processes, "ChatUser",
                                    "--chat-room-size", "2", report_dir=tmp_path), tmp_path)
    metrics = results["metrics"]
    rtt, fanout = metrics["rtt /ws/{client_id}"], metrics["fanout /ws/{client_id}"]
    for metric in (rtt, fanout):
        check_metric(metric)
        assert metric["errors"] == 0
    assert metrics["connect /ws/{client_id}"]["count"] == 6
    sent = results["run"]["settings"]["messages_sent"]
    others = 6 - 1  # every message reaches the room's other five connections
    assert fanout["count"] <= others * sent


def test_step_shape_raises_users_over_the_run(tmp_path: Path) -> None:
    results = results_of(run_locust("-u", "4", "-r", "4", "-t", "4s", "--shape", "step",
                                    "EchoUser", report_dir=tmp_path), tmp_path)
    users = [point["users"] for point in results["timeline"]]
    assert users == sorted(users)
    assert users[0] < 4
    assert results["run"]["users"] == 4


@pytest.mark.parametrize("workers", [False, True], ids=["single", "two-workers"])
def test_a_host_that_does_not_answer_is_one_line_and_a_failure(
        tmp_path: Path, workers: bool) -> None:
    processes = two_workers() if workers else ()
    done = run_locust("-u", "1", "-t", "2s", "--host", f"http://127.0.0.1:{free_port()}",
                      *processes, "EchoUser", report_dir=tmp_path)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("wsharness:")]
    assert len(errors) == 1
    assert "does not answer" in errors[0]
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_a_bad_host_url_is_one_line_and_a_failure(tmp_path: Path) -> None:
    done = run_locust("-u", "1", "-t", "2s", "--host", "ftp://127.0.0.1", "EchoUser",
                      report_dir=tmp_path)
    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.startswith("wsharness:")] == [
        "wsharness: --host 'ftp://127.0.0.1': expected http://, https://, ws:// or wss:// "
        "and a host name"]


def test_source_addresses_that_cannot_reach_the_target_are_one_line_and_a_failure(
        tmp_path: Path) -> None:
    done = run_locust("-u", "1", "-t", "2s", "--source-addresses", "::1", "EchoUser",
                      report_dir=tmp_path)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("wsharness:")]
    assert len(errors) == 1
    assert "--source-addresses ::1: IPv6 addresses cannot reach the IPv4 target" in errors[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("distributed", sorted(DISTRIBUTED))
def test_two_workers_merge_their_histograms_exactly(tmp_path: Path, distributed: str) -> None:
    """With --processes 2, and with a --master and two --worker processes started apart."""
    results = results_of(DISTRIBUTED[distributed]("-u", "4", "-r", "4", *RUN,
                                                  "--worker-snapshots", "EchoUser",
                                                  report_dir=tmp_path), tmp_path)
    snapshots = [json.loads(path.read_text()) for path in
                 sorted((only_run_dir(tmp_path) / "workers").glob("*.json"))]
    assert len(snapshots) == 2
    assert results["run"]["settings"]["processes"] == 2
    assert results["close_codes"] == {"1000": 4}  # the workers' users closed before the end
    for name in ("rtt /ws", "connect /ws"):
        merged = decode_histogram(results["metrics"][name]["hdr"])
        parts = [decode_histogram(snapshot["metrics"][name]["hdr"]) for snapshot in snapshots]
        assert all(part.get_total_count() > 0 for part in parts)  # both workers had users
        total = parts[0]
        total.add(parts[1])
        assert merged.get_total_count() == results["metrics"][name]["count"]
        assert merged.equals(total)
    assert results["run"]["settings"]["messages_received"] == sum(
        snapshot["received"] for snapshot in snapshots)
    # each worker's two connections, at its folds: four open at once, none at the end
    connections = [point["connections"] for point in results["timeline"]]
    assert max(connections) == 4
    assert connections[-1] == 0


def test_wrong_content_and_unexpected_closes_are_failures_with_their_codes(
        tmp_path: Path) -> None:
    done = run_locust("-u", "2", "-r", "2", *RUN, "--target-app",
                      "tests.loadtests.faulty_app:app", "EchoUser", report_dir=tmp_path)
    assert done.returncode == 1  # Locust's exit code when requests failed
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    results = load_results(only_run_dir(tmp_path))
    rtt = results["metrics"]["rtt /ws"]
    assert results["errors"]["wrong_content"] > 0
    assert results["errors"]["closed"] > 0
    closed = results["errors"]["closed"]
    assert closed <= results["close_codes"]["4000"] <= closed + 2  # a user stopped mid-close
    assert rtt["errors"] == results["errors"]["wrong_content"] + results["errors"]["closed"]
    check_metric(rtt)


def test_max_messages_bounds_each_user(tmp_path: Path) -> None:
    results = results_of(run_locust("-u", "2", "-r", "2", *RUN, "--max-messages", "5",
                                    "EchoUser", report_dir=tmp_path), tmp_path)
    assert results["metrics"]["rtt /ws"]["count"] == 10
    assert results["close_codes"] == {"1000": 2}


def test_ctrl_c_ends_the_run_with_its_results_and_no_failures(tmp_path: Path) -> None:
    """Interrupted once the embedded target has seen a round trip done: what follows holds
    whenever the interrupt comes. The wait watches the target, not the run's output: a Ctrl-C
    lands in whatever greenlet runs, and a greenlet that has just written a line is still
    running (Locust's table printer swallows the interrupt, and the run goes on to its end)."""
    with LiveRun("-u", "2", "-r", "2", "-t", "60s", "--only-summary", "EchoUser",
                 report_dir=tmp_path) as run:
        run.wait_for(lambda lines: any(SERVING.search(line) for line in lines),
                     "the embedded target served")
        [target] = [found[1] for line in run.lines if (found := SERVING.search(line))]
        echoes = key(RECEIVED, endpoint="echo")
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while scrape_url(target).get(echoes, 0) < 3:  # one user's second message: one echo done
            assert time.monotonic() < deadline, "no round trip reached the target"
            time.sleep(0.05)
        run.process.send_signal(signal.SIGINT)
        code = run.finish()
    assert code == 0, run.stderr[-3000:]
    results = load_results(only_run_dir(tmp_path))
    assert results["errors"] == {}  # the embedded target went only after the users
    assert set(results["close_codes"]) <= {"1000"}
    assert results["metrics"]["rtt /ws"]["count"] > 0


def test_paced_users_stop_cleanly_mid_pause(tmp_path: Path) -> None:
    """Users stopped while pacing (inside a connection's try/finally) close it once, cleanly."""
    results = results_of(run_locust("-u", "20", "-r", "20", *RUN, "--message-rate", "50",
                                    "AuthUser", report_dir=tmp_path), tmp_path)
    rtt = results["metrics"]["rtt /items/{item_id}/ws"]
    assert rtt["errors"] == 0
    assert results["errors"] == {}
    assert rtt["count"] <= 20 * 50 * (3 + 1) + 20  # --message-rate paces every user


def test_users_are_paced_by_default_and_think_time_replaces_the_default_rate(
        tmp_path: Path) -> None:
    default = results_of(run_locust("-u", "2", "-r", "2", *RUN, "EchoUser",
                                    report_dir=tmp_path / "default"), tmp_path / "default")
    assert 0 < default["metrics"]["rtt /ws"]["count"] <= 2 * 20 * (3 + 1)  # 20 per s per user
    thinking = results_of(run_locust("-u", "2", "-r", "2", *RUN, "--think-time", "0.5",
                                     "EchoUser", report_dir=tmp_path / "think"),
                          tmp_path / "think")
    assert 0 < thinking["metrics"]["rtt /ws"]["count"] <= 2 * (3 / 0.5 + 2)


def test_a_stall_counts_for_every_message_it_held_back(tmp_path: Path) -> None:
    """Paced at 20/s, a reply held 1 s makes the next sends late; each late round trip counts
    from when its message was due (no coordinated omission), not from its send. The j-th
    message after the stalled one was due j periods after it, so its round trip is at least
    the stall less j periods: 10 messages after the stall are still 500 ms or more."""
    messages = stalling_app.STALLED_REPLY + 20
    with LiveRun("-u", "1", "-r", "1", "-t", "60s", "--message-rate", str(RATE_PER_S),
                 "--max-messages", str(messages), "--target-app",
                 "tests.loadtests.stalling_app:app", "EchoUser", report_dir=tmp_path) as run:
        run.wait_for(lambda lines: stats_row(lines, "WS RTT", "/ws")[0] >= messages,
                     f"the user's {messages} round trips")
        run.process.send_signal(signal.SIGTERM)  # handled apart from whatever greenlet runs
        code = run.finish()
    assert code == 0, run.stderr[-3000:]
    rtt = load_results(only_run_dir(tmp_path))["metrics"]["rtt /ws"]
    assert rtt["errors"] == 0
    assert rtt["count"] == messages  # --max-messages: each user sends that many, no more
    stall_ms, period_ms = round(stalling_app.STALL_S * 1000), 1000 // RATE_PER_S
    histogram = decode_histogram(rtt["hdr"])  # microseconds
    held_back = sum(step.count_added_in_this_iter_step
                    for step in histogram.get_recorded_iterator()
                    if step.value_iterated_to >= HELD_BACK_MS * 1000)
    # the stalled reply, and the messages due while it was held; without the correction: 1
    assert held_back >= 1 + (stall_ms - HELD_BACK_MS) // period_ms
    # the stalled reply itself: the server's sleep may end up to LOOP_CLOCK_MS early (uvloop
    # times it in whole milliseconds from the loop's cached clock; seen: 999.9 ms)
    assert histogram.get_max_value() >= (stall_ms - LOOP_CLOCK_MS) * 1000


def test_think_time_with_another_rate_is_one_line_and_a_failure(tmp_path: Path) -> None:
    done = run_locust("-u", "1", "-t", "2s", "--think-time", "1", "--message-rate", "5",
                      "EchoUser", report_dir=tmp_path)
    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.startswith("wsharness:")] == [
        "wsharness: --think-time and --message-rate both pace the users: give one"]
    assert "Traceback" not in done.stderr


def test_a_report_dir_that_cannot_be_made_is_one_line_and_a_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_locust("-u", "1", "-t", "2s", "EchoUser", report_dir=blocker / "runs")
    assert done.returncode != 0
    assert [line for line in done.stderr.splitlines() if line.startswith("wsharness:")] == [
        f"wsharness: --report-dir {blocker / 'runs'}: Not a directory"]
    assert "Traceback" not in done.stderr


def run_whose_report_dir_turns_into_a_file(report_dir: Path,
                                           temporary: Path) -> tuple[int, str, str]:
    """A run whose report dir becomes a file once it has started: exit code, stdout, stderr."""
    process = subprocess.Popen(
        locust_command("--headless", "--report-dir", str(report_dir), "-u", "1", "-r", "1",
                       "-t", "3s", "EchoUser"),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(temporary)})
    assert process.stderr is not None
    for line in process.stderr:  # the run has started once the target is served
        if "wsharness: serving" in line:
            break
    report_dir.rmdir()
    report_dir.write_text("in the way")
    stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    return process.returncode, stdout, stderr


def test_results_the_report_dir_no_longer_takes_go_to_a_temporary_one(tmp_path: Path) -> None:
    """The report dir turns into a file during the run: the measurements are not lost."""
    report_dir = tmp_path / "runs"
    code, stdout, stderr = run_whose_report_dir_turns_into_a_file(report_dir, tmp_path)
    assert code == 1, stderr[-3000:]
    fallback = tmp_path / "wsharness-runs"
    assert f"results not written to {report_dir}/" in stderr
    assert f"wsharness: results.json: {fallback}/" in stdout
    assert "Traceback" not in stderr
    results = load_results(only_run_dir(fallback))
    assert results["metrics"]["rtt /ws"]["count"] > 0


def test_results_no_directory_takes_are_still_shown_on_the_console(tmp_path: Path) -> None:
    """Neither the report dir nor the temporary one takes the results: the µs table is
    printed all the same, and the run exits with 1."""
    report_dir, temporary = tmp_path / "runs", tmp_path / "tmp"
    temporary.mkdir()
    (temporary / "wsharness-runs").write_text("in the way")
    code, stdout, stderr = run_whose_report_dir_turns_into_a_file(report_dir, temporary)
    assert code == 1, stderr[-3000:]
    assert "results not written to" in stderr
    assert "wsharness: results.json:" not in stdout
    assert "latencies in µs" in stdout
    assert "rtt /ws" in stdout
    assert "Traceback" not in stderr
