"""Locust users that speak WebSocket (issue 4): `locust -f loadtests`."""
