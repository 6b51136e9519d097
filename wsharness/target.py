"""A server the user names by URL: its ws:// base, whether it answers, and which host names
are this machine's. Errors are one line and name the option the URL came from (`--host`
for a load run, `--url` for the conformance suite)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
DEFAULT_PORTS = {"ws": 80, "wss": 443}
LOOPBACK_NAME = "localhost"  # and any name under it (RFC 6761)
REACH_TIMEOUT_S = 5.0


class TargetError(Exception):
    """The target is unusable (one-line message)."""


def ws_base(url: str, option: str) -> str:
    """`ws://host:port` (wss:// for https and wss) for an http, https, ws or wss URL, with its
    path but no trailing slash: the one form every later URL of the target starts with."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"{option} {url!r}: {exc}") from None
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise TargetError(
            f"{option} {url!r}: expected http://, https://, ws:// or wss:// and a host name")
    if parts.username is not None or parts.query or parts.fragment:
        raise TargetError(f"{option} {url!r}: no user name, query or fragment, please")
    hostname = url_host(parts.hostname)
    return f"{scheme}://{hostname}:{port or DEFAULT_PORTS[scheme]}{parts.path.rstrip('/')}"


def url_host(hostname: str) -> str:
    """hostname as a URL writes it: an IPv6 address in brackets."""
    return f"[{hostname}]" if ":" in hostname else hostname


def check_answers(base: str, option: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Raise TargetError unless something accepts TCP connections at base (a ws_base)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name the idna codec refuses
        reason = ((exc.strerror if isinstance(exc, OSError) else "not a valid host name")
                  or str(exc) or type(exc).__name__)
        raise TargetError(f"{option}: {host}:{port} does not answer ({reason})") from None


def is_loopback(hostname: str) -> bool:
    """localhost, a name under .localhost, or a loopback address (127.0.0.0/8, ::1)."""
    if hostname == LOOPBACK_NAME or hostname.endswith(f".{LOOPBACK_NAME}"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
