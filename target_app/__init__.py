"""The reference FastAPI WebSocket app: `target_app:app` (hardened), `target_app.docs:app`.

`app` is imported on first use, so `python -m target_app` sets up the environment the app
reads at import (its Redis broadcast) before the app exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_app.hardened import app

__all__ = ["app"]


def __getattr__(name: str) -> object:
    if name == "app":
        from target_app.hardened import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
