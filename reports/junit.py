"""Conformance results from JUnit XML (pytest's `--junitxml`), grouped by test module, and the
Autobahn catalogue's verdicts that the autobahn group records as test properties
(`autobahn CASE` = `OK`, or `VERDICT: why`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from reports.textfile import read_bytes

Outcome = Literal["passed", "failed", "error", "skipped"]
JUNIT_FILE = "conformance.xml"
OUTCOME_OF_TAG: dict[str, Outcome] = {"failure": "failed", "error": "error", "skipped": "skipped"}
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


@dataclass
class Group:
    name: str
    counts: dict[Outcome, int] = field(
        default_factory=lambda: {"passed": 0, "failed": 0, "error": 0, "skipped": 0})

    @property
    def ok(self) -> bool:
        return self.counts["failed"] == 0 and self.counts["error"] == 0


@dataclass(frozen=True)
class CaseVerdict:
    """One Autobahn case's verdict against one target (the test's parameters less the group:
    `wire-websockets-sansio`, `wire-url`)."""

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
                message = _first_line(child.get("message") or child.text or "")
                break
        yield TestCase(group_of(element.get("classname", "")), element.get("name", "?"),
                       outcome, message)


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
