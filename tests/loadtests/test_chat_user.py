"""A ChatUser that cannot join the whole room: what it joined is closed again, its readers
stop, it retries after the backoff, and nothing prints a traceback."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from reports.results import load_results
from tests.loadtests.running import REPO, LiveRun, only_run_dir, stats_row
from wsharness.serve import serve

USERS = 3


def test_a_chat_user_whose_join_is_refused_holds_nothing_open_and_retries(
        tmp_path: Path) -> None:
    """Room size 2: each join opens an even id (accepted), then an odd one (refused)."""
    with serve("tests.loadtests.refusing_app:app", cwd=REPO) as server, LiveRun(
            "-u", str(USERS), "-r", str(USERS), "-t", "3s", "--host", server.url,
            "--chat-room-size", "2", "ChatUser", report_dir=tmp_path) as run:
        run.wait_for(lambda lines: stats_row(lines, "WS CONNECT", "/ws/{client_id}")[1]
                     >= USERS * 3, "every user refused three times")
        code = run.finish()
        with urllib.request.urlopen(f"{server.url}/held", timeout=5) as response:
            held = json.load(response)
    assert code == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert held["now"] == 0
    assert held["most"] <= USERS  # a leak would hold one more per retry
    results = load_results(only_run_dir(tmp_path))
    assert set(results["errors"]) == {"refused"}  # no reader reported a closed connection
    refused = results["errors"]["refused"]
    assert refused == held["refused"]
    assert USERS * 3 <= refused <= USERS * 8  # the backoff: at most 5 quick retries in 1.6 s
    assert results["close_codes"] == {"1000": results["metrics"]["connect /ws/{client_id}"]
                                      ["count"]}
    assert "fanout /ws/{client_id}" not in results["metrics"]
