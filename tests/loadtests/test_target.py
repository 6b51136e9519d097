"""Which URLs the harness accepts as --host, and where it lets load go."""

from __future__ import annotations

import pytest

from loadtests._target import TargetError, check_allowed, check_answers, is_loopback, ws_base
from wsharness.bind import free_port


@pytest.mark.parametrize(("host", "base"), [
    ("http://127.0.0.1:8000", "ws://127.0.0.1:8000"),
    ("https://example.org", "wss://example.org:443"),
    ("ws://localhost:9/", "ws://localhost:9"),
    ("wss://[::1]:8443/prefix/", "wss://[::1]:8443/prefix"),
])
def test_http_https_ws_and_wss_hosts(host: str, base: str) -> None:
    assert ws_base(host) == base


@pytest.mark.parametrize("host", ["ftp://127.0.0.1", "127.0.0.1:8000", "http://", "ws://h:x"])
def test_other_hosts_are_refused_with_one_line(host: str) -> None:
    with pytest.raises(TargetError) as refused:
        ws_base(host)
    assert "\n" not in str(refused.value)


def test_load_goes_only_to_loopback_or_the_named_host() -> None:
    named = ws_base("https://example.org")
    check_allowed("wss://example.org:443/ws", named)
    check_allowed("ws://127.0.0.1:8000/ws", named)
    with pytest.raises(TargetError):
        check_allowed("ws://example.com:80/ws", named)
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("10.0.0.1")


def test_a_port_nobody_listens_on_does_not_answer() -> None:
    with pytest.raises(TargetError, match="does not answer"):
        check_answers(f"ws://127.0.0.1:{free_port()}")
