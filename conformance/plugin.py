"""The suite as a pytest plugin (entry point `wsharness`): its targets (--app, --url, --server,
--ws-impl, --stall-s), Hypothesis profiles and fixtures, wherever the package is installed.

Every test checks either on the wire (a real server on a free loopback port, or --url) or
in-process (Starlette's TestClient); its test id and its `checked` user property say which,
and on the wire which server (`wire-uvicorn-websockets-sansio`, `wire-hypercorn`, `wire-url`).
Its `served_by` user property names what served it (`uvicorn-websockets-sansio`, `hypercorn`,
`url`, `in-process`) and its `group` property its group (`contract`, `scale`, ...: the
markers), which the reports read from JUnit XML.
The plugin is loaded by every pytest run in an environment that has wsharness, so it acts
only on runs that collect the suite.
"""

from __future__ import annotations

import math
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from starlette.testclient import TestClient

from conformance.autobahn import DEFAULT_GROUPS, parse_groups
from conformance.hardening_target import (  # noqa: F401 (fixtures)
    Limits,
    limits,
    own_server,
    own_server_or_url,
    serve_own,
)
from conformance.hardening_target import add_options as add_hardening_options
from conformance.hardening_target import check_options as check_hardening_options
from conformance.server_gaps import expect_test_gap
from conformance.targets import APP_INI, WireTarget, app_option, load_app
from wsharness import servers
from wsharness.servers import DEFAULT_SERVER, SERVERS, WS_IMPLS, ServerError
from wsharness.stall import DEFAULT_STALL_S, STALL_ENV
from wsharness.target import TargetError, check_answers, ws_base
from wsharness.timeouts import TimeoutScaleError, scaled, timeout_scale

if TYPE_CHECKING:
    from conformance.rfc6455 import RawTarget

WIRE_BASE = pytest.StashKey[str]()  # the ws:// base of --url
APP = pytest.StashKey[object]()  # the --app object, for in-process checks
SUITE_DIR = Path(__file__).parent
CHECKOUT = (SUITE_DIR.parent / "pyproject.toml").is_file()  # else installed (site-packages)
WANTED_OPEN_FILES = 8192
TEST_TIMEOUT_S = 300  # scaled; Hypothesis may shrink a failure for a while: let it finish
SLOW_HEALTH_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]

NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

MARKERS = {
    "autobahn": "the Autobahn|Testsuite case catalogue, run by kosoku (an optional extra)",
    "contract": "the protocol of PROTOCOL.md",
    "hardening": "robustness and security beyond the documentation",
    "protocol": "RFC 6455 framing",
    "scale": "many concurrent clients",
}
DEFAULT_RAW_PATH = "/raw"
DEFAULT_PROFILE = "ci"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wsharness", "wsharness conformance target")
    group.addoption("--app", default=None, metavar="MODULE:ATTR",
                    help="ASGI app to check, importable from the current directory or "
                    f"PYTHONPATH (default: the {APP_INI} setting)")
    group.addoption("--url", default=None, metavar="URL",
                    help="check a server already running at http://host:port or ws://host:port"
                    " instead (in-process checks are skipped)")
    group.addoption("--server", default=None, choices=[*SERVERS, "all"],
                    help="the ASGI server serving --app; all: each in turn, uvicorn with the "
                    f"--ws-impl given (default {DEFAULT_SERVER}; the others: pip install "
                    f"'wsharness[{servers.EXTRA}]')")
    group.addoption("--ws-impl", default=None, choices=[*WS_IMPLS, "all"],
                    help="uvicorn's WebSocket implementation serving --app; all: each in turn "
                    f"(default {WS_IMPLS[0]}); only for uvicorn: with --server all it applies to "
                    "uvicorn, with another server it is a usage error")
    group.addoption("--workers", default=1, type=int, metavar="N",
                    help="uvicorn worker processes serving --app (default 1); a chat room that "
                    "lives in one process fails its checks with 2 or more")
    group.addoption("--stall-s", default=DEFAULT_STALL_S, type=float, metavar="SECONDS",
                    help="the target's stall limit: a chat client that reads nothing this long "
                    "while messages wait is closed with 1013; passed to the --app server as "
                    f"{STALL_ENV} (default {DEFAULT_STALL_S:g})")
    group.addoption("--raw-path", default=DEFAULT_RAW_PATH, metavar="PATH",
                    help="the target's echo endpoint (every message back unchanged), which the "
                    f"protocol and autobahn groups check (default {DEFAULT_RAW_PATH})")
    group.addoption("--require-close-frame", action="store_true", default=False,
                    help="protocol group: a server that fails a connection must send a close "
                    "frame with the right code (RFC 6455 7.1.7's SHOULD taken as a MUST); "
                    "by default dropping the TCP connection also counts")
    group.addoption("--autobahn-groups", default=DEFAULT_GROUPS, metavar="LIST",
                    help="autobahn group: the catalogue's case groups to run, e.g. 1-10,12,13 "
                    f"(12 and 13: compression; default {DEFAULT_GROUPS})")
    add_hardening_options(group)
    parser.addini(APP_INI, "the ASGI app (MODULE:ATTR) the conformance suite checks when "
                  "neither --app nor --url is given")


