"""Conformance results from JUnit XML (pytest's `--junitxml`), grouped by test module; per
group (the suite's marker: contract, scale, ...) and served target (`uvicorn-wsproto`,
`hypercorn`, `url`, `in-process`) when a run checked more than one target; and the Autobahn
catalogue's verdicts that the autobahn group records as test properties (`autobahn CASE` =
`OK`, or `VERDICT: why`).

The suite records a test's group and target as the properties `group` and `served_by`. Files
written before it did have neither: the group is then the test module, and the target is read
from the test id (`[wire-hypercorn]`, `[group-1-wire-uvicorn-wsproto]`, `[in-process]`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from reports.textfile import read_bytes

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "error", "skipped", "xfailed")
JUNIT_FILE = "conformance.xml"
OUTCOME_OF_TAG: dict[str, Outcome] = {"failure": "failed", "error": "error", "skipped": "skipped"}
XFAIL_TYPE = "pytest.xfail"  # pytest writes an expected failure as <skipped type=...>
GROUP_PROPERTY = "group"  # the suite's group of a test: its marker
TARGET_PROPERTY = "served_by"  # what served a test: a server label, `url` or `in-process`
IN_PROCESS = "in-process"
KNOWN_TARGETS = ("uvicorn-websockets-sansio", "uvicorn-websockets", "uvicorn-wsproto",
                 "hypercorn", "granian", "daphne", "url", IN_PROCESS)  # the columns' order
UVICORN_IMPLS_BEFORE_SERVERS = ("websockets-sansio", "websockets", "wsproto")  # ids' bare impls
TARGET_IN_ID = re.compile(  # a target in a test id, for files without served_by
    r"(?:^|-)(?:wire-(" + "|".join(re.escape(t) for t in
                                   (*KNOWN_TARGETS[:-1], *UVICORN_IMPLS_BEFORE_SERVERS))
    + r"|[^-]+)|(" + IN_PROCESS + r"))(?=-|$)")
UNKNOWN_TARGET = "?"  # a test whose target neither its properties nor its id name
AUTOBAHN_CASE = re.compile(r"autobahn (\d+(?:\.\d+)+)")  # a property naming one case
AUTOBAHN_VERDICTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
GROUP_PARAMETER = re.compile(r"group-\d+-?")


class JUnitError(Exception):
    """A JUnit file that is missing or not JUnit XML (one-line message)."""


@dataclass(frozen=True)
class TestCase:
    group: str
    name: str
    outcome: Outcome
    message: str = ""
    marker: str = ""  # the suite's group (contract, scale, ...), "" if not recorded
    target: str = ""  # what served it (`hypercorn`, `url`, `in-process`), "" if unknown

    @property
    def matrix_group(self) -> str:
        """The row of the group x target matrix: the marker, else the test module."""
        return self.marker or self.group


@dataclass
class Group:
    name: str
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    @property
    def ok(self) -> bool:
        return self.counts["failed"] == 0 and self.counts["error"] == 0


@dataclass(frozen=True)
class CaseVerdict:
    """One Autobahn case's verdict against one target (the test's parameters less the group:
    `wire-uvicorn-websockets-sansio`, `wire-url`)."""

    target: str
    case: str
    verdict: str
    reason: str = ""


@dataclass(frozen=True)
class Conformance:
    source: str
    cases: tuple[TestCase, ...]
    autobahn: tuple[CaseVerdict, ...] = ()

    @property
    def autobahn_targets(self) -> list[str]:
        return sorted({v.target for v in self.autobahn})

    def autobahn_counts(self, target: str) -> dict[str, int]:
        """How many cases got each verdict against target."""
        counts = dict.fromkeys(AUTOBAHN_VERDICTS, 0)
        for verdict in self.autobahn:
            if verdict.target == target:
                counts[verdict.verdict] = counts.get(verdict.verdict, 0) + 1
        return counts

    @property
    def groups(self) -> list[Group]:
        groups: dict[str, Group] = {}
        for case in self.cases:
            groups.setdefault(case.group, Group(case.group)).counts[case.outcome] += 1
        return sorted(groups.values(), key=lambda g: g.name)

    @property
    def targets(self) -> list[str]:
        """Every target a test was checked against, in KNOWN_TARGETS' order, others after."""
        seen = list(dict.fromkeys(c.target or UNKNOWN_TARGET for c in self.cases))
        return sorted(seen, key=lambda t: (KNOWN_TARGETS.index(t) if t in KNOWN_TARGETS
                                           else len(KNOWN_TARGETS), seen.index(t)))

    @property
    def served_targets(self) -> list[str]:
        """The targets on the wire: every one but in-process (and an unknown one)."""
        return [t for t in self.targets if t not in (IN_PROCESS, UNKNOWN_TARGET)]

    def matrix(self) -> dict[str, dict[str, Group]]:
        """Outcome counts per group (row) and target (column): {group: {target: counts}};
        a target that ran none of a group's tests has no entry in its row."""
        rows: dict[str, dict[str, Group]] = {}
        for case in self.cases:
            row = rows.setdefault(case.matrix_group, {})
            target = case.target or UNKNOWN_TARGET
            row.setdefault(target, Group(target)).counts[case.outcome] += 1
        return dict(sorted(rows.items()))

    @property
    def failures(self) -> list[TestCase]:
        return [c for c in self.cases if c.outcome in ("failed", "error")]

    def total(self, outcome: Outcome) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)


