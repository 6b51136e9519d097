"""Which browser origins may use cookie credentials (against cross-site WebSocket hijacking)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_ORIGINS_ENV = "WSHARNESS_ALLOWED_ORIGINS"
LOOPBACK_NAMES = frozenset({"localhost"})


def _is_loopback(hostname: str) -> bool:
    if hostname in LOOPBACK_NAMES or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OriginPolicy:
    """Same-origin and loopback pages are allowed, plus the origins listed."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls) -> OriginPolicy:
        listed = os.environ.get(ALLOWED_ORIGINS_ENV, "")
        return cls(frozenset(o.strip().rstrip("/").lower() for o in listed.split(",") if o.strip()))

    def allows(self, origin: str | None, host: str | None) -> bool:
        """Whether a handshake with this Origin header may rely on the session cookie."""
        if origin is None:
            return True
        origin = origin.strip().rstrip("/").lower()
        if origin in self.allowed:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        same_origin = host is not None and parts.netloc == host.strip().lower()
        return same_origin or _is_loopback(parts.hostname)