def register_profiles() -> None:
    """The suite's Hypothesis profiles. Registered only for runs that collect the suite: its
    `ci` replaces Hypothesis's own, which Hypothesis loads by itself on a CI machine."""
    settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                              max_examples=30, stateful_step_count=25, print_blob=True,
                              phases=NO_EXPLAIN, suppress_health_check=SLOW_HEALTH_CHECKS)
    settings.register_profile("dev", deadline=None, max_examples=300, stateful_step_count=50,
                              phases=NO_EXPLAIN, suppress_health_check=SLOW_HEALTH_CHECKS)
    settings.register_profile("smoke", derandomize=True, database=None, deadline=None,
                              max_examples=10, stateful_step_count=10,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate],
                              suppress_health_check=SLOW_HEALTH_CHECKS)


@pytest.hookimpl(tryfirst=True)  # before Hypothesis loads --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    for marker, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {meaning}")
    if not collects_the_suite(config):
        return
    try:
        timeout_scale()  # read once here, so that a bad value is a usage error, not a crash
    except TimeoutScaleError as exc:
        raise pytest.UsageError(str(exc).removeprefix("wsharness: ")) from None
    register_profiles()
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile(DEFAULT_PROFILE)
    if config.getoption("--workers") < 1:
        raise pytest.UsageError(f"--workers {config.getoption('--workers')}: expected a whole "
                                "number of at least 1")
    if not str(config.getoption("--raw-path")).startswith("/"):
        raise pytest.UsageError(f"--raw-path {config.getoption('--raw-path')!r}: expected a "
                                "path starting with /")
    try:
        parse_groups(config.getoption("--autobahn-groups"))
    except ValueError as exc:
        raise pytest.UsageError(f"--autobahn-groups: {exc}") from None
    if not 0 < config.getoption("--stall-s") < math.inf:
        raise pytest.UsageError(f"--stall-s {config.getoption('--stall-s')}: expected seconds > 0")
    check_hardening_options(config)
    check_servers(config)
    try:
        if config.getoption("--url"):
            base = ws_base(config.getoption("--url"), "--url")
            check_answers(base, "--url")
            config.stash[WIRE_BASE] = base
        else:
            config.stash[APP] = load_app(app_option(config))
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    raise_open_file_limit()


def check_servers(config: pytest.Config) -> None:
    """--server goes with --app, and every server it names can serve as asked (installed; the
    workers): a usage error of one line otherwise."""
    if config.getoption("--url"):
        for option in ("--server", "--ws-impl"):
            if config.getoption(option) is not None:
                raise pytest.UsageError(f"{option} picks how the suite serves --app: a --url "
                                        "target is already running")
    if config.getoption("--url"):
        return
    chosen = config.getoption("--server") or DEFAULT_SERVER
    if config.getoption("--ws-impl") is not None and chosen not in ("uvicorn", "all"):
        raise pytest.UsageError(f"--ws-impl picks uvicorn's WebSocket implementation: {chosen} "
                                "has one of its own")
    for server in dict.fromkeys(target.server for target in wire_servers(config)):
        assert server is not None
        try:
            servers.check_request(server, ws=None, workers=config.getoption("--workers"),
                                  options={})
        except ServerError as exc:
            raise pytest.UsageError(f"--server {server}: {exc}") from None


