"""The harness's own client held to the Autobahn|Testsuite catalogue: kosoku in fuzzing-server
mode, the client echoing every case (tests/loadtests/autobahn_testee.py, in its own process).
Every case of groups 1 to 10 is OK, or its verdict has a written reason here."""

from __future__ import annotations

import asyncio
import sys

import pytest

from conformance.autobahn import INSTALL, Verdict, count, verdict_of
from tests.conformance.suite import REPO
from wsharness.timeouts import scaled

pytest.importorskip("kosoku", reason=f"kosoku is not installed: {INSTALL}")

GROUPS = ("1", "2", "3", "4", "5", "6", "7", "9", "10")  # the catalogue has no group 8
RUN_TIMEOUT_S = scaled(300.0)
FAIL_FAST = ("the client fails the connection as soon as the bad frame is parsed, which can be "
             "in the same read as the message before it: that message is delivered, but its "
             "echo can no longer be sent (OK when the two come in separate reads; the "
             "connection is failed with 1002 either way)")
WHOLE_FRAME_UTF8 = ("invalid UTF-8 is found when its frame is whole, not at the first bad byte "
                    "while the rest of the frame is still on its way (the client reads whole "
                    "frames; it fails with 1007)")
INFORMATIONAL = "informational by the catalogue's design: "
REASONS: dict[str, tuple[str, str]] = {  # case: (its verdict when not OK, why)
    **dict.fromkeys(("3.2", "3.3", "3.4", "4.1.3", "4.1.4", "4.1.5", "4.2.3", "4.2.4", "4.2.5",
                     "5.15"), ("NON-STRICT", FAIL_FAST)),
    "6.4.3": ("NON-STRICT", WHOLE_FRAME_UTF8),
    "6.4.4": ("NON-STRICT", WHOLE_FRAME_UTF8),
    "7.1.6": ("INFORMATIONAL", INFORMATIONAL + "a 256 KiB message, a close and a ping sent at "
              "once; the client takes the close before it can echo the message"),
    "7.13.1": ("INFORMATIONAL", INFORMATIONAL + "close code 5000 is out of range; the client "
               "fails the connection with 1002"),
    "7.13.2": ("INFORMATIONAL", INFORMATIONAL + "close code 65535, the same"),
}


async def run_catalogue() -> list[Verdict]:
    from kosoku import FailureError, run_fuzzingserver

    async with run_fuzzingserver([f"{g}.*" for g in GROUPS], host="127.0.0.1",
                                 port=0) as server:
        testee = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.loadtests.autobahn_testee",
            f"ws://127.0.0.1:{server.port}", cwd=REPO)
        try:
            try:
                results = await server.get_result()
            except FailureError as failure:
                results = failure.results
            assert await testee.wait() == 0
        finally:
            if testee.returncode is None:
                testee.kill()
                await testee.wait()
    return [verdict_of(result) for result in results]


def test_the_harness_client_passes_every_case_or_has_a_reason() -> None:
    verdicts = asyncio.run(asyncio.wait_for(run_catalogue(), RUN_TIMEOUT_S))
    assert len(verdicts) == 301, count(verdicts)
    unexplained = [f"{v.case} {v.verdict} ({v.description}): {v.reason}" for v in verdicts
                   if v.verdict != "OK" and REASONS.get(v.case, ("",))[0] != v.verdict]
    assert not unexplained, f"{count(verdicts)}; no written reason for:\n" + "\n".join(unexplained)
