"""WSHARNESS_TIMEOUT_SCALE: one positive factor for every timeout, or one line and an exit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from wsharness.timeouts import TIMEOUT_SCALE_ENV, TimeoutScaleError, scaled, timeout_scale


@pytest.fixture
def read_again() -> Iterator[None]:
    """timeout_scale() reads the variable once per process: forget it around the test."""
    timeout_scale.cache_clear()
    yield
    timeout_scale.cache_clear()


@pytest.mark.usefixtures("read_again")
@pytest.mark.parametrize(("text", "scale"), [(None, 1.0), ("3", 3.0), ("0.5", 0.5), (" 2 ", 2.0)])
def test_a_positive_number_is_the_scale(monkeypatch: pytest.MonkeyPatch, text: str | None,
                                        scale: float) -> None:
    if text is None:
        monkeypatch.delenv(TIMEOUT_SCALE_ENV, raising=False)
    else:
        monkeypatch.setenv(TIMEOUT_SCALE_ENV, text)
    assert timeout_scale() == scale
    assert scaled(2.0) == 2.0 * scale


@pytest.mark.usefixtures("read_again")
@pytest.mark.parametrize("text", ["0", "-1", "", "three", "nan", "inf"])
def test_anything_else_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                       text: str) -> None:
    monkeypatch.setenv(TIMEOUT_SCALE_ENV, text)
    with pytest.raises(TimeoutScaleError) as refused:
        timeout_scale()
    assert str(refused.value) == (
        f"wsharness: {TIMEOUT_SCALE_ENV}: expected a finite number above 0, got {text!r}")


def test_a_program_reading_a_bad_scale_ends_with_that_line_alone() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from wsharness.timeouts import scaled; scaled(1)"],
        env={**os.environ, TIMEOUT_SCALE_ENV: "fast"}, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"wsharness: {TIMEOUT_SCALE_ENV}: expected a finite number above 0, got 'fast'"]
