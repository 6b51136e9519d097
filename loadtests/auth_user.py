"""AuthUser: /items/{item_id}/ws with token, cookie and q; a share of connections come
without credentials and must be refused."""

from __future__ import annotations

import random

from locust import task

from loadtests.ws_user import WebSocketUser

NAME = "/items/{item_id}/ws"
REFUSED_NAME = "/items/{item_id}/ws (no credentials)"
MESSAGES_PER_CONNECTION = 10


class AuthUser(WebSocketUser):
    """Connects with credentials (token always, the session cookie every other time, q),
    sends a few messages and checks the three replies of each, then reconnects."""

    connections_made = 0

    @task
    def session(self) -> None:
        item_id = random.randint(1, 10_000)
        path = f"/items/{item_id}/ws"
        if random.random() < self.settings.bad_credentials:
            self.connect_refused(path, name=REFUSED_NAME)
            self.pace()
            return
        self.connections_made += 1
        token = f"token-{self.connections_made}"
        cookie = f"session-{self.connections_made}" if self.connections_made % 2 else None
        q = self.connections_made
        connection = self.connect(path, query={"token": token, "q": q},
                                  cookies={"session": cookie} if cookie else None, name=NAME)
        filler = "a" * self.settings.message_size
        try:
            for number in range(MESSAGES_PER_CONNECTION):
                text = f"{number} {filler}"[: self.settings.message_size]
                self.request(connection, text, name=NAME, expect=(
                    f"Session cookie or query token value is: {cookie or token}",
                    f"Query parameter q is: {q}",
                    f"Message text was: {text}, for item ID: {item_id}"))
                self.pace()
        finally:
            self.close(connection)
