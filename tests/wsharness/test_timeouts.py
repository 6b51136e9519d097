"""WSHARNESS_TIMEOUT_SCALE: one positive factor for every timeout, or one line and an exit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wsharness.timeouts import TIMEOUT_SCALE_ENV, TimeoutScaleError, parse_scale


@pytest.mark.parametrize(("text", "scale"), [("1", 1.0), ("3", 3.0), ("0.5", 0.5), (" 2 ", 2.0)])
def test_a_positive_number_is_the_scale(text: str, scale: float) -> None:
    assert parse_scale(text) == scale


@pytest.mark.parametrize("text", ["0", "-1", "", "three", "nan", "inf"])
def test_anything_else_is_one_line_naming_the_variable(text: str) -> None:
    with pytest.raises(TimeoutScaleError) as refused:
        parse_scale(text)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"wsharness: {TIMEOUT_SCALE_ENV}: ")
    assert message.endswith(f", got {text!r}")


def test_a_program_reading_a_bad_scale_ends_with_that_line_alone() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from wsharness.timeouts import scaled; scaled(1)"],
        env={**os.environ, TIMEOUT_SCALE_ENV: "fast"}, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"wsharness: {TIMEOUT_SCALE_ENV}: expected a finite number above 0, got 'fast'"]
