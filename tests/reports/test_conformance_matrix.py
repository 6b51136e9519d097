"""Conformance per group and target: a run that checked more than one served target (`--server
all`, `--ws-impl all`) is shown as a matrix of outcome counts, groups (the markers) by targets,
read from the `group` and `served_by` properties the suite records, or, in files written before
it did, from the test module and the test id."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports.junit import load_junit, target_in_id
from reports.render import render_run
from reports.summary import matrix_rows
from tests.conformance.suite import run_suite
from tests.reports.conftest import MakeRun, junit_of

RECORD_ENV = "SAMPLE_RECORDS_PROPERTIES"
MATRIX_SUITE = {  # three servers and in-process, two groups, every outcome
    "conftest.py": (
        "import os\n"
        "import pytest\n"
        "TARGETS = ['uvicorn-websockets-sansio', 'hypercorn', 'granian']\n"
        "def pytest_configure(config):\n"
        "    for marker in ('contract', 'hardening'):\n"
        "        config.addinivalue_line('markers', f'{marker}: a group')\n"
        "@pytest.fixture(params=TARGETS, ids=[f'wire-{t}' for t in TARGETS])\n"
        "def wire(request):\n"
        "    return request.param\n"
        "@pytest.fixture(params=['in-process'], ids=['in-process'])\n"
        "def in_process(request):\n"
        "    return request.param\n"
        "def pytest_collection_modifyitems(items):  # as conformance/plugin.py records them\n"
        f"    if os.environ.get('{RECORD_ENV}') != '1':\n"
        "        return\n"
        "    for item in items:\n"
        "        group = next(m.name for m in item.iter_markers() if m.name != 'parametrize')\n"
        "        item.user_properties.append(('group', group))\n"
        "        params = item.callspec.params\n"
        "        item.user_properties.append(('served_by', params.get('wire', 'in-process')))\n"
    ),
    "test_echo.py": (
        "import pytest\n"
        "pytestmark = pytest.mark.contract\n"
        "def test_reply(wire): pass\n"
        "def test_order(wire): assert wire != 'granian', 'out of order'\n"
        "def test_refused(in_process): pass\n"
    ),
    "test_limits.py": (
        "import pytest\n"
        "pytestmark = pytest.mark.hardening\n"
        "def test_size(wire):\n"
        "    if wire == 'granian':\n"
        "        pytest.skip('no size option')\n"
        "def test_version(request, wire):\n"
        "    if wire != 'uvicorn-websockets-sansio':\n"
        "        request.applymarker(pytest.mark.xfail(reason='a server gap', strict=True))\n"
        "        assert False, 'HTTP 101'\n"
        "@pytest.mark.parametrize('case', ['post', 'bad-key'])\n"
        "def test_handshake(wire, case): pass\n"
    ),
}
TARGETS = ["uvicorn-websockets-sansio", "hypercorn", "granian", "in-process"]
CELLS = {  # per group: per target, (passed, failed, error, skipped, xfailed)
    "contract": [(2, 0, 0, 0, 0), (2, 0, 0, 0, 0), (1, 1, 0, 0, 0), (1, 0, 0, 0, 0)],
    "hardening": [(4, 0, 0, 0, 0), (3, 0, 0, 0, 1), (2, 0, 0, 1, 1), None],
}
MODULE_OF = {"contract": "test_echo", "hardening": "test_limits"}


@pytest.fixture(scope="module")
def recorded_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's JUnit XML with the `group` and `served_by` properties."""
    return junit_of(tmp_path_factory.mktemp("recorded"), MATRIX_SUITE, returncode=1,
                    env={RECORD_ENV: "1"})


