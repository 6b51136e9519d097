"""Where a load run lets load go: loopback, or the host named with --host."""

from __future__ import annotations

import pytest

from loadtests._target import HOST_OPTION, check_allowed
from wsharness.target import TargetError, ws_base


def test_load_goes_only_to_loopback_or_the_named_host() -> None:
    named = ws_base("https://example.org", HOST_OPTION)
    check_allowed("wss://example.org:443/ws", named)
    check_allowed("ws://127.0.0.1:8000/ws", named)
    check_allowed("ws://[::1]:8000/ws", named)
    with pytest.raises(TargetError, match="neither loopback nor the named --host"):
        check_allowed("ws://example.com:80/ws", named)
