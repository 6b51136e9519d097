"""Locust users that speak WebSocket: `locust -f loadtests`."""
