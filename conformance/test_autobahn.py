"""The Autobahn|Testsuite catalogue against the echo endpoint (--raw-path), group by group
(--autobahn-groups, default 1-10), run by kosoku's fuzzing client.

Every case's verdict goes into the JUnit XML as a property `autobahn CASE` (`OK`, or the
verdict and why), whatever the outcome; a group fails when a case is FAILED. With --app, the
cases that the server itself fails (server_gaps) are expected.
"""

from __future__ import annotations

import pytest

from conformance.autobahn import (
    CATALOGUE_GROUPS,
    INSTALL,
    Verdict,
    cases_of,
    count,
    parse_groups,
    run_cases,
    verdict_of,
)
from conformance.client import run
from conformance.rfc6455 import RawTarget
from conformance.server_gaps import autobahn_gaps, server_label
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.autobahn

GROUP_TIMEOUT_S = scaled(900.0)  # kosoku's own case timeouts end a stuck case long before


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "group" in metafunc.fixturenames:
        groups = [g for g in parse_groups(metafunc.config.getoption("--autobahn-groups"))
                  if g in CATALOGUE_GROUPS]
        metafunc.parametrize("group", groups, ids=[f"group-{g}" for g in groups])


def test_autobahn_group(request: pytest.FixtureRequest, group: int, wire: WireTarget,
                        raw_target: RawTarget) -> None:
    pytest.importorskip("kosoku", reason=f"kosoku is not installed: {INSTALL}")
    # user properties, as record_property records them (its xunit2 warning aside)
    record_property = request.node.user_properties.append
    results = run(run_cases(raw_target.url, [f"{group}.*"]), GROUP_TIMEOUT_S)
    verdicts = sorted((verdict_of(r) for r in results),
                      key=lambda v: [int(p) for p in v.case.split(".")])
    record_property((f"autobahn group {group}", count(verdicts)))
    for verdict in verdicts:
        record_property((f"autobahn {verdict.case}", verdict.describe()))
    missing = set(cases_of([group])[group]) - {v.case for v in verdicts}
    assert not missing, f"autobahn: kosoku gave no verdict for {sorted(missing)}"
    failed = {v.case: v for v in verdicts if v.verdict == "FAILED"}
    known = autobahn_gaps(wire, [v.case for v in verdicts])
    unexpected = [v for case, v in failed.items() if case not in known]
    if unexpected:
        raise AssertionError(describe_failed(raw_target.url, group, unexpected, verdicts))
    fixed = sorted(set(known) - set(failed))
    if fixed:
        raise AssertionError(f"autobahn: {', '.join(fixed)} passed against "
                             f"{server_label(wire)}, which was known to fail them: update "
                             "conformance/server_gaps.py")
    if failed:
        by_reason: dict[str, list[str]] = {}
        for case, reason in known.items():
            by_reason.setdefault(reason, []).append(case)
        pytest.xfail("; ".join(f"autobahn {', '.join(cases)} FAILED by {server_label(wire)}: "
                               f"{reason}" for reason, cases in by_reason.items()))


def describe_failed(url: str, group: int, failed: list[Verdict], verdicts: list[Verdict]) -> str:
    lines = [f"autobahn: group {group} against {url}: {count(verdicts)}"]
    lines += [f"  case {v.case} FAILED ({v.description}): {v.reason}" for v in failed]
    return "\n".join(lines)
