"""Which browser origins may use cookie credentials (against cross-site WebSocket hijacking)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from wsharness.target import is_loopback

ALLOWED_ORIGINS_ENV = "WSHARNESS_ALLOWED_ORIGINS"


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
        return same_origin or is_loopback(parts.hostname)
