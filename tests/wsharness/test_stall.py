"""The stall limit a server reads from WSHARNESS_STALL_S."""

from __future__ import annotations

import pytest

from wsharness.stall import DEFAULT_STALL_S, STALL_ENV, stall_s


def test_the_default_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STALL_ENV, raising=False)
    assert stall_s() == DEFAULT_STALL_S == 5.0


def test_the_seconds_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STALL_ENV, "0.5")
    assert stall_s() == 0.5


@pytest.mark.parametrize("text", ["0", "-1", "soon", "inf"])
def test_anything_but_positive_seconds_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                   text: str) -> None:
    monkeypatch.setenv(STALL_ENV, text)
    with pytest.raises(ValueError, match=rf"^{STALL_ENV}: expected a finite number above 0, "):
        stall_s()