def wire_servers(config: pytest.Config) -> list[WireTarget]:
    """The servers serving --app, not started yet: --server, and for uvicorn --ws-impl (None:
    its default)."""
    chosen = config.getoption("--server") or DEFAULT_SERVER
    impl = config.getoption("--ws-impl")
    impls = list(WS_IMPLS) if impl == "all" else [impl or WS_IMPLS[0]]
    names = list(SERVERS) if chosen == "all" else [chosen]
    return [WireTarget("", name, ws) for name in names
            for ws in (impls if name == "uvicorn" else [None])]


def collects_the_suite(config: pytest.Config) -> bool:
    """Whether this run's arguments (or testpaths) reach the suite: the suite's package with
    --pyargs, a path in it, or a checkout holding it."""
    for arg in config.args:
        target = arg.split("::")[0]
        if config.option.pyargs and target.split(".")[0] == SUITE_DIR.name:
            return True
        path = (config.invocation_params.dir / target).resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents:
            return True
        if path in SUITE_DIR.parents and CHECKOUT:
            return True
    return False


def raise_open_file_limit() -> None:
    """A thousand clients need two thousand descriptors here (clients and server alike)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if not metafunc.definition.path.is_relative_to(SUITE_DIR):
        return
    if "wire" in metafunc.fixturenames:
        targets = ([WireTarget(config.stash[WIRE_BASE])] if WIRE_BASE in config.stash
                   else wire_servers(config))
        metafunc.parametrize("wire", targets, indirect=True, scope="session",
                             ids=[f"wire-{target.label}" for target in targets])
    if "in_process" in metafunc.fixturenames:
        metafunc.parametrize("in_process", ["in-process"], indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    own_timeout = config.getoption("--timeout", None) is None
    for item in items:
        if not item.path.is_relative_to(SUITE_DIR):
            continue
        if own_timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(int(scaled(TEST_TIMEOUT_S))))
        group = next((m.name for m in item.iter_markers() if m.name in MARKERS), None)
        if group is not None:
            item.user_properties.append(("group", group))
        names = getattr(item, "fixturenames", ())
        if "wire" in names:
            item.user_properties.append(("checked", "wire"))
            callspec = getattr(item, "callspec", None)
            target = callspec.params.get("wire") if callspec else None
            target = target if isinstance(target, WireTarget) else WireTarget("")
            item.user_properties.append(("served_by", target.label))
            expect_test_gap(item, target)
        if "in_process" in names:
            item.user_properties.append(("checked", "in-process"))
            item.user_properties.append(("served_by", "in-process"))


@pytest.fixture(scope="session")
def wire(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         limits: Limits) -> Iterator[WireTarget]:  # noqa: F811 (the fixture)
    """The target on the wire: --url, or --app served by the requested server (for uvicorn,
    with the requested ws impl)."""
    target: WireTarget = request.param
    if target.server is None:
        yield target
        return
    log_path = tmp_path_factory.mktemp("server") / f"{target.label}.log"
    with serve_own(request.config, target, limits, log_path, {}) as own:
        yield own.target


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


@pytest.fixture(scope="session")
def raw_target(request: pytest.FixtureRequest, wire: WireTarget) -> RawTarget:
    """The target's echo endpoint (--raw-path) on the wire, for the protocol group."""
    from conformance.rfc6455 import RawTarget  # its clients' timeouts read the scale: not here

    config = request.config
    return RawTarget(wire.url(config.getoption("--raw-path")),
                     close_frame_required=config.getoption("--require-close-frame"))
