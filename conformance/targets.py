"""What the suite checks: a server it starts for an ASGI app (uvicorn, or another: --server), or
a server already running."""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, replace

import pytest

from wsharness import servers
from wsharness.target import TargetError

APP_INI = "wsharness_app"
NO_TARGET = ("no target to check: pass --app MODULE:ATTR (an ASGI app to serve) or --url URL "
             f"(a running server), or set {APP_INI} in the pytest configuration")


@dataclass(frozen=True)
class WireTarget:
    """A WebSocket server on the wire at base (ws://host:port): the server the suite serves
    --app with and, for uvicorn, its WebSocket implementation; server None under --url."""

    base: str
    server: str | None = None
    ws: str | None = None

    @property
    def label(self) -> str:
        """Which: `uvicorn-wsproto`, `hypercorn`, or `url`."""
        return "url" if self.server is None else servers.label(self.server, self.ws)

    def at(self, base: str) -> WireTarget:
        """The same server, on the wire at base."""
        return replace(self, base=base)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


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


def app_option(config: pytest.Config) -> str:
    """--app, else the configured default; neither is a usage error."""
    app: str | None = config.getoption("--app") or config.getini(APP_INI) or None
    if app is None:
        raise pytest.UsageError(NO_TARGET)
    return app
