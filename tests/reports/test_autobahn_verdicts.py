"""The Autobahn catalogue's verdicts, recorded by the autobahn group as JUnit properties: read
per target and case, shown in report.html (counts, then every case not OK with why) and in
summary.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reports.junit import load_junit
from reports.render import render_run
from tests.reports.conftest import MakeRun

SUITE = (  # as conformance/test_autobahn.py records them, for two targets
    "import pytest\n"
    "VERDICTS = {1: [('1.1.1', 'OK'), ('1.1.2', 'OK')],\n"
    "            7: [('7.1.1', 'OK'), ('7.1.5', 'FAILED: The close code should have been 1000'),\n"
    "                ('7.13.1', 'INFORMATIONAL: Actual events are undefined <by the spec>.')]}\n"
    "@pytest.mark.parametrize('wire', ['wire-websockets-sansio', 'wire-wsproto'])\n"
    "@pytest.mark.parametrize('group', [1, 7], ids=['group-1', 'group-7'])\n"
    "def test_autobahn_group(request, group, wire):\n"
    "    request.node.user_properties.append((f'autobahn group {group}', 'counts'))\n"
    "    for case, verdict in VERDICTS[group]:\n"
    "        if wire == 'wire-wsproto' and case == '7.1.5':\n"
    "            verdict = 'OK'\n"
    "        request.node.user_properties.append((f'autobahn {case}', verdict))\n"
)


@pytest.fixture(scope="module")
def autobahn_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    suite = tmp_path_factory.mktemp("autobahn-suite")
    (suite / "pytest.ini").write_text("[pytest]\n")
    (suite / "test_autobahn.py").write_text(SUITE)
    output = suite / "conformance.xml"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={output}",
         str(suite)], cwd=suite, capture_output=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stdout.decode()
    return output


def test_verdicts_are_read_per_target_and_case(autobahn_xml: Path) -> None:
    conformance = load_junit(autobahn_xml)
    assert conformance.autobahn_targets == ["wire-websockets-sansio", "wire-wsproto"]
    assert conformance.autobahn_counts("wire-websockets-sansio") == {
        "OK": 3, "NON-STRICT": 0, "INFORMATIONAL": 1, "UNIMPLEMENTED": 0, "FAILED": 1}
    failed = [v for v in conformance.autobahn if v.verdict == "FAILED"]
    assert [(v.target, v.case, v.reason) for v in failed] == [
        ("wire-websockets-sansio", "7.1.5", "The close code should have been 1000")]


def test_the_report_shows_the_counts_and_every_case_not_ok(make_run: MakeRun,
                                                          autobahn_xml: Path) -> None:
    html_path, md_path = render_run(make_run(), junit=autobahn_xml)
    html = html_path.read_text()
    assert 'id="autobahn-verdicts"' in html
    assert "<td>wire-websockets-sansio</td><td>3</td><td>0</td><td>1</td><td>0</td><td>1</td>" \
        in html
    assert "<td>7.1.5</td><td>FAILED</td><td>The close code should have been 1000</td>" in html
    assert "undefined &lt;by the spec&gt;." in html
    assert "<td>1.1.1</td>" not in html  # OK cases are counted, not listed
    assert "Autobahn catalogue, wire-wsproto: OK 4, INFORMATIONAL 1." in md_path.read_text()


def test_a_run_without_the_autobahn_group_shows_no_catalogue(make_run: MakeRun,
                                                            junit_xml: Path) -> None:
    html_path, md_path = render_run(make_run(), junit=junit_xml)
    assert "autobahn-verdicts" not in html_path.read_text()
    assert "Autobahn" not in md_path.read_text()
