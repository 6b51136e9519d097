"""Locust users that speak WebSocket: `locust -f loadtests`, or in a locustfile of your own:

    from loadtests import EchoUser, WebSocketUser

The users are imported on first use, so importing a helper module (the client, the target)
does not import Locust, which patches the standard library for gevent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadtests.auth_user import AuthUser
    from loadtests.chat_user import ChatUser
    from loadtests.echo_user import EchoUser
    from loadtests.ws_user import WebSocketUser, WsFailure

__all__ = ["AuthUser", "ChatUser", "EchoUser", "WebSocketUser", "WsFailure"]  # static: linters
HOMES = {"AuthUser": "auth_user", "ChatUser": "chat_user", "EchoUser": "echo_user",
         "WebSocketUser": "ws_user", "WsFailure": "ws_user"}


def __getattr__(name: str) -> Any:
    if name not in HOMES:
        raise AttributeError(f"module 'loadtests' has no attribute {name!r}")
    return getattr(importlib.import_module(f"loadtests.{HOMES[name]}"), name)
