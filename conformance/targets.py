"""What the suite checks: a server it starts for an ASGI app (uvicorn, or another: --server), or
a server already running."""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass

import pytest

from wsharness.target import TargetError

APP_INI = "wsharness_app"
NO_TARGET = ("no target to check: pass --app MODULE:ATTR (an ASGI app to serve) or --url URL "
             f"(a running server), or set {APP_INI} in the pytest configuration")


@dataclass(frozen=True)
class WireTarget:
    """A WebSocket server on the wire; label says which (`uvicorn-wsproto`, `hypercorn`, or
    `url`); server and ws are None under --url."""

    base: str
    label: str
    server: str | None = None
    ws: str | None = None

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
