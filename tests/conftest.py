"""Fixtures shared by the tests of every package."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser import headless_chromium
from tests.redis_server import RedisServer, redis_server
from wsharness.timeouts import timeout_scale

timeout_scale()  # a bad WSHARNESS_TIMEOUT_SCALE ends the run here, in one line


@pytest.fixture(scope="session")
def chromium() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as driver:
        yield driver


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port that something listens on during the test."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


@pytest.fixture
def redis_at(tmp_path: Path) -> Iterator[RedisServer]:
    """A real Redis on a free loopback port for the test, stopped after it."""
    with redis_server(tmp_path) as server:
        yield server
