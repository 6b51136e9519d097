"""The target a user names: the URLs accepted (as --host or --url), the one-line errors that
name the option, whether it answers, and which host names are loopback."""

from __future__ import annotations

import pytest

from wsharness.bind import bind_listening
from wsharness.target import TargetError, check_answers, is_loopback, ws_base

OPTIONS = ("--host", "--url")


@pytest.mark.parametrize(("url", "base"), [
    ("http://127.0.0.1:8000", "ws://127.0.0.1:8000"),
    ("https://example.org", "wss://example.org:443"),
    ("http://example.org", "ws://example.org:80"),
    ("ws://localhost:9/", "ws://localhost:9"),
    ("wss://[::1]:8443/prefix/", "wss://[::1]:8443/prefix"),
    (" HTTP://Example.ORG:81 ", "ws://example.org:81"),
])
def test_http_https_ws_and_wss_urls(url: str, base: str) -> None:
    assert ws_base(url, "--host") == base


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://127.0.0.1", "expected http://, https://, ws:// or wss:// and a host name"),
    ("127.0.0.1:8000", "expected http://, https://, ws:// or wss:// and a host name"),
    ("http://", "expected http://, https://, ws:// or wss:// and a host name"),
    ("ws://h:x", "Port could not be cast to integer value as 'x'"),
    ("http://127.0.0.1:70000", "Port out of range 0-65535"),
    ("http://[::1", "Invalid IPv6 URL"),
    ("http://127.0.0.1:8000/?q=1", "no user name, query or fragment, please"),
    ("http://127.0.0.1:8000/#top", "no user name, query or fragment, please"),
    ("http://me:secret@127.0.0.1:8000", "no user name, query or fragment, please"),
])
@pytest.mark.parametrize("option", OPTIONS)
def test_other_urls_are_one_line_naming_the_option(url: str, why: str, option: str) -> None:
    with pytest.raises(TargetError) as refused:
        ws_base(url, option)
    assert str(refused.value) == f"{option} {url!r}: {why}"


@pytest.mark.parametrize("option", OPTIONS)
def test_a_port_nobody_listens_on_does_not_answer(option: str) -> None:
    with bind_listening("127.0.0.1", 0) as held:  # bound, never listening: refused
        port = held.getsockname()[1]
        with pytest.raises(TargetError) as silent:
            check_answers(f"ws://127.0.0.1:{port}", option)
    assert str(silent.value).startswith(f"{option}: 127.0.0.1:{port} does not answer (")
    assert "\n" not in str(silent.value)


@pytest.mark.parametrize(("hostname", "loopback"), [
    ("localhost", True),
    ("dev.localhost", True),
    ("127.0.0.1", True),
    ("127.0.0.2", True),
    ("::1", True),
    ("10.0.0.1", False),
    ("example.org", False),
    ("localhost.example.org", False),
    ("", False),
])
def test_loopback_names_and_addresses(hostname: str, loopback: bool) -> None:
    assert is_loopback(hostname) is loopback


def test_a_host_name_the_idna_codec_refuses_is_one_line() -> None:
    base = ws_base(f"http://{'a' * 70}.example:8000", "--host")
    with pytest.raises(TargetError, match=r"--host: .* does not answer \(not a valid host name\)"):
        check_answers(base, "--host")