def group_of(classname: str) -> str:
    """`conformance.test_echo.TestClose` -> `test_echo`: the test module is the group."""
    parts = [p for p in classname.split(".") if p]
    for part in parts:
        if part.startswith("test_") or part.endswith("_test"):
            return part
    return parts[-1] if parts else "(no module)"


def load_junit(path: Path) -> Conformance:
    data = read_bytes(path, "JUnit file", JUnitError)  # XML declares its own encoding
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise JUnitError(f"{path}: malformed XML: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"{path}: not JUnit XML (root element <{root.tag}>)")
    elements = list(root.iter("testcase"))
    return Conformance(str(path), tuple(_cases(elements)), tuple(_verdicts(elements)))


def _cases(elements: Iterable[ET.Element]) -> Iterable[TestCase]:
    for element in elements:
        outcome: Outcome = "passed"
        message = ""
        for child in element:
            if child.tag in OUTCOME_OF_TAG:
                outcome = OUTCOME_OF_TAG[child.tag]
                if outcome == "skipped" and child.get("type") == XFAIL_TYPE:
                    outcome = "xfailed"
                message = _first_line(child.get("message") or child.text or "")
                break
        properties = {p.get("name", ""): p.get("value") or "" for p in element.iter("property")}
        name = element.get("name", "?")
        yield TestCase(group_of(element.get("classname", "")), name, outcome, message,
                       properties.get(GROUP_PROPERTY, ""),
                       properties.get(TARGET_PROPERTY) or target_in_id(name))


def target_in_id(name: str) -> str:
    """The target a test id names: `test_x[wire-uvicorn-wsproto-echo]` -> `uvicorn-wsproto`,
    `test_y[in-process]` -> `in-process`; "" if it names none."""
    parameters = name.partition("[")[2].removesuffix("]")
    matched = TARGET_IN_ID.search(parameters)
    if not matched:
        return ""
    target = matched.group(1) or matched.group(2)
    # written before the suite served other servers: `wire-wsproto` was uvicorn's
    return f"uvicorn-{target}" if target in UVICORN_IMPLS_BEFORE_SERVERS else target


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _verdicts(elements: Iterable[ET.Element]) -> Iterable[CaseVerdict]:
    for element in elements:
        name = element.get("name", "")
        target = GROUP_PARAMETER.sub("", name.partition("[")[2].rstrip("]")) or name
        for prop in element.iter("property"):
            matched = AUTOBAHN_CASE.fullmatch(prop.get("name", ""))
            if matched:
                verdict, _, reason = (prop.get("value") or "").partition(": ")
                yield CaseVerdict(target, matched.group(1), verdict.strip(), reason.strip())