@pytest.fixture(scope="module")
def unrecorded_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same without them, as files written before the suite recorded them."""
    return junit_of(tmp_path_factory.mktemp("unrecorded"), MATRIX_SUITE, returncode=1,
                    env={RECORD_ENV: "0"})


def cells(path: Path) -> dict[str, list[tuple[int, ...] | None]]:
    conformance = load_junit(path)
    assert conformance.targets == TARGETS
    return {group: [tuple(row[t].counts.values()) if t in row else None for t in TARGETS]
            for group, row in conformance.matrix().items()}


def test_outcomes_are_counted_per_group_and_target(recorded_xml: Path) -> None:
    assert cells(recorded_xml) == CELLS


def test_expected_failures_are_counted_as_xfail_not_pass_or_skip(recorded_xml: Path) -> None:
    conformance = load_junit(recorded_xml)
    assert (conformance.total("xfailed"), conformance.total("skipped")) == (2, 1)
    assert conformance.total("passed") == 15


def test_files_without_the_properties_use_the_module_and_the_test_id(
        unrecorded_xml: Path) -> None:
    assert cells(unrecorded_xml) == {MODULE_OF[group]: row for group, row in CELLS.items()}


@pytest.mark.parametrize(("name", "target"), [
    ("test_x[wire-uvicorn-websockets-sansio]", "uvicorn-websockets-sansio"),
    ("test_x[wire-uvicorn-websockets-sansio-wrong-version]", "uvicorn-websockets-sansio"),
    ("test_x[wire-uvicorn-websockets-items]", "uvicorn-websockets"),
    ("test_x[group-9-wire-uvicorn-wsproto]", "uvicorn-wsproto"),
    ("test_x[wire-granian-8 clients x 64 messages of 16384 chars]", "granian"),
    ("test_x[wire-url]", "url"),
    ("test_x[in-process]", "in-process"),
    ("test_x[wire-someserver-echo]", "someserver"),
    ("test_x[wire-websockets-sansio-echo]", "uvicorn-websockets-sansio"),  # before --server
    ("test_x[wire-websockets]", "uvicorn-websockets"),
    ("test_x[wire-wsproto-post]", "uvicorn-wsproto"),
    ("test_x[echo]", ""),
    ("test_x", ""),
])
def test_the_target_is_read_from_the_test_id(name: str, target: str) -> None:
    assert target_in_id(name) == target


def test_the_report_and_the_summary_show_the_matrix(make_run: MakeRun,
                                                    recorded_xml: Path) -> None:
    html_path, md_path = render_run(make_run(), junit=recorded_xml)
    html, md = html_path.read_text(), md_path.read_text()
    assert 'id="conformance-matrix"' in html
    assert 'id="conformance-groups"' not in html
    assert ("<th>group</th><th>uvicorn-websockets-sansio</th><th>hypercorn</th><th>granian</th>"
            "<th>in-process</th>") in html
    assert '<td>1 ✓ · <span class="bad">1 ✗</span></td>' in html
    assert "<td>2 ✓ · 1 xfail · 1 skip</td>" in html
    assert "15 passed, 1 failed, 0 errors, 1 skipped, 2 xfailed" in html
    assert "| group | uvicorn-websockets-sansio | hypercorn | granian | in-process |" in md
    assert "| contract | 2 ✓ | 2 ✓ | 1 ✓ · **1 ✗** | 1 ✓ |" in md
    assert "| hardening | 4 ✓ | 3 ✓ · 1 xfail | 2 ✓ · 1 xfail · 1 skip | – |" in md
    assert "test_order[wire-granian]" in html  # the failures are still listed, by test id


def test_a_run_of_one_target_keeps_the_group_table(make_run: MakeRun, junit_xml: Path) -> None:
    html_path, md_path = render_run(make_run(), junit=junit_xml)
    assert 'id="conformance-groups"' in html_path.read_text()
    assert "conformance-matrix" not in html_path.read_text()
    assert "| group | verdict | passed | failed | errors | skipped | xfailed |" in \
        md_path.read_text()


def test_the_real_suite_under_several_servers_renders_its_matrix(make_run: MakeRun,
                                                                 tmp_path: Path) -> None:
    junit = tmp_path / "conformance.xml"
    result = run_suite("--app", "target_app:app", "--server", "all", "-m",
                       "contract or hardening", "-k",
                       "echo or wrong-version or non_int_client_id_refused_in_process",
                       "--hypothesis-profile", "smoke", f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    recorded = {(case.get("name", ""), prop.get("name"), prop.get("value"))
                for case in ET.parse(junit).iter("testcase") for prop in case.iter("property")
                if prop.get("name") in ("group", "served_by")}
    assert ("test_one_reply_per_message_wire[wire-daphne]", "served_by", "daphne") in recorded
    assert ("test_one_reply_per_message_wire[wire-daphne]", "group", "contract") in recorded
    md = render_run(make_run(), junit=junit)[1].read_text()
    assert "| group | uvicorn-websockets-sansio | hypercorn | granian | daphne | in-process |" \
        in md
    rows = {line.split(" | ")[0].removeprefix("| "): line.removesuffix(" |").split(" | ")[1:]
            for line in md.splitlines() if line.startswith(("| contract |", "| hardening |"))}
    # the same checks passed under each server; the wrong version is a known gap of all four
    assert len(set(rows["contract"][:4])) == 1, rows
    assert re.fullmatch(r"\d+ ✓", rows["contract"][0]), rows
    assert rows["contract"][4] == "1 ✓", rows  # in-process
    assert len(set(rows["hardening"][:4])) == 1, rows
    assert re.fullmatch(r"(\d+ ✓ · )?1 xfail", rows["hardening"][0]), rows
    assert rows["hardening"][4] == "–", rows


def test_a_case_whose_target_is_unknown_has_a_column_of_its_own(tmp_path: Path) -> None:
    """A collection error names no target: its column shows it, not a dash."""
    xml = tmp_path / "conformance.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest" tests="3">'
        '<testcase classname="conformance.test_echo" name="test_echo[wire-hypercorn]"/>'
        '<testcase classname="conformance.test_echo" name="test_echo[wire-granian]"/>'
        '<testcase classname="conformance.test_echo" name="test_echo">'
        '<error message="collection failed"/></testcase></testsuite></testsuites>')
    conformance = load_junit(xml)
    assert conformance.targets == ["hypercorn", "granian", "?"]
    assert matrix_rows(conformance, lambda text, bad: f"!{text}" if bad else text) == [
        [conformance.cases[0].matrix_group, "1 ✓", "1 ✓", "!1 error"]]
