"""What the suite checks: a uvicorn it starts for an ASGI app, or a server already running."""

from __future__ import annotations

import importlib
import os
import socket
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

URL_SCHEMES = {"http": "ws", "ws": "ws", "https": "wss", "wss": "wss"}
REACH_TIMEOUT_S = 5.0


class TargetError(Exception):
    """A target option that cannot work (one-line message)."""


@dataclass(frozen=True)
class WireTarget:
    """A WebSocket server on the wire; label says which (a uvicorn ws implementation, or url)."""

    base: str
    label: str

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def parse_url(url: str) -> str:
    """The ws:// base of a --url (http://host:port or ws://host:port, optionally a path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"--url {url!r}: {exc}") from None
    if parts.scheme not in URL_SCHEMES or not parts.hostname:
        raise TargetError(f"--url {url!r}: expected http://host:port or ws://host:port")
    if parts.query or parts.fragment:
        raise TargetError(f"--url {url!r}: no query or fragment, please")
    scheme = URL_SCHEMES[parts.scheme]
    netloc = parts.netloc if port else f"{parts.netloc}:{443 if scheme == 'wss' else 80}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def check_reachable(base: str) -> None:
    parts = urlsplit(base)
    host, port = parts.hostname or "", parts.port or 80
    try:
        socket.create_connection((host, port), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise TargetError(f"--url: nothing answers at {host}:{port} ({exc})") from None


def load_app(spec: str) -> object:
    """Import MODULE:ATTR from the current directory or PYTHONPATH."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise TargetError(f"--app {spec!r}: expected MODULE:ATTR, e.g. target_app:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise TargetError(f"--app {spec!r}: cannot import {module_name}: {exc!r}") from None
    app = getattr(module, attr, None)
    if app is None or not callable(app):
        raise TargetError(f"--app {spec!r}: {module_name} has no ASGI app named {attr!r}")
    return app
