"""The Autobahn|Testsuite case catalogue, run by kosoku (the optional extra `autobahn`): its
fuzzing client drives a server's echo endpoint through the cases of the groups chosen, and
each case gets a verdict.

A case's verdict is kosoku's (Autobahn's) behavior verdict, OK, NON-STRICT, INFORMATIONAL or
UNIMPLEMENTED, unless the case did not pass (kosoku's `passed`: the message exchange or the
closing handshake went wrong, or the case could not run), which makes it FAILED. Group 8 does
not exist in the catalogue; groups 12 and 13 are compression (permessage-deflate).

kosoku is imported only when cases run, so the suite works without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kosoku._kosoku import CaseResult

INSTALL = "pip install 'wsharness[autobahn]' (or pip install kosoku)"
DEFAULT_GROUPS = "1-10"
CATALOGUE_GROUPS = (1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13)  # the catalogue has no 8 nor 11
VERDICTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
PASSING_CLOSE = ("OK", "INFORMATIONAL")
CONCURRENCY = max(1, min(4, os.cpu_count() or 1))


def parse_groups(text: str) -> list[int]:
    """'1-10,12' -> [1, ..., 10, 12]; ValueError naming what is wrong."""
    groups: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a group number or range") from None
        if not 1 <= low <= high:
            raise ValueError(f"{part.strip()!r} is not a range of group numbers (1 and up)")
        groups.update(range(low, high + 1))
    return sorted(groups)


def case_order(case_id: str) -> list[int]:
    return [int(part) for part in case_id.split(".")]


def cases_of(groups: Sequence[int]) -> dict[int, list[str]]:
    """The catalogue's case ids in each of groups that it has (imports kosoku)."""
    from kosoku.cases import CASES

    found: dict[int, list[str]] = {}
    for case_id in sorted(CASES, key=case_order):
        group = int(case_id.split(".")[0])
        if group in groups:
            found.setdefault(group, []).append(case_id)
    return found


@dataclass(frozen=True)
class Verdict:
    """One case's verdict, and why when it is not OK."""

    case: str
    verdict: str
    behavior: str
    behavior_close: str
    reason: str
    description: str = ""

    def describe(self) -> str:
        """The verdict as the JUnit property shows it: `OK`, or the verdict and why."""
        if self.verdict == "OK":
            return "OK"
        return f"{self.verdict}: {self.reason}"


def verdict_of(result: CaseResult) -> Verdict:
    behavior, close = result.behavior.value, result.behavior_close.value
    verdict = behavior if behavior in VERDICTS else "FAILED"
    if not result.passed and behavior != "UNIMPLEMENTED":
        verdict = "FAILED"
    code = result.remote_close_code
    reason = (f"{result.result} Closing: {result.result_close} ({close}; the peer's close code "
              f"{code if code is not None else 'none'})")
    return Verdict(result.case_id, verdict, behavior, close, reason,
                   " ".join(result.description.split()))


async def run_cases(url: str, patterns: Sequence[str]) -> list[CaseResult]:
    """kosoku's fuzzing client against url for the cases matching patterns (e.g. "1.*"); the
    results of every case, passed or not."""
    from kosoku import FailureError, run_fuzzingclient

    try:
        return await run_fuzzingclient(url, list(patterns), concurrency=CONCURRENCY)
    except FailureError as failure:
        return failure.results


def count(verdicts: Sequence[Verdict]) -> str:
    """'OK 283, NON-STRICT 14, FAILED 1': how many cases got each verdict."""
    return ", ".join(f"{name} {n}" for name in VERDICTS
                     if (n := sum(1 for v in verdicts if v.verdict == name)))
