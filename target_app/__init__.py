"""The reference FastAPI WebSocket app: `target_app:app` (hardened), `target_app.docs:app`."""

from target_app.hardened import app

__all__ = ["app"]
