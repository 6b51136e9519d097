"""Run the conformance suite as its users do: `python -m pytest conformance ...` in a subprocess."""

import os
import re
import subprocess
import sys
from pathlib import Path

from wsharness.timeouts import TIMEOUT_SCALE_ENV

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300.0
RULE_NAMED = re.compile(r"SpecMismatch: rule: ([\w.-]+) \(")


def run_suite(*args: str, timeout_scale: str = "1",
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The suite's exit code and output; its own pytest-timeout stops a stuck test first."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q",
         "--timeout", "200", *args],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
        env={**os.environ, **(env or {}), TIMEOUT_SCALE_ENV: timeout_scale})


def rules_named(output: str) -> set[str]:
    return set(RULE_NAMED.findall(output))
