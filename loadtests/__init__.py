"""Locust users that speak WebSocket: `locust -f loadtests`, or in a locustfile of your own:

    from loadtests import EchoUser, WebSocketUser
"""

from loadtests.auth_user import AuthUser
from loadtests.chat_user import ChatUser
from loadtests.echo_user import EchoUser
from loadtests.ws_user import WebSocketUser, WsFailure

__all__ = ["AuthUser", "ChatUser", "EchoUser", "WebSocketUser", "WsFailure"]
