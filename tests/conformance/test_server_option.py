"""--server: a usage error of one line with --url, for a server that is not installed, and for
workers a server cannot run; --ws-impl with a server other than uvicorn is one too, and with
--server all it picks uvicorn's; a value the server refuses skips the check that needs it."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.absent import python_without
from tests.conformance.suite import REPO, RUN_TIMEOUT_S, run_suite

NOT_INSTALLED = "hypercorn is not installed: pip install 'wsharness[servers]'"


@pytest.mark.parametrize(("option", "value"), [("--server", "hypercorn"), ("--ws-impl", "wsproto")])
def test_serving_options_with_url_are_a_usage_error(option: str, value: str) -> None:
    result = run_suite("--url", "http://127.0.0.1:9", option, value)
    assert result.returncode == 4
    assert (f"ERROR: {option} picks how the suite serves --app: a --url target is already "
            "running") in result.stderr


def test_daphne_with_workers_is_a_usage_error() -> None:
    result = run_suite("--server", "daphne", "--workers", "2")
    assert result.returncode == 4
    assert ("ERROR: --server daphne: daphne serves from one process: 2 workers are not "
            "available") in result.stderr


def test_a_server_that_is_not_installed_is_a_usage_error(tmp_path: Path) -> None:
    python, env = python_without(tmp_path / "site", "hypercorn")
    result = subprocess.run(
        [*python, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "--server", "all"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.strip() == f"ERROR: --server hypercorn: {NOT_INSTALLED}"


def test_ws_impl_with_another_server_is_a_usage_error() -> None:
    result = run_suite("--server", "granian", "--ws-impl", "wsproto")
    assert result.returncode == 4
    assert result.stderr.strip() == ("ERROR: --ws-impl picks uvicorn's WebSocket implementation: "
                                     "granian has one of its own")


def test_ws_impl_with_all_servers_applies_to_uvicorn() -> None:
    result = run_suite("--server", "all", "--ws-impl", "wsproto", "-m", "contract",
                       "--collect-only")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    served = set(re.findall(r"\[wire-([\w-]+)\]", result.stdout))
    assert served == {"uvicorn-wsproto", "hypercorn", "granian", "daphne"}


def test_a_value_the_server_refuses_skips_the_check_naming_it() -> None:
    result = run_suite("--server", "daphne", "--ping-interval-s", "1.5", "-m", "hardening",
                       "-k", "pings", "-rs")
    assert result.returncode == 0, result.stdout[-2000:]
    assert ("daphne takes whole seconds for --ping-interval (uvicorn's ws_ping_interval): not "
            "1.5: the suite cannot set what this check tests") in result.stdout
    assert "1 skipped" in result.stdout
