"""The wire probe (benchmarks.wire_probe): how it reports a server that is not installed, and
what its cases read from a real server (uvicorn, the quick cases only: the probe itself takes
a minute per server)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from benchmarks.wire_probe import CLOSE_WINDOW_S, DOCS_APP, closing_seen, refusal, watch_url
from tests.absent import REPO, python_without
from wsharness.serve import Server, serve


def test_a_server_that_is_not_installed_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    python, env = python_without(tmp_path / "site", "hypercorn")
    result = subprocess.run([*python, "-m", "benchmarks.wire_probe", "uvicorn", "hypercorn"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "error: hypercorn is not installed: pip install 'wsharness[servers]'\n"


async def quick_cases(server: Server) -> list[str]:
    return [(await refusal(server, "/items/foo/ws")).text, (await refusal(server, "/ws/abc")).text,
            closing_seen(await watch_url(server.ws_url + "/ws/1", CLOSE_WINDOW_S,
                                         send=b"\x00")).text]


def test_the_quick_cases_read_what_uvicorn_sends() -> None:
    with serve(DOCS_APP, cwd=REPO) as server:
        refused, invalid, binary_to_chat = asyncio.run(quick_cases(server))
    assert refused == invalid == "HTTP 403, empty body"
    assert binary_to_chat == "TCP closed, no close frame (1006)"  # the docs chat's defect
