"""The suite's targets (--app, --url, --ws-impl, --stall-s), Hypothesis profiles, fixtures.

Every test checks either on the wire (a real uvicorn on a free loopback port, or --url) or
in-process (Starlette's TestClient); its test id and its `checked` user property say which.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from starlette.testclient import TestClient

from conformance.client import scaled
from conformance.hardening_target import add_options as add_hardening_options
from conformance.hardening_target import check_options as check_hardening_options
from conformance.hardening_target import (  # noqa: F401 (fixtures)
    limits,
    own_server,
    own_server_or_url,
    served_args,
)
from conformance.spec import DEFAULT_STALL_S, STALL_ENV
from conformance.targets import (
    DEFAULT_APP,
    TargetError,
    WireTarget,
    check_reachable,
    load_app,
    parse_url,
)
from target_app.launch import WS_IMPLS, LaunchError, serve

WIRE_BASE = pytest.StashKey[str]()  # the ws:// base of --url
APP = pytest.StashKey[object]()  # the --app object, for in-process checks
SUITE_DIR = Path(__file__).parent
WANTED_OPEN_FILES = 8192
TEST_TIMEOUT_S = int(scaled(300))  # Hypothesis may shrink a failure for a while: let it finish
SLOW_HEALTH_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]

NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          max_examples=30, stateful_step_count=25, print_blob=True,
                          phases=NO_EXPLAIN, suppress_health_check=SLOW_HEALTH_CHECKS)
settings.register_profile("dev", deadline=None, max_examples=300, stateful_step_count=50,
                          phases=NO_EXPLAIN, suppress_health_check=SLOW_HEALTH_CHECKS)
settings.register_profile("smoke", derandomize=True, database=None, deadline=None,
                          max_examples=10, stateful_step_count=10,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate],
                          suppress_health_check=SLOW_HEALTH_CHECKS)
settings.load_profile("ci")  # the default; --hypothesis-profile NAME loads another after this


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wsharness", "wsharness conformance target")
    group.addoption("--app", default=DEFAULT_APP, metavar="MODULE:ATTR",
                    help="ASGI app to check, importable from the current directory or "
                    f"PYTHONPATH (default {DEFAULT_APP})")
    group.addoption("--url", default=None, metavar="URL",
                    help="check a server already running at http://host:port or ws://host:port"
                    " instead (in-process checks are skipped)")
    group.addoption("--ws-impl", default=WS_IMPLS[0], choices=[*WS_IMPLS, "all"],
                    help="uvicorn WebSocket implementation serving --app; all: each in turn "
                    f"(default {WS_IMPLS[0]})")
    group.addoption("--stall-s", default=DEFAULT_STALL_S, type=float, metavar="SECONDS",
                    help="the target's stall limit: a chat client that reads nothing this long "
                    "while messages wait is closed with 1013; passed to the --app server as "
                    f"{STALL_ENV} (default {DEFAULT_STALL_S:g})")
    add_hardening_options(group)


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--stall-s") > 0:
        raise pytest.UsageError(f"--stall-s {config.getoption('--stall-s')}: expected seconds > 0")
    check_hardening_options(config)
    try:
        if config.getoption("--url"):
            base = parse_url(config.getoption("--url"))
            check_reachable(base)
            config.stash[WIRE_BASE] = base
        else:
            config.stash[APP] = load_app(config.getoption("--app"))
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    raise_open_file_limit()


def raise_open_file_limit() -> None:
    """A thousand clients need two thousand descriptors here (clients and server alike)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "wire" in metafunc.fixturenames:
        impls = ["url"] if WIRE_BASE in config.stash else (
            list(WS_IMPLS) if config.getoption("--ws-impl") == "all"
            else [config.getoption("--ws-impl")])
        metafunc.parametrize("wire", impls, indirect=True, scope="session",
                             ids=[f"wire-{impl}" for impl in impls])
    if "in_process" in metafunc.fixturenames:
        metafunc.parametrize("in_process", ["in-process"], indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    own_timeout = config.getoption("--timeout", None) is None
    for item in items:
        if not item.path.is_relative_to(SUITE_DIR):
            continue
        if own_timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))
        names = getattr(item, "fixturenames", ())
        if "wire" in names:
            item.user_properties.append(("checked", "wire"))
        if "in_process" in names:
            item.user_properties.append(("checked", "in-process"))


@pytest.fixture(scope="session")
def wire(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[WireTarget]:
    """The target on the wire: --url, or --app served by uvicorn with the requested ws impl."""
    config = request.config
    if WIRE_BASE in config.stash:
        yield WireTarget(config.stash[WIRE_BASE], "url")
        return
    impl: str = request.param
    log_path = tmp_path_factory.mktemp("server") / f"uvicorn-{impl}.log"
    try:
        with serve(config.getoption("--app"), ws=impl, cwd=Path.cwd(), log_path=log_path,
                   env={STALL_ENV: str(config.getoption("--stall-s"))},
                   extra_args=served_args(config)) as server:
            yield WireTarget(server.ws_url, impl)
    except LaunchError as exc:
        pytest.fail(f"cannot serve {config.getoption('--app')} with --ws {impl}: {exc} "
                    f"(log: {log_path})", pytrace=False)


@pytest.fixture(scope="session")
def stall_s(request: pytest.FixtureRequest) -> float:
    """The target's stall limit in seconds (--stall-s)."""
    return float(request.config.getoption("--stall-s"))


@pytest.fixture(scope="session")
def in_process(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The app in-process (Starlette's TestClient), where close codes before accept show."""
    if APP not in request.config.stash:
        pytest.skip("needs the app in-process: not available with --url")
    app: Any = request.config.stash[APP]
    with TestClient(app) as client:
        yield client
