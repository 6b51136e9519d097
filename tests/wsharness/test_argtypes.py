"""Option types: the values each accepts, and one line quoting any other."""

from __future__ import annotations

from argparse import ArgumentTypeError
from collections.abc import Callable

import pytest

from wsharness.argtypes import from_env, non_negative_float, positive_float, positive_int, share


@pytest.mark.parametrize(("check", "text", "value"), [
    (positive_int, "1", 1), (positive_int, "32", 32),
    (non_negative_float, "0", 0.0), (non_negative_float, "2.5", 2.5),
    (positive_float, "0.001", 0.001), (positive_float, "8", 8.0),
    (share, "0", 0.0), (share, "0.1", 0.1), (share, "1", 1.0),
])
def test_accepted(check: Callable[[str], float], text: str, value: float) -> None:
    assert check(text) == value


@pytest.mark.parametrize(("check", "text"), [
    (positive_int, "0"), (positive_int, "-3"), (positive_int, "1.5"), (positive_int, "many"),
    (non_negative_float, "-0.1"), (non_negative_float, "inf"), (non_negative_float, "nan"),
    (positive_float, "0"), (positive_float, "inf"), (positive_float, ""),
    (share, "1.01"), (share, "-0.5"), (share, "nan"), (share, "half"),
])
def test_refused_in_one_line_quoting_the_value(check: Callable[[str], float], text: str) -> None:
    with pytest.raises(ArgumentTypeError) as refused:
        check(text)
    assert str(refused.value).endswith(f", got {text!r}")
    assert str(refused.value).startswith("expected ")
    assert "\n" not in str(refused.value)


def test_from_env_reads_the_variable_or_gives_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WSHARNESS_TEST_COUNT", raising=False)
    assert from_env("WSHARNESS_TEST_COUNT", positive_int, 7) == 7
    monkeypatch.setenv("WSHARNESS_TEST_COUNT", "3")
    assert from_env("WSHARNESS_TEST_COUNT", positive_int, 7) == 3
    monkeypatch.setenv("WSHARNESS_TEST_COUNT", "none")
    with pytest.raises(ValueError, match=r"^WSHARNESS_TEST_COUNT: expected a whole number of "):
        from_env("WSHARNESS_TEST_COUNT", positive_int, 7)
