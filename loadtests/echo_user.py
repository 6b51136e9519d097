"""EchoUser: round trips on /ws, each reply checked (`Message text was: m`)."""

from __future__ import annotations

from locust import task

from loadtests._wsclient import Connection
from loadtests.ws_user import WebSocketUser, WsFailure

PATH = "/ws"
ROUND_TRIPS_PER_TASK = 100  # fewer task iterations: Locust's own cost per iteration stays off


class EchoUser(WebSocketUser):
    """Sends --message-size text messages on one connection and checks every echo."""

    connection: Connection | None = None
    sequence = 0

    @task
    def echo(self) -> None:
        connection = self.connection or self.connect(PATH)
        self.connection = connection
        size = self.settings.message_size
        try:
            for _ in range(ROUND_TRIPS_PER_TASK):
                self.sequence += 1
                text = str(self.sequence).rjust(size, "x")  # unique, --message-size or longer
                self.request(connection, text, name=PATH, expect="Message text was: " + text)
                self.pace()
        except WsFailure:
            self.connection = None
            self.close(connection)
            raise
